"""The caption routes' money and access rules over real HTTP, with the queue off (jobs stay
queued): what is priced, what is refused and that a refusal changes nothing."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from core.settings import Settings
from tests.captioning.conftest import call, caption_body, captioning_dataset, images_of, serve
from tests.conftest import ADMIN_HEADERS, REPO
from tests.imagefactory import png_bytes


async def state_of(client: TestClient, user: str, dataset_id: int) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    me = await call(client, "GET", "/v1/me", user)
    ledger = await call(client, "GET", "/v1/ledger", user)
    jobs = await call(client, "GET", "/v1/jobs", user)
    images = await images_of(client, user, dataset_id)
    return me["balance"], ledger["entries"], jobs["jobs"], images


def codes(answer: dict[str, Any]) -> list[str]:
    return [issue["code"] for issue in answer["errors"]]


async def test_not_enough_points_is_402_and_changes_nothing(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    database_url: str | None,
) -> None:
    user = "telegram:701"
    client = await serve(aiohttp_client, make_settings, database_url=database_url)
    dataset_id = await captioning_dataset(client, user, balance=3, images=5, captioned=1)
    path = f"/v1/datasets/{dataset_id}/captions"
    estimate = await call(client, "POST", f"{path}/estimate", user, json={})
    assert estimate["ok"] and estimate["cost"] == 4
    before = await state_of(client, user, dataset_id)
    refused = await call(
        client, "POST", path, user, status=402, json=caption_body(quote_id=estimate["quote"]["id"])
    )
    assert refused["error"]["code"] == "INSUFFICIENT_POINTS"
    assert refused["error"]["details"]["shortfall"] == 1
    assert await state_of(client, user, dataset_id) == before
    # The same key works once the points are there, and only once.
    grant = {"amount": 1, "reason": "top up", "idempotency_key": "top-up"}
    account = (await call(client, "GET", "/v1/me", user))["id"]
    response = await client.post(
        f"/admin/accounts/{account}/grant", json=grant, headers=ADMIN_HEADERS
    )
    assert response.status in (200, 201), await response.text()
    job = await call(client, "POST", path, user, status=201, json=caption_body())
    again = await call(client, "POST", path, user, status=200, json=caption_body())
    assert again["id"] == job["id"] and job["status"] == "queued"
    assert (job["kind"], job["cost"], job["progress"]["total_steps"]) == ("caption", 4, 4)
    me = await call(client, "GET", "/v1/me", user)
    assert me["balance"] == 0


async def test_anothers_dataset_looks_missing_published_or_not(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    owner, other = "telegram:702", "discord:703"
    client = await serve(aiohttp_client, make_settings)
    private = await captioning_dataset(client, owner, images=4)
    public = await captioning_dataset(client, owner, images=4)
    publish = {"visibility": "public", "licence": "CC-BY-4.0"}
    await call(client, "PATCH", f"/v1/datasets/{public}", owner, json=publish)
    await captioning_dataset(client, other, balance=100, images=1)
    for dataset_id in (private, public, 999_999):
        path = f"/v1/datasets/{dataset_id}/captions"
        estimate = await call(client, "POST", f"{path}/estimate", other, json={})
        assert codes(estimate) == ["DATASET_NOT_FOUND"] and estimate["quote"] is None
        refused = await call(client, "POST", path, other, status=404, json=caption_body())
        assert refused["error"]["code"] == "NOT_FOUND"
    jobs = await call(client, "GET", "/v1/jobs", other)
    assert jobs["jobs"] == []
    assert (await call(client, "GET", "/v1/me", other))["balance"] == 100
    assert not any(i["caption"] for i in await images_of(client, owner, public))


async def test_refusals_name_their_reason_and_a_stale_quote_shows_the_new_price(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    user = "telegram:704"
    client = await serve(aiohttp_client, make_settings)
    dataset_id = await captioning_dataset(client, user, images=2, captioned=2, trigger_word=None)
    path = f"/v1/datasets/{dataset_id}/captions"

    nothing = await call(client, "POST", f"{path}/estimate", user, json={})
    assert codes(nothing) == ["NO_IMAGES_TO_CAPTION"] and nothing["image_count"] == 0
    refused = await call(client, "POST", path, user, status=422, json=caption_body())
    assert refused["error"]["details"]["errors"][0]["code"] == "NO_IMAGES_TO_CAPTION"

    every = await call(client, "POST", f"{path}/estimate", user, json={"images": "all"})
    assert every["ok"] and every["image_count"] == 2 and every["cost"] == 2
    warned = {issue["code"] for issue in every["warnings"]}
    assert warned == {"CAPTIONS_KEPT", "NO_TRIGGER_WORD"}

    for bad in ({"style": "haiku"}, {"overwrite": "yes"}, {"images": "some"}):
        await call(client, "POST", path, user, status=400, json=caption_body(**bad))

    # An image added after the estimate changes the price: the quote is refused with a new one.
    quoted = every["quote"]["id"]
    form = FormData()
    form.add_field("image", png_bytes(seed=99), filename="new.png", content_type="image/png")
    await call(client, "POST", f"/v1/datasets/{dataset_id}/images", user, data=form)
    body = caption_body(images="all", quote_id=quoted)
    stale = await call(client, "POST", path, user, status=409, json=body)
    assert stale["error"]["code"] == "QUOTE_CHANGED"
    fresh = stale["error"]["details"]["quote"]
    assert fresh["cost"] == 3
    body["quote_id"] = fresh["id"]
    job = await call(client, "POST", path, user, status=201, json=body)
    assert job["cost"] == 3
    other = caption_body(images="all", style="tags")
    conflict = await call(client, "POST", path, user, status=409, json=other)
    assert conflict["error"]["code"] == "IDEMPOTENCY_CONFLICT"

    await call(client, "PATCH", "/v1/me", user, json={"daily_spending_cap": 4})
    capped = await call(client, "POST", f"{path}/estimate", user, json={"images": "all"})
    assert codes(capped) == ["DAILY_CAP_REACHED"]


async def test_a_captioner_that_is_not_installed_is_refused(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    user = "telegram:705"
    offerings = tmp_path / "offerings.toml"
    text = (REPO / "core" / "offerings.toml").read_text(encoding="utf-8")
    missing = tmp_path / "no-such-blip"
    offerings.write_text(text.replace('"builtin:tiny-blip"', f'"{missing}"'), encoding="utf-8")
    client = await serve(aiohttp_client, make_settings, offerings_file=offerings)
    shown = (await call(client, "GET", "/v1/offerings", user))["captioner"]
    assert shown["enabled"] and not shown["available"]
    dataset_id = await captioning_dataset(client, user, images=2)
    path = f"/v1/datasets/{dataset_id}/captions"
    estimate = await call(client, "POST", f"{path}/estimate", user, json={})
    assert codes(estimate) == ["CAPTIONER_UNAVAILABLE"] and estimate["cost"] == 2
    before = await state_of(client, user, dataset_id)
    refused = await call(client, "POST", path, user, status=422, json=caption_body())
    assert refused["error"]["code"] == "PREFLIGHT_REFUSED"
    assert await state_of(client, user, dataset_id) == before
