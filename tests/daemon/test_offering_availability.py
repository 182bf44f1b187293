"""Honest choices: `/v1/offerings` says what can train here, by the preflight's own check."""

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import BUNDLED_OFFERINGS, Settings
from tests.conftest import job_body, make_account, make_dataset, user_headers

ALICE = "telegram:100"


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path) -> Settings:
    """An install with SD-1.5 in place, SDXL and FLUX.1-dev missing, and FLUX.1 switched off."""
    sd15 = tmp_path / "sd15"
    sd15.mkdir()
    (sd15 / "model_index.json").write_text("{}", "utf-8")
    text = BUNDLED_OFFERINGS.read_text("utf-8")
    text = text.replace('"./var/base-models/sd15"', f'"{sd15}"')
    text = text.replace("[offerings.flux-lora]\n", "[offerings.flux-lora]\nenabled = false\n")
    offerings = tmp_path / "offerings.toml"
    offerings.write_text(text, "utf-8")
    return make_settings(offerings_file=offerings)  # type: ignore[no-any-return]


async def _offerings(client: TestClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/v1/offerings", headers=user_headers(ALICE))
    assert response.status == 200
    return {o["id"]: o for o in (await response.json())["offerings"]}


async def test_each_offering_says_whether_and_why_not(client: TestClient) -> None:
    offerings = await _offerings(client)
    available = {o: v["available"] for o, v in offerings.items()}
    assert available == {
        "tiny-lora": True,  # builtin: built on first use
        "sd15-lora": True,
        "sdxl-lora": False,
        "flux-lora": False,
        "tiny-flux-lora": True,
    }
    assert offerings["tiny-lora"]["unavailable_reason"] is None
    assert offerings["sdxl-lora"]["unavailable_reason"]["code"] == "BASE_MODEL_MISSING"
    assert offerings["sdxl-lora"]["base_model_available"] is False
    disabled = offerings["flux-lora"]
    assert disabled["unavailable_reason"]["code"] == "OFFERING_DISABLED"
    assert disabled["enabled"] is False


async def test_estimates_and_jobs_refuse_what_is_listed_unavailable(
    client: TestClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        account = await make_account(session, platform_user_id="100", balance=10_000)
        dataset_id = (await make_dataset(session, account.id, images=12)).id
    offerings = await _offerings(client)
    headers = user_headers(ALICE)
    for offering_id, offering in offerings.items():
        body = {"dataset_id": dataset_id, "offering_id": offering_id, "preset": "fast"}
        estimate = await (await client.post("/v1/estimate", json=body, headers=headers)).json()
        reason = offering["unavailable_reason"]
        # The same check: an available one estimates fine, an unavailable one gets its reason.
        assert estimate["errors"] == ([] if reason is None else [reason]), offering_id
        if reason is None:
            continue
        submit = job_body(dataset_id, f"k-{offering_id}", offering_id=offering_id)
        refused = await client.post("/v1/jobs", json=submit, headers=headers)
        assert refused.status == 422
        assert (await refused.json())["error"]["details"]["errors"] == [reason]
    jobs = await (await client.get("/v1/jobs", headers=headers)).json()
    assert jobs["jobs"] == []
    me = await (await client.get("/v1/me", headers=headers)).json()
    assert me["balance"] == 10_000
