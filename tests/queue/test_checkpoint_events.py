"""The daemon's side of checkpoints without training: a worker's `checkpoint` message stored
and recorded by the dispatcher (retries replace, stale attempts are ignored), what keep
refuses, and which checkpoint blobs upkeep keeps."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import worker_protocol as protocol
from core.db.models import Job, Notification
from core.enums import JobKind, JobStatus
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
        assert app[BLOBS].read_bytes(kohya["key"]) == b"second attemptlora-000002.safetensors"
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
            key = blobs.put_file(f"models/job-{job.id}/attempt-1/step-000002", source.name, source)
            job.checkpoints = [{"step": 2, "files": [{"key": key, "role": "lora_kohya"}]}]
            keys[status] = [key]
    old = time.time() - 7200
    for [key] in keys.values():
        os.utime(blobs.path(key), (old, old))
    async with app[SESSIONMAKER]() as session:
        referenced = await upkeep.referenced_model_keys(session)
    assert upkeep.sweep_orphan_model_files(blobs, referenced) == 1
    assert blobs.exists(keys[JobStatus.training][0]) and blobs.exists(keys[JobStatus.completed][0])
    assert not blobs.exists(keys[JobStatus.failed][0])
