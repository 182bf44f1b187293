"""The queue with `create_app` over real HTTP, real worker processes and the real trainer."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, EXECUTOR, SESSIONMAKER
from tests.conftest import RPC_HEADERS, make_account, make_dataset, user_headers
from tests.queue.conftest import TERMINAL, kill9, link_base_models, pid_alive, wait_for

pytestmark = pytest.mark.slow

STEPS = 20


async def start(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    **overrides: Any,
) -> TestClient:
    settings = make_settings(run_queue=True, lease_seconds=15.0, **overrides)
    link_base_models(settings.data_dir, shared_base_models)
    return await aiohttp_client(create_app(settings))


async def submit(client: TestClient, user: str, **body: Any) -> dict[str, Any]:
    """A funded account with a 4-image dataset submits a tiny-lora job."""
    async with client.app[SESSIONMAKER].begin() as session:
        platform, user_id = user.split(":")
        account = await make_account(
            session, platform=platform, platform_user_id=user_id, balance=1000
        )
        dataset = await make_dataset(session, account.id, images=4, blobs=client.app[BLOBS])
    payload = {
        "dataset_id": dataset.id,
        "offering_id": body.pop("offering_id", "tiny-lora"),
        "preset": "fast",
        "overrides": {"steps": STEPS},
        "idempotency_key": f"job-{user}",
        **body,
    }
    response = await client.post("/v1/jobs", json=payload, headers=user_headers(user))
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def job_of(client: TestClient, user: str, job_id: int) -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}", headers=user_headers(user))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def ledger_of(client: TestClient, user: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/ledger", headers=user_headers(user))
    return list((await response.json())["entries"])


def worker_pid(client: TestClient, job_id: int) -> int | None:
    executor = client.app[EXECUTOR]
    for attempt in executor.running():
        if attempt.job_id == job_id:
            return executor.pid(attempt)  # type: ignore[attr-defined, no-any-return]
    return None


async def test_end_to_end_survives_a_killed_worker(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_base_models: Path
) -> None:
    user = "telegram:501"
    client = await start(aiohttp_client, make_settings, shared_base_models)
    job = await submit(client, user)
    job_id = job["id"]
    checkpoints = Path(client.app[EXECUTOR] and make_settings().data_dir) / "jobs" / str(job_id)

    async def checkpointed() -> int | None:
        view = await job_of(client, user, job_id)
        has_checkpoint = any((checkpoints / "checkpoints").glob("step-*/meta.json"))
        return (
            worker_pid(client, job_id) if view["status"] == "training" and has_checkpoint else None
        )

    pid = await wait_for(checkpointed, timeout=120, what="a training worker with a checkpoint")
    kill9(pid)

    async def finished() -> dict[str, Any] | None:
        view = await job_of(client, user, job_id)
        return view if view["status"] in TERMINAL else None

    view = await wait_for(finished, timeout=240, every=0.5, what="the job to finish")
    assert view["status"] == "completed", view
    assert view["attempts"] == 2 and view["model_id"]
    assert view["progress"]["step"] == STEPS

    model = await (
        await client.get(f"/v1/models/{view['model_id']}", headers=user_headers(user))
    ).json()
    names = {f["role"]: f["name"] for f in model["files"]}
    assert {"lora_diffusers", "lora_kohya", "loss_curve", "samples", "summary"} <= set(names)
    download = await client.get(model["files"][0]["url"], headers=user_headers(user))
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert len(await download.read()) == model["files"][0]["size"]
    other = await client.get(model["files"][0]["url"], headers=user_headers("telegram:999"))
    assert other.status == 404

    metrics = await (
        await client.get(f"/v1/jobs/{job_id}/metrics", headers=user_headers(user))
    ).json()
    assert metrics

    polled = await client.get("/v1/notifications?platform=telegram&wait=5", headers=RPC_HEADERS)
    kinds = {
        n["kind"]: n
        for n in (await polled.json())["notifications"]
        if n["payload"]["job_id"] == job_id
    }
    assert {"job_started", "job_completed"} <= set(kinds)
    completed = kinds["job_completed"]
    assert completed["platform_user_id"] == "501"
    assert completed["payload"]["model_id"] == view["model_id"]
    ids = [n["id"] for n in kinds.values()]
    ack = await client.post("/v1/notifications/ack", json={"ids": ids}, headers=RPC_HEADERS)
    assert (await ack.json())["acknowledged"] == len(ids)
    again = await client.post("/v1/notifications/ack", json={"ids": ids}, headers=RPC_HEADERS)
    assert (await again.json())["acknowledged"] == 0
    empty = await client.get("/v1/notifications?platform=telegram", headers=RPC_HEADERS)
    assert (await empty.json())["notifications"] == []

    entries = await ledger_of(client, user)
    assert sorted(e["kind"] for e in entries) == ["grant", "training_debit"]
    assert not (checkpoints / "checkpoints").exists()


async def test_cancel_while_training_stops_the_worker_and_refunds_the_rest(
    aiohttp_client: Any, make_settings: Callable[..., Settings], shared_base_models: Path
) -> None:
    user = "discord:777"
    client = await start(aiohttp_client, make_settings, shared_base_models)
    job = await submit(client, user, overrides={"steps": 400})

    async def training() -> int | None:
        view = await job_of(client, user, job["id"])
        return worker_pid(client, job["id"]) if view["progress"]["step"] >= 2 else None

    pid = await wait_for(training, timeout=120, what="training steps")
    response = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers(user))
    assert response.status == 200, await response.text()
    cancelled = await response.json()
    assert cancelled["status"] == "cancelled"
    step, total, cost = cancelled["progress"]["step"], 400, cancelled["cost"]
    assert cancelled["refunded"] == cost * (total - step) // total > 0

    async def gone() -> bool:
        return not pid_alive(pid)

    await wait_for(gone, timeout=15, what="the worker process to exit")
    refunds = [e for e in await ledger_of(client, user) if e["kind"] == "refund"]
    assert [e["delta"] for e in refunds] == [cancelled["refunded"]]

    # The executor frees the slot once it has read the exit (a moment after the process died).
    async def released() -> bool:
        return worker_pid(client, job["id"]) is None

    await wait_for(released, timeout=10, every=0.05, what="the executor to free the slot")


BROKEN_OFFERING = """
[offerings.broken-lora]
title = "A base model that cannot load"
family = "sd15"
base_model = "{base}"
resolution = 64
min_images = 4
max_images = 20
bounds = {{ steps = {{ min = 1, max = 100 }}, rank = {{ min = 1, max = 8 }}, alpha = {{ min = 0.5, max = 8.0 }}, learning_rate = {{ min = 1e-6, max = 1e-2 }}, batch_size = {{ min = 1, max = 2 }}, resolution = {{ min = 32, max = 128 }} }}
pricing = {{ points_per_gpu_second = 1.0, seconds_per_step = 0.05, base_seconds = 5.0, vram_gb = 0.5 }}

