"""Caption jobs end to end: real HTTP, real caption worker processes, the tiny BLIP captioner."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.captioning.styles import STOPWORDS
from core.captioning.vocab import WORDS
from core.settings import Settings
from daemon.keys import EXECUTOR
from daemon.schemas import CaptionResultOut
from tests.captioning.conftest import (
    CAPTIONED,
    call,
    caption_body,
    captioning_dataset,
    finished,
    images_of,
    serve,
)
from tests.conftest import REPO, RPC_HEADERS
from tests.queue.conftest import kill9, wait_for

pytestmark = pytest.mark.slow

KNOWN = set(WORDS)


def assert_words(text: str) -> None:
    words = text.replace(",", " ").split()
    assert words and set(words) <= KNOWN, text


async def ledger(client: TestClient, user: str) -> tuple[int, list[dict[str, Any]]]:
    me = await call(client, "GET", "/v1/me", user)
    entries = (await call(client, "GET", "/v1/ledger", user))["entries"]
    assert me["balance"] == sum(entry["delta"] for entry in entries)
    return me["balance"], entries


async def notifications_of(client: TestClient, job_id: int) -> dict[str, dict[str, Any]]:
    polled = await client.get("/v1/notifications?platform=telegram&wait=5", headers=RPC_HEADERS)
    return {
        n["kind"]: n
        for n in (await polled.json())["notifications"]
        if n["payload"]["job_id"] == job_id
    }


async def test_uncaptioned_images_get_captions_charged_once_for_a_repeated_key(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_captioner: Path
) -> None:
    user = "telegram:601"
    client = await serve(aiohttp_client, make_settings, shared_captioner, run_queue=True)
    dataset_id = await captioning_dataset(client, user, balance=50, images=4, captioned=1)
    before = await images_of(client, user, dataset_id)

    offerings = await call(client, "GET", "/v1/offerings", user)
    assert offerings["captioner"] == {
        "title": "BLIP captions",
        "points_per_image": 1.0,
        "enabled": True,
        "available": True,
    }
    path = f"/v1/datasets/{dataset_id}/captions"
    estimate = await call(client, "POST", f"{path}/estimate", user, json={})
    assert (estimate["ok"], estimate["image_count"], estimate["cost"]) == (True, 3, 3)
    body = caption_body(quote_id=estimate["quote"]["id"], reply_to={"chat": 7})
    job = await call(client, "POST", path, user, status=201, json=body)
    again = await call(client, "POST", path, user, status=200, json=body)
    assert again["id"] == job["id"] and (job["kind"], job["cost"]) == ("caption", 3)

    done = await finished(client, user, job["id"])
    assert done["status"] == "completed", done
    assert done["progress"]["step"] == done["progress"]["total_steps"] == 3
    result = done["result"]
    # The shape the bots read it with.
    assert CaptionResultOut.model_validate(result).model_dump() == result
    assert (result["written"], result["kept"], result["missing"]) == (3, 0, 0)
    uncaptioned = [image["id"] for image in before if not image["caption"]]
    assert [line["image_id"] for line in result["captions"]] == uncaptioned
    after = {image["id"]: image["caption"] for image in await images_of(client, user, dataset_id)}
    for line in result["captions"]:
        assert line["written"] and after[line["image_id"]] == line["caption"]
        trigger, sentence = line["caption"].split(", ", 1)
        assert trigger == "zqx"
        assert_words(sentence)
    assert after[before[0]["id"]] == CAPTIONED

    ready = (await notifications_of(client, job["id"]))["captions_ready"]
    assert ready["payload"] == {
        "job_id": job["id"],
        "job_kind": "caption",
        "offering_id": "captioner",
        "reply_to": {"chat": 7},
        "dataset_id": dataset_id,
        "written": 3,
        "kept": 0,
        "missing": 0,
    }
    balance, entries = await ledger(client, user)
    assert sorted(e["kind"] for e in entries) == ["caption_debit", "grant"]
    assert balance == 50 - 3


async def test_tags_put_the_trigger_word_first_and_overwrite_replaces_every_caption(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_captioner: Path
) -> None:
    user = "discord:602"
    client = await serve(aiohttp_client, make_settings, shared_captioner, run_queue=True)
    dataset_id = await captioning_dataset(client, user, images=3, captioned=2)
    body = caption_body(images="all", style="tags", overwrite=True)
    path = f"/v1/datasets/{dataset_id}/captions"
    job = await call(client, "POST", path, user, status=201, json=body)
    done = await finished(client, user, job["id"])
    assert done["status"] == "completed", done
    assert (done["result"]["written"], done["result"]["kept"]) == (3, 0)
    for image in await images_of(client, user, dataset_id):
        tags = image["caption"].split(", ")
        assert tags[0] == "zqx" and len(tags) >= 2, image["caption"]
        assert all(" " not in tag and tag not in STOPWORDS for tag in tags), tags
        assert len(set(tags)) == len(tags)
        assert_words(" ".join(tags[1:]))


async def test_a_caption_edited_while_the_job_waited_is_kept(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_captioner: Path
) -> None:
    user = "telegram:603"
    # One daemon serves the RPC only; the job waits in the queue while the person edits.
    rpc_only = await serve(aiohttp_client, make_settings, shared_captioner)
    dataset_id = await captioning_dataset(rpc_only, user, images=4)
    path = f"/v1/datasets/{dataset_id}/captions"
    job = await call(rpc_only, "POST", path, user, status=201, json=caption_body())
    first = (await images_of(rpc_only, user, dataset_id))[0]
    image_path = f"/v1/datasets/{dataset_id}/images/{first['id']}"
    await call(rpc_only, "PATCH", image_path, user, json={"caption": "edited by hand"})

    runner = await serve(aiohttp_client, make_settings, shared_captioner, run_queue=True)
    done = await finished(runner, user, job["id"])
    assert done["status"] == "completed", done
    result = done["result"]
    assert (result["written"], result["kept"], result["missing"]) == (3, 1, 0)
    kept = next(line for line in result["captions"] if line["image_id"] == first["id"])
    assert not kept["written"] and kept["caption"] != "edited by hand"
    captions = {i["id"]: i["caption"] for i in await images_of(runner, user, dataset_id)}
    assert captions[first["id"]] == "edited by hand"
    assert all(captions.values())


def worker_pid(client: TestClient, job_id: int) -> int | None:
    executor = client.app[EXECUTOR]
    for attempt in executor.running():
        if attempt.job_id == job_id:
            return executor.pid(attempt)  # type: ignore[attr-defined, no-any-return]
    return None


async def test_a_killed_caption_worker_is_retried_and_the_job_charged_once(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_captioner: Path
) -> None:
    user = "telegram:604"
    client = await serve(
        aiohttp_client, make_settings, shared_captioner, run_queue=True, lease_seconds=15.0
    )
    dataset_id = await captioning_dataset(client, user, balance=20, images=4)
    path = f"/v1/datasets/{dataset_id}/captions"
    job = await call(client, "POST", path, user, status=201, json=caption_body())

    async def working() -> int | None:
        view = await call(client, "GET", f"/v1/jobs/{job['id']}", user)
        return worker_pid(client, job["id"]) if view["status"] == "preparing" else None

    kill9(await wait_for(working, timeout=60, every=0.05, what="a caption worker at work"))
    done = await finished(client, user, job["id"])
    assert done["status"] == "completed", done
    assert done["attempts"] == 2 and done["result"]["written"] == 4
    assert all(image["caption"] for image in await images_of(client, user, dataset_id))
    balance, entries = await ledger(client, user)
    assert sorted(e["kind"] for e in entries) == ["caption_debit", "grant"]
    assert balance == 20 - 4


def broken_captioner(tmp_path: Path) -> Path:
    """An offerings file whose captioner is a folder that looks like BLIP but cannot load."""
    folder = tmp_path / "broken-blip"
    folder.mkdir()
    for name in ("config.json", "processor_config.json", "model.safetensors"):
        (folder / name).write_text("{not json", encoding="utf-8")
    offerings = tmp_path / "offerings.toml"
    shutil.copy(REPO / "core" / "offerings.toml", offerings)
    text = offerings.read_text(encoding="utf-8")
    offerings.write_text(text.replace('"builtin:tiny-blip"', f'"{folder}"'), encoding="utf-8")
    return offerings


async def test_a_caption_job_that_always_fails_is_refunded_exactly_once(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_captioner: Path,
    tmp_path: Path,
) -> None:
    user = "telegram:605"
    client = await serve(
        aiohttp_client,
        make_settings,
        shared_captioner,
        run_queue=True,
        max_attempts=2,
        offerings_file=broken_captioner(tmp_path),
    )
    dataset_id = await captioning_dataset(client, user, balance=20, images=3)
    path = f"/v1/datasets/{dataset_id}/captions"
    job = await call(client, "POST", path, user, status=201, json=caption_body())
    done = await finished(client, user, job["id"])
    assert done["status"] == "failed" and done["attempts"] == 2, done
    assert "not a valid JSON file" in done["error"], done["error"]
    assert done["refunded"] == job["cost"] == 3
    assert not any(image["caption"] for image in await images_of(client, user, dataset_id))
    failed = (await notifications_of(client, job["id"]))["job_failed"]
    assert failed["payload"]["refunded"] == 3
    balance, entries = await ledger(client, user)
    assert sorted(e["kind"] for e in entries) == ["caption_debit", "grant", "refund"]
    assert balance == 20
