"""The daemon's side of checkpoints without training: a worker's `checkpoint` message stored
and recorded by the dispatcher (retries replace, stale attempts are ignored), what keep
refuses and how it settles, and which checkpoint blobs upkeep keeps."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import checkpoints
from core import worker_protocol as protocol
from core.db.models import Job, Notification
from core.enums import JobKind, JobStatus, LedgerKind
from core.ledger import post_entry
from core.lifecycle import Attempt
from core.settings import Settings
from daemon.app import create_app
from daemon.executors.base import WorkerEvent
from daemon.keys import BLOBS, DISPATCHER, SESSIONMAKER
from daemon.queue import upkeep
from tests.conftest import make_account, user_headers

USER = "telegram:8801"


async def running_job(
    session: AsyncSession, account_id: int, *, kind: JobKind = JobKind.train, **fields: Any
) -> Job:
    """A job a worker holds (attempt token 1), as `claim_next` leaves it."""
    job = Job(
        account_id=account_id,
        kind=kind,
        offering_id="tiny-lora",
        preset="fast",
        params={"steps": 20},
        overrides={},
        cost=100,
        idempotency_key=f"key-{time.monotonic_ns()}",
        request_hash="h",
        platform="telegram",
        platform_user_id=USER.split(":")[1],
        reply_to={},
        total_steps=20,
        status=JobStatus.training,
        fencing_token=1,
        attempts=1,
        **fields,
    )
    session.add(job)
    await session.flush()
    return job


def written_step(folder: Path, step: int, content: bytes) -> protocol.Checkpoint:
    """The files a worker reports for one checkpoint, written to disk."""
    folder.mkdir(parents=True, exist_ok=True)
    kohya = folder / f"lora-{step:06d}.safetensors"
    diffusers = folder / "pytorch_lora_weights.safetensors"
    sample = folder / f"sample-{step:06d}.png"
    for path in (kohya, diffusers, sample):
        path.write_bytes(content + path.name.encode())
    return protocol.Checkpoint(
        step=step,
        path=str(folder / "resumable"),
        files={"lora_kohya": str(kohya), "lora_diffusers": str(diffusers)},
        sample=str(sample),
    )


async def start(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(run_queue=True)))


async def test_checkpoints_are_stored_replaced_on_retry_and_stale_ones_ignored(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    client = await start(aiohttp_client, make_settings)
    app = client.app
    async with app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id=USER.split(":")[1])
        job_id = (await running_job(session, account.id)).id
    first = Attempt(job_id, 1)
    await app[DISPATCHER].apply_events(
        [WorkerEvent(first, written_step(tmp_path / "a1", 2, b"first attempt"))]
    )
    async with app[SESSIONMAKER]() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        [entry] = job.checkpoints
        assert (entry["step"], entry["sample"]) == (2, "sample-000002.png")
        assert {f["role"] for f in entry["files"]} == {"lora_kohya", "lora_diffusers", "samples"}
        assert all(
            f["key"].startswith(f"models/job-{job_id}/attempt-1/step-000002/")
            for f in entry["files"]
        )
        # A retried attempt (token 2) reaches step 2 again: its files replace the entry.
        job.fencing_token = 2
        await session.commit()
    retry = Attempt(job_id, 2)
    events = [
        WorkerEvent(retry, written_step(tmp_path / "a2", 2, b"second attempt")),
        WorkerEvent(first, written_step(tmp_path / "stale", 4, b"stale")),  # fenced off
        WorkerEvent(retry, written_step(tmp_path / "a2", 4, b"second attempt")),
    ]
    await app[DISPATCHER].apply_events(events)
    async with app[SESSIONMAKER]() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        assert [c["step"] for c in job.checkpoints] == [2, 4]
        kohya = next(f for f in job.checkpoints[0]["files"] if f["role"] == "lora_kohya")
        assert (
            await app[BLOBS].read_bytes(kohya["key"]) == b"second attemptlora-000002.safetensors"
        )
        assert "/attempt-2/" in kohya["key"]
        told = list(
            await session.scalars(
                select(Notification.dedupe_key).where(Notification.kind == "job_sample")
            )
        )
        assert told == [f"job:{job_id}:sample:2", f"job:{job_id}:sample:4"]
    listed = await client.get(f"/v1/jobs/{job_id}/checkpoints", headers=user_headers(USER))
    assert [c["step"] for c in (await listed.json())["checkpoints"]] == [2, 4]


async def test_keep_refuses_other_kinds_and_unknown_steps_and_changes_nothing(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await start(aiohttp_client, make_settings)
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id=USER.split(":")[1])
        caption = await running_job(session, account.id, kind=JobKind.caption)
        training = await running_job(session, account.id)
    refused = await client.post(
        f"/v1/jobs/{caption.id}/keep", json={"step": 2}, headers=user_headers(USER)
    )
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "NOT_A_TRAINING"
    missing = await client.post(
        f"/v1/jobs/{training.id}/keep", json={"step": 2}, headers=user_headers(USER)
    )
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "CHECKPOINT_NOT_FOUND"
    for bad in ({"step": 0}, {"step": "2"}, {"step": 2, "extra": 1}, {}):
        answer = await client.post(
            f"/v1/jobs/{training.id}/keep", json=bad, headers=user_headers(USER)
        )
        assert answer.status == 400, bad
    async with client.app[SESSIONMAKER]() as session:
        for job_id in (caption.id, training.id):
            job = await session.get(Job, job_id)
            assert job is not None
            assert (job.status, job.refunded, job.fencing_token) == (JobStatus.training, 0, 1)


async def test_upkeep_keeps_the_checkpoints_of_live_jobs_and_sweeps_given_up_ones(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    client = await start(aiohttp_client, make_settings)
    app = client.app
    blobs = app[BLOBS]
    keys: dict[JobStatus, list[str]] = {}
    async with app[SESSIONMAKER].begin() as session:
        account = await make_account(session)
        for status in (JobStatus.training, JobStatus.completed, JobStatus.failed):
            job = await running_job(session, account.id)
            job.status = status
            source = tmp_path / f"{status}.safetensors"
            source.write_bytes(b"weights")
            key = await blobs.put_file(
                f"models/job-{job.id}/attempt-1/step-000002", source.name, source
            )
            job.checkpoints = [{"step": 2, "files": [{"key": key, "role": "lora_kohya"}]}]
            keys[status] = [key]
    old = time.time() - 7200
    for [key] in keys.values():
        os.utime(blobs.path(key), (old, old))
    async with app[SESSIONMAKER]() as session:
        referenced = await upkeep.referenced_model_keys(session)
    assert await upkeep.sweep_orphan_model_files(blobs, referenced) == 1
    assert await blobs.exists(keys[JobStatus.training][0])
    assert await blobs.exists(keys[JobStatus.completed][0])
    assert not await blobs.exists(keys[JobStatus.failed][0])


async def test_keep_settles_once_and_makes_the_checkpoint_the_model(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    await keep_flow(await aiohttp_client(create_app(make_settings())), tmp_path)


@pytest.mark.postgres
async def test_keep_settles_once_on_postgres(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    postgres_url: str,
) -> None:
    client = await aiohttp_client(create_app(make_settings(database_url=postgres_url)))
    await keep_flow(client, tmp_path)


async def keep_flow(client: TestClient, tmp_path: Path) -> None:
    """Keep step 5 of a 20-step job (cost 100) that ran to step 7: 75 back, once."""
    app, user = client.app, f"telegram:{time.monotonic_ns()}"
    reported = written_step(tmp_path, 5, b"weights at step five")
    async with app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id=user.split(":")[1], balance=1000)
        job = await running_job(session, account.id, step=7)
        job.platform_user_id = user.split(":")[1]
        await post_entry(
            session,
            account_id=account.id,
            delta=-job.cost,
            kind=LedgerKind.training_debit,
            idempotency_key=f"debit:job:{job.id}",
        )
        stored = await checkpoints.store_checkpoint(
            app[BLOBS], job.id, 1, 5, reported.files, reported.sample
        )
        checkpoints.record_checkpoint(job, 5, stored)
    kept = await client.post(
        f"/v1/jobs/{job.id}/keep", json={"step": 5}, headers=user_headers(user)
    )
    assert kept.status == 200, await kept.text()
    answer = await kept.json()
    assert (answer["status"], answer["progress"]["step"]) == ("completed", 5)
    assert answer["refunded_now"] == answer["refunded"] == 100 * (20 - 5) // 20
    again = await client.post(
        f"/v1/jobs/{job.id}/keep", json={"step": 5}, headers=user_headers(user)
    )
    assert (again.status, (await again.json())["error"]["code"]) == (409, "JOB_FINISHED")

    model = await (
        await client.get(f"/v1/models/{answer['model_id']}", headers=user_headers(user))
    ).json()
    assert model["steps"] == 5 and model["samples"]
    kohya = next(f for f in model["files"] if f["role"] == "lora_kohya")
    weights = await client.get(kohya["url"], headers=user_headers(user))
    assert await weights.read() == Path(reported.files["lora_kohya"]).read_bytes()
    ledger = (await (await client.get("/v1/ledger", headers=user_headers(user))).json())["entries"]
    assert sorted(e["delta"] for e in ledger) == [-100, 75, 1000]
    me = await (await client.get("/v1/me", headers=user_headers(user))).json()
    assert me["balance"] == sum(e["delta"] for e in ledger) == 975
    async with app[SESSIONMAKER]() as session:
        row = await session.get(Job, job.id)
        assert row is not None and row.fencing_token == 2  # the worker's attempt is fenced
        told = await session.scalar(
            select(Notification).where(Notification.dedupe_key == f"job:{job.id}:completed")
        )
        assert told is not None
        assert (told.payload["kept_step"], told.payload["refunded"]) == (5, 75)
        assert told.payload["model_id"] == model["id"]