[offerings.broken-lora.presets]
fast = {{ steps = 10, rank = 4, alpha = 4.0, learning_rate = 1e-3, batch_size = 1, resolution = 64 }}
"""  # noqa: E501


async def test_a_job_that_always_fails_is_retried_then_refunded_once(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    tmp_path: Path,
) -> None:
    # A diffusers folder whose model_index.json is garbage: preflight accepts it, loading fails.
    base = tmp_path / "broken-base"
    base.mkdir()
    (base / "model_index.json").write_text("{not json", encoding="utf-8")
    offerings = tmp_path / "offerings.toml"
    offerings.write_text(BROKEN_OFFERING.format(base=base), encoding="utf-8")
    client = await start(
        aiohttp_client, make_settings, shared_base_models, max_attempts=2, offerings_file=offerings
    )
    user = "telegram:601"
    job = await submit(client, user, offering_id="broken-lora", overrides={})

    async def finished() -> dict[str, Any] | None:
        view = await job_of(client, user, job["id"])
        return view if view["status"] in TERMINAL else None

    view = await wait_for(finished, timeout=180, every=0.5, what="the job to fail")
    assert view["status"] == "failed" and view["attempts"] == 2
    assert view["error"] and view["refunded"] == view["cost"] > 0
    refunds = [e for e in await ledger_of(client, user) if e["kind"] == "refund"]
    assert [e["delta"] for e in refunds] == [view["cost"]]
    polled = await client.get("/v1/notifications?platform=telegram", headers=RPC_HEADERS)
    failed = [n for n in (await polled.json())["notifications"] if n["kind"] == "job_failed"]
    assert [n["payload"]["refunded"] for n in failed] == [view["cost"]]
    assert os.path.exists(Path(make_settings().data_dir) / "jobs" / str(job["id"]))


@pytest.mark.postgres
async def test_end_to_end_on_postgres(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    postgres_url: str,
) -> None:
    """The same lifecycle on PostgreSQL (row locks and SKIP LOCKED instead of SQLite's lock)."""
    user = "discord:777"
    client = await start(
        aiohttp_client, make_settings, shared_base_models, database_url=postgres_url
    )
    job_id = (await submit(client, user))["id"]

    async def finished() -> dict[str, Any] | None:
        view = await job_of(client, user, job_id)
        return view if view["status"] in TERMINAL else None

    view = await wait_for(finished, timeout=240, every=0.5, what="the job to finish")
    assert (view["status"], view["attempts"]) == ("completed", 1), view
    polled = await client.get("/v1/notifications?platform=discord&wait=5", headers=RPC_HEADERS)
    notes = (await polled.json())["notifications"]
    kinds = [n["kind"] for n in notes]
    # Started, one sample per saved checkpoint in step order, completed.
    samples = [n["payload"]["step"] for n in notes if n["kind"] == "job_sample"]
    assert kinds == ["job_started", *["job_sample"] * len(samples), "job_completed"]
    assert samples and samples == sorted(samples) and samples[-1] < view["progress"]["total_steps"]
    entries = await ledger_of(client, user)
    assert sorted(e["kind"] for e in entries) == ["grant", "training_debit"]
    me = await (await client.get("/v1/me", headers=user_headers(user))).json()
    assert me["balance"] == sum(e["delta"] for e in entries) == 1000 - view["cost"]
