"""Generations end to end: real HTTP, real warm worker processes, a trained tiny LoRA.

Warm reuse (same process, one pipeline load), the LoRA's effect by strength and seed, the
strength sheet, the royalty of another's model; a worker killed mid-job, a cancel, eviction
by a training; a generation that always fails, refunded and its royalty reversed once.
"""

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from core.enums import Visibility
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, EXECUTOR, SESSIONMAKER
from tests.conftest import RPC_HEADERS, make_dataset, user_headers
from tests.daemon.economy import write_economy
from tests.generation.conftest import (
    account_of,
    call,
    finished,
    generation_body,
    ledger,
    model_of,
)
from tests.queue.conftest import kill9, link_base_models, pid_alive, wait_for

pytestmark = pytest.mark.slow

ALICE, BOB = "telegram:7301", "discord:7402"


@pytest.fixture
async def client(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TestClient:
    # One thread per worker: the tiny model is faster so on a small shared CPU.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    settings = make_settings(
        run_queue=True,
        lease_seconds=15.0,
        generation_idle_seconds=120.0,
        rate_limit_per_minute=0,  # the tests poll progress closely
        economy_file=write_economy(tmp_path),  # royalty_share 0.5
    )
    link_base_models(settings.data_dir, shared_base_models)
    return await aiohttp_client(create_app(settings))


async def generate(client: TestClient, user: str, body: dict[str, Any]) -> dict[str, Any]:
    created = await call(client, "POST", "/v1/generations", user, status=201, json=body)
    done = await finished(client, user, created["id"], timeout=180)
    assert done["status"] == "completed", done
    return done


async def picture(client: TestClient, user: str, url: str) -> np.ndarray:
    response = await client.get(url, headers=user_headers(user))
    assert (response.status, response.content_type) == (200, "image/png")
    return np.asarray(Image.open(io.BytesIO(await response.read())).convert("RGB"), np.int16)


async def stats_of(client: TestClient, user: str, job_id: int) -> dict[str, Any]:
    return dict((await call(client, "GET", f"/v1/jobs/{job_id}", user))["result"]["stats"])


async def test_warm_generations_with_anothers_model_by_strength_seed_and_sheet(
    client: TestClient, trained_loras: dict[str, Path]
) -> None:
    model = await model_of(
        client, ALICE, trained_loras["unet"], visibility=Visibility.public, price_per_use=10
    )
    await account_of(client, BOB, grant=500)
    strong = await generate(client, BOB, generation_body(model, "g1", count=2, seed=7))
    plain = await generate(client, BOB, generation_body(model, "g2", seed=7, strength=0.0))
    sheet_body = generation_body(model, "g3", seed=7, strengths=[0.0, 0.5, 1.0])
    sheet = await generate(client, BOB, sheet_body)

    stats = [await stats_of(client, BOB, g["id"]) for g in (strong, plain, sheet)]
    assert len({s["pid"] for s in stats}) == 1  # one process served all three
    assert [(s["pipeline_loads"], s["jobs_in_process"], s["warm"]) for s in stats] == [
        (1, 1, False), (1, 2, True), (1, 3, True),
    ]  # fmt: skip

    assert [(i["name"], i["seed"], i["strength"]) for i in strong["images"]] == [
        ("image-0.png", 7, 1.0), ("image-1.png", 8, 1.0),
    ]  # fmt: skip
    with_lora, next_seed = [await picture(client, BOB, i["url"]) for i in strong["images"]]
    without = await picture(client, BOB, plain["images"][0]["url"])
    assert np.abs(with_lora - without).max() > 0  # the LoRA changes what seed 7 draws
    assert np.abs(with_lora - next_seed).max() > 0
    tiles = [await picture(client, BOB, i["url"]) for i in sheet["images"]]
    np.testing.assert_array_equal(tiles[0], without)  # same seed, same weight, same image
    np.testing.assert_array_equal(tiles[2], with_lora)
    assert all(np.abs(a - b).max() > 0 for a, b in zip(tiles, tiles[1:], strict=False))
    assert [i["strength"] for i in sheet["images"]] == [0.0, 0.5, 1.0]
    whole = await picture(client, BOB, sheet["sheet"]["url"])
    width = sheet["images"][0]["width"]
    assert width == sheet["resolution"] == 64
    assert (sheet["sheet"]["width"], whole.shape[1]) == (3 * width, 3 * width)
    for column, tile in enumerate(tiles):
        np.testing.assert_array_equal(whole[:64, column * 64 : (column + 1) * 64], tile)

    costs = [g["cost"] for g in (strong, plain, sheet)]
    assert costs == [4 + 10, 2 + 10, 6 + 10]  # compute + the price per use
    bob, bob_entries = await ledger(client, BOB)
    alice, alice_entries = await ledger(client, ALICE)
    assert bob == 500 - sum(costs) and alice == 3 * 5
    assert sorted(e["kind"] for e in bob_entries) == ["generation_debit"] * 3 + ["grant"]
    assert [e["kind"] for e in alice_entries] == ["royalty"] * 3
    await call(client, "GET", strong["images"][0]["url"], ALICE, status=404)

    polled = await client.get("/v1/notifications?platform=discord&wait=5", headers=RPC_HEADERS)
    ready = [
        n["payload"] for n in (await polled.json())["notifications"]
        if n["kind"] == "generation_ready"
    ]  # fmt: skip
    assert [(p["generation_id"], p["images"], p["sheet"], p["seed"]) for p in ready] == [
        (strong["id"], ["image-0.png", "image-1.png"], None, 7),
        (plain["id"], ["image-0.png"], None, 7),
        (sheet["id"], ["image-0.png", "image-1.png", "image-2.png"], "sheet.png", 7),
    ]
    assert {(p["job_kind"], p["model_id"]) for p in ready} == {("generate", model)}


