"""Warm generation actors on a real local cluster, on jobs that end before any model loads (a
spec the worker refuses), as `tests/generation/test_warm_executor.py` checks the local ones:
reuse by warm key (the same worker process, so nothing loaded again), a training taking the
slot of the longest-idle warm actor when every slot is held, and the idle end."""

import asyncio
from pathlib import Path

import pytest
import ray

from core import worker_protocol as protocol
from core.enums import JobKind
from core.lifecycle import Attempt
from daemon.executors.base import Exited, WorkerEvent
from daemon.executors.ray import RayExecutor
from tests.queue.conftest import pid_alive, wait_for
from tests.ray.cluster import RESOURCE, RayCluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def job_file(tmp_path: Path, job_id: int, kind: JobKind, key: str | None) -> protocol.JobFile:
    root = tmp_path / "jobs" / str(job_id)
    return protocol.JobFile(
        job_id=job_id,
        fencing_token=1,
        kind=kind,
        spec={"prompt": "no base model given"},  # refused by either kind's spec at once
        images=[],
        warm_key=key,
        out_dir=root / "out-1",
        checkpoint_dir=root / "checkpoints",
        data_dir=tmp_path,
        heartbeat_seconds=0.5,
    )


async def attempt_events(executor: RayExecutor, attempt: Attempt) -> list[WorkerEvent]:
    """The attempt's events up to its `Exited` (others' events are not expected here)."""
    events: list[WorkerEvent] = []
    while not events or not isinstance(events[-1].message, Exited):
        event = await asyncio.wait_for(executor.events.get(), 120)
        if not isinstance(event.message, protocol.Heartbeat):
            events.append(event)
    assert {event.attempt for event in events} == {attempt}
    return events


async def run_one(
    executor: RayExecutor, cluster: RayCluster, job: protocol.JobFile, spec: str
) -> int:
    """Start the attempt, check how it ends, and return the pid of the worker that said hello."""
    attempt = Attempt(job.job_id, job.fencing_token)
    await executor.start(job)
    hello, failure, exited = (event.message for event in await attempt_events(executor, attempt))
    assert isinstance(hello, protocol.Hello) and hello.job_id == job.job_id
    assert isinstance(failure, protocol.Error) and spec in failure.message
    assert isinstance(exited, Exited)
    assert executor.running() == set()
    # The job folder got the attempt's part of the worker's log, as for a cold attempt.
    assert (job.out_dir.parent / "attempt-1.log").is_file()
    return hello.pid


async def generate(executor: RayExecutor, cluster: RayCluster, job: protocol.JobFile) -> int:
    """A generation attempt: it is over (`Exited(0)`) while its warm worker stays up."""
    pid = await run_one(executor, cluster, job, "GenerationSpec")
    assert pid_alive(pid) and cluster.node_of(pid) is not None
    return pid


async def gone(pid: int) -> bool:
    return not pid_alive(pid)


async def units_free() -> bool:
    return ray.available_resources().get(RESOURCE, 0) == ray.cluster_resources().get(RESOURCE)


async def test_warm_actors_are_reused_by_key_and_give_their_slot_to_a_training(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    executor = RayExecutor(
        address=ray_cluster.address, resource=RESOURCE, slots=2, warm_idle_seconds=300
    )
    try:
        first = await generate(executor, ray_cluster, job_file(tmp_path, 1, JobKind.generate, "a"))
        again = job_file(tmp_path, 2, JobKind.generate, "a")
        assert await generate(executor, ray_cluster, again) == first  # nothing loaded anew

        # A slot is free: the training takes it and the idle warm actor stays.
        training = job_file(tmp_path, 3, JobKind.train, None)
        await run_one(executor, ray_cluster, training, "TrainingSpec")
        assert pid_alive(first)
        other = await generate(executor, ray_cluster, job_file(tmp_path, 4, JobKind.generate, "b"))
        assert other != first

        # Both units are held by idle warm actors: the longest idle gives its unit up, or the
        # training's actor would wait for one forever.
        training = job_file(tmp_path, 5, JobKind.train, None)
        await run_one(executor, ray_cluster, training, "TrainingSpec")
        await wait_for(lambda: gone(first), timeout=30, what="the evicted warm worker to die")
        assert pid_alive(other)
        third = job_file(tmp_path, 6, JobKind.generate, "b")
        assert await generate(executor, ray_cluster, third) == other
    finally:
        await executor.close()
    await wait_for(lambda: gone(other), timeout=30, what="close to end the warm worker")


async def test_an_idle_warm_actor_ends_after_its_idle_seconds(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    executor = RayExecutor(
        address=ray_cluster.address, resource=RESOURCE, slots=1, warm_idle_seconds=3
    )
    try:
        first = await generate(executor, ray_cluster, job_file(tmp_path, 1, JobKind.generate, "a"))
        await wait_for(lambda: gone(first), timeout=30, what="the idle warm worker to end")
        await wait_for(units_free, timeout=30, what="the idle warm actor to give its unit back")
        later = job_file(tmp_path, 2, JobKind.generate, "a")
        assert await generate(executor, ray_cluster, later) != first
    finally:
        await executor.close()
