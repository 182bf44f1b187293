"""The local executor with real warm generation workers, on jobs that end before any model
loads (a spec the worker refuses): one attempt at a time per process, reuse by warm key,
eviction when a slot is needed, the worker's own idle exit, and EOF ending it."""

import asyncio
from pathlib import Path

from core import worker_protocol as protocol
from core.enums import JobKind
from core.lifecycle import Attempt
from daemon.executors.base import Exited, WorkerEvent
from daemon.executors.local import LocalExecutor
from tests.queue.conftest import pid_alive, wait_for


def job_file(tmp_path: Path, job_id: int, key: str) -> protocol.JobFile:
    root = tmp_path / "jobs" / str(job_id)
    return protocol.JobFile(
        job_id=job_id,
        fencing_token=1,
        kind=JobKind.generate,
        spec={"prompt": "no base model given"},  # refused by GenerationSpec at once
        images=[],
        warm_key=key,
        out_dir=root / "out-1",
        checkpoint_dir=root / "checkpoints",
        data_dir=tmp_path,
        heartbeat_seconds=0.5,
    )


async def attempt_events(executor: LocalExecutor, attempt: Attempt) -> list[WorkerEvent]:
    """The attempt's events up to its `Exited` (others' events are not expected here)."""
    events: list[WorkerEvent] = []
    while not events or not isinstance(events[-1].message, Exited):
        event = await asyncio.wait_for(executor.events.get(), 30)
        if not isinstance(event.message, protocol.Heartbeat):
            events.append(event)
    assert {event.attempt for event in events} == {attempt}
    return events


async def run_one(executor: LocalExecutor, job: protocol.JobFile) -> int:
    """Start the attempt, check how it ends, and return the pid that said hello."""
    attempt = Attempt(job.job_id, job.fencing_token)
    await executor.start(job)
    hello, failure, exited = (event.message for event in await attempt_events(executor, attempt))
    assert isinstance(hello, protocol.Hello) and hello.job_id == job.job_id
    assert isinstance(failure, protocol.Error) and "GenerationSpec" in failure.message
    assert exited == Exited(0)  # the attempt is over; the process is not
    assert executor.running() == set()
    assert pid_alive(hello.pid)
    return hello.pid


async def test_warm_processes_are_reused_by_key_evicted_for_a_slot_and_exit_idle(
    tmp_path: Path,
) -> None:
    executor = LocalExecutor(1, gpus=[], warm_idle_seconds=4.0)
    try:
        first = await run_one(executor, job_file(tmp_path, 1, "base-a"))
        assert await run_one(executor, job_file(tmp_path, 2, "base-a")) == first
        other = await run_one(executor, job_file(tmp_path, 3, "base-b"))
        assert other != first

        async def gone(pid: int = first) -> bool:
            return not pid_alive(pid)

        await wait_for(gone, timeout=10, what="the evicted worker to die")

        async def exited_on_its_own() -> bool:
            return not pid_alive(other)

        await wait_for(exited_on_its_own, timeout=20, what="the idle worker to exit")
        assert await run_one(executor, job_file(tmp_path, 4, "base-b")) not in (first, other)
    finally:
        await executor.close()