def warm_pid(client: TestClient, job_id: int) -> int | None:
    executor = client.app[EXECUTOR]
    for attempt in executor.running():
        if attempt.job_id == job_id:
            return executor.pid(attempt)  # type: ignore[attr-defined, no-any-return]
    return None


async def working(client: TestClient, user: str, job_id: int, steps: int) -> int:
    """The pid of the worker once the generation has done `steps` denoising steps."""

    async def at_step() -> int | None:
        view = await call(client, "GET", f"/v1/generations/{job_id}", user)
        return warm_pid(client, job_id) if view["progress"]["step"] >= steps else None

    return int(await wait_for(at_step, timeout=120, every=0.1, what=f"{steps} steps"))


async def test_a_killed_worker_is_retried_a_cancel_refunds_and_a_training_evicts(
    client: TestClient, trained_loras: dict[str, Path]
) -> None:
    model = await model_of(client, BOB, trained_loras["unet"])
    await account_of(client, BOB, grant=500)
    long = {"count": 2, "steps": 50}  # 100 denoising steps: time to act mid-job
    created = await call(
        client, "POST", "/v1/generations", BOB, status=201,
        json=generation_body(model, "k1", seed=3, **long),
    )  # fmt: skip
    kill9(await working(client, BOB, created["id"], 5))
    done = await finished(client, BOB, created["id"], timeout=180)
    job = await call(client, "GET", f"/v1/jobs/{created['id']}", BOB)
    assert (done["status"], job["attempts"], done["progress"]["step"]) == ("completed", 2, 100)
    _, entries = await ledger(client, BOB)
    assert sorted(e["kind"] for e in entries) == ["generation_debit", "grant"]  # charged once
    survivor = (await stats_of(client, BOB, created["id"]))["pid"]

    second = await call(
        client, "POST", "/v1/generations", BOB, status=201,
        json=generation_body(model, "k2", seed=4, **long),
    )  # fmt: skip
    assert await working(client, BOB, second["id"], 3) == survivor  # the warm process
    cancelled = await call(client, "POST", f"/v1/jobs/{second['id']}/cancel", BOB)
    step = cancelled["progress"]["step"]
    assert cancelled["refunded_now"] == cancelled["cost"] * (100 - step) // 100 > 0

    async def idle_again() -> bool:
        return not client.app[EXECUTOR].running()

    await wait_for(idle_again, timeout=30, what="the cancelled attempt to end")
    assert pid_alive(survivor)  # it answered the cancel and stays warm

    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(
            session, await account_of(client, BOB), images=4, blobs=client.app[BLOBS]
        )
    training = {
        "dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": 2}, "idempotency_key": "t1",
    }  # fmt: skip
    trained = await call(client, "POST", "/v1/jobs", BOB, status=201, json=training)

    async def evicted() -> bool:
        return not pid_alive(survivor)

    await wait_for(evicted, timeout=30, what="the idle warm worker to give up its slot")
    view = await finished(client, BOB, trained["id"], timeout=180, route="jobs")
    assert view["status"] == "completed" and view["model_id"]


async def test_a_generation_that_always_fails_refunds_and_reverses_the_royalty_once(
    client: TestClient, tmp_path: Path
) -> None:
    broken = tmp_path / "pytorch_lora_weights.safetensors"
    broken.write_bytes(b"not a LoRA at all")
    model = await model_of(client, ALICE, broken, visibility=Visibility.public, price_per_use=10)
    await account_of(client, BOB, grant=100)
    created = await call(
        client, "POST", "/v1/generations", BOB, status=201, json=generation_body(model, "f")
    )
    assert ((await ledger(client, BOB))[0], (await ledger(client, ALICE))[0]) == (100 - 12, 5)
    done = await finished(client, BOB, created["id"], timeout=180)
    job = await call(client, "GET", f"/v1/jobs/{created['id']}", BOB)
    assert (done["status"], job["attempts"], done["refunded"]) == ("failed", 3, 12)
    assert "safetensors" in done["error"] or "header" in done["error"], done["error"]
    bob, bob_entries = await ledger(client, BOB)
    alice, alice_entries = await ledger(client, ALICE)
    assert (bob, alice) == (100, 0)
    assert sorted(e["kind"] for e in bob_entries) == ["generation_debit", "grant", "refund"]
    assert sorted(e["kind"] for e in alice_entries) == ["royalty", "royalty_reversal"]
