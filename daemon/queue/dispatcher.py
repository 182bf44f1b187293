"""The dispatcher: starts queued jobs in free slots and turns worker events into state.

It is the same for every job kind; what differs (a worker's inputs, storing its result) is
the kind's handler in `daemon.queue.kinds`.
"""

import asyncio
import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, assert_never

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import lifecycle
from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.db.models import Job
from core.enums import JobKind, JobStatus, Platform
from core.errors import DomainError
from core.lifecycle import Attempt
from core.operator_analytics import failure_reason
from core.settings import Settings
from daemon.executors.base import Executor, Exited, WorkerEvent, attempt_of_job_file
from daemon.observability import Metrics
from daemon.queue.kinds import Prepared
from daemon.queue.kinds.registry import handler_of

log = structlog.get_logger(__name__)

POLL_SECONDS = 5.0
CANCEL_GRACE_SECONDS = 5.0
MAX_BATCH = 500
INPUTS_DIR = "inputs"  # a job's input files fetched from a remote blob store, in its folder


def job_dir(data_dir: Path, job_id: int) -> Path:
    """Where a job's attempts, outputs and checkpoints live (kept across attempts)."""
    return data_dir / "jobs" / str(job_id)


class Dispatcher:
    """Owns the queue loop and the event loop; the executor only runs what it is given."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        executor: Executor,
        blobs: BlobStore,
        wake: Callable[[], None],
        wait: Callable[[float], Awaitable[Any]],
        notify: Callable[[str], None],
        updated: Callable[[], None],
        owner: str,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.executor = executor
        self.blobs = blobs
        self._wake, self._wait, self._notify = wake, wait, notify
        self._updated = updated
        self.owner = owner
        self.metrics = metrics
        self._busy_since: dict[Attempt, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.lease_seconds = settings.lease_seconds
        self.heartbeat_seconds = max(min(5.0, settings.lease_seconds / 3), 0.2)

    async def start(self) -> None:
        """Requeue what an earlier daemon left running, then run both loops."""
        async with self.sessionmaker.begin() as session:
            orphans = await lifecycle.requeue_orphans(session, owner=self.owner)
        if orphans:
            log.warning("requeued jobs of an earlier daemon", jobs=[a.job_id for a in orphans])
        self._tasks = [
            asyncio.create_task(self._queue_loop(), name="dispatcher-queue"),
            asyncio.create_task(self._event_loop(), name="dispatcher-events"),
        ]

    async def close(self) -> None:
        """Stop both loops (the executor is closed by its own cleanup context)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _notify_all(self) -> None:
        # Called after every status change a person hears of: live monitors show it too.
        self._updated()
        for platform in Platform:
            self._notify(str(platform))

    async def _queue_loop(self) -> None:
        while True:
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("dispatch failed")
            await self._wait(POLL_SECONDS)

    async def dispatch_once(self) -> int:
        """Stop attempts that lost their job, then fill free slots; how many were started."""
        await self.reconcile()
        started = 0
        while self.executor.free_slots() > 0:
            job = await self._claim()
            if job is None:
                break
            try:
                await self.executor.start(job)
            except OSError as exc:
                await self._end_attempt(
                    attempt_of_job_file(job), f"could not start a worker: {exc}"
                )
                continue
            self._busy_since[attempt_of_job_file(job)] = time.monotonic()
            started += 1
        if started:
            self._notify_all()
        return started

    async def reconcile(self) -> None:
        """Stop workers whose job was cancelled, requeued or re-claimed since they started."""
        running = self.executor.running()
        if not running:
            return
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(Job.id, Job.fencing_token, Job.status).where(
                    Job.id.in_([attempt.job_id for attempt in running])
                )
            )
            held = {
                Attempt(job_id, token)
                for job_id, token, status in rows
                if status in lifecycle.RUNNING
            }
        for attempt in running - held:
            await self.executor.stop(attempt, grace_seconds=CANCEL_GRACE_SECONDS)

    async def _claim(self) -> protocol.JobFile | None:
        busy = frozenset(attempt.job_id for attempt in self.executor.running())
        async with self.sessionmaker.begin() as session:
            job = await lifecycle.claim_next(
                session, owner=self.owner, lease_seconds=self.lease_seconds, exclude_job_ids=busy
            )
            if job is None:
                return None
            self._observe_start(job)
            try:
                inputs = job_dir(self.settings.data_dir, job.id) / INPUTS_DIR
                prepared = await handler_of(job.kind).prepare(session, self.blobs, job, inputs)
            except DomainError as exc:
                # Permanent (image files gone, the model deleted): fail now rather than retry.
                await lifecycle.fail_attempt(
                    session, job, f"the job cannot run: {exc.message}", max_attempts=0
                )
                self._observe_failure(job)
                failed = True
            else:
                return self._plan(job, prepared)
        if failed:
            self._notify_all()
            self._wake()  # the slot is still free: look at the next job
        return None

    def _observe_start(self, job: Job) -> None:
        # The fencing token grows with every claim and is never reset (a requeue resets only
        # the attempts), so token 1 is the job's first start: its queue wait is observed once.
        if job.fencing_token == 1 and job.started_at is not None:
            wait = (job.started_at - job.created_at).total_seconds()
            self.metrics.queue_wait.observe(max(wait, 0.0))

    def _observe_failure(self, job: Job) -> None:
        if job.status == JobStatus.failed:
            self.metrics.failures.labels(reason=failure_reason(job.error)).inc()

    def _observe_exit(self, attempt: Attempt) -> None:
        since = self._busy_since.pop(attempt, None)
        if since is not None:
            self.metrics.gpu_busy.labels(slot=self.owner).inc(time.monotonic() - since)

    def _plan(self, job: Job, prepared: Prepared) -> protocol.JobFile:
        root = job_dir(self.settings.data_dir, job.id).resolve()
        return protocol.JobFile(
            job_id=job.id,
            fencing_token=job.fencing_token,
            kind=JobKind(job.kind),
            spec=prepared.spec,
            images=prepared.images,
            inputs=prepared.inputs,
            warm_key=prepared.warm_key,
            out_dir=root / f"out-{job.fencing_token}",
            checkpoint_dir=root / "checkpoints",
            data_dir=self.settings.data_dir.resolve(),
            heartbeat_seconds=self.heartbeat_seconds,
        )

    async def reap(self) -> list[Attempt]:
        """End attempts with an expired lease or stalled progress and kill their workers."""
        async with self.sessionmaker.begin() as session:
            ended = await lifecycle.reap_expired(
                session,
                stall_seconds=self.settings.stall_seconds,
                max_attempts=self.settings.max_attempts,
            )
            for attempt in ended:  # the reaped jobs are in the session: no query
                reaped = await session.get(Job, attempt.job_id)
                if reaped is not None:
                    self._observe_failure(reaped)
        for attempt in ended:
            log.warning("attempt reaped", job_id=attempt.job_id, token=attempt.fencing_token)
            await self.executor.kill(attempt)
        if ended:
            self._notify_all()
            self._wake()
        return ended

    async def _event_loop(self) -> None:
        while True:
            batch = [await self.executor.events.get()]
            while len(batch) < MAX_BATCH and not self.executor.events.empty():
                batch.append(self.executor.events.get_nowait())
            try:
                await self.apply_events(batch)
            except Exception:
                log.exception("applying worker events failed", events=len(batch))

    async def apply_events(self, batch: list[WorkerEvent]) -> None:
        """Apply worker events in order; runs of progress are one transaction per attempt."""
        pending: dict[Attempt, list[protocol.Progress]] = {}
        for event in batch:
            match event.message:
                case protocol.Progress() as report:
                    pending.setdefault(event.attempt, []).append(report)
                case protocol.Hello() | protocol.Heartbeat():
                    pending.setdefault(event.attempt, [])  # proof of life: renews the lease
                case protocol.Checkpoint() as checkpoint:
                    pending.setdefault(event.attempt, [])
                    await self._flush(pending)
                    # Awaited in turn: the files are in blob storage before a later result
                    # lets `_cleanup` remove the job's folder.
                    await self._checkpoint(event.attempt, checkpoint)
                case _:
                    await self._flush(pending)
                    await self._apply_final(event.attempt, event.message)
        await self._flush(pending)

    async def _flush(self, pending: dict[Attempt, list[protocol.Progress]]) -> None:
        for attempt, reports in pending.items():
            async with self.sessionmaker.begin() as session:
                await lifecycle.record_progress(
                    session, attempt, reports, lease_seconds=self.lease_seconds
                )
        if any(pending.values()):
            self._updated()
        pending.clear()

    async def _checkpoint(self, attempt: Attempt, checkpoint: protocol.Checkpoint) -> None:
        async with self.sessionmaker() as session:
            job = await lifecycle.current(session, attempt)
            if job is None:
                return
            handler = handler_of(job.kind)
        try:
            stored = await handler.store_checkpoint(self.blobs, attempt, checkpoint)
        except (OSError, ValueError) as exc:  # a reported file missing: the training goes on
            log.warning("checkpoint not stored", job_id=attempt.job_id, error=str(exc)[:300])
            return
        async with self.sessionmaker.begin() as session:
            job = await lifecycle.current(session, attempt)
            if job is None:
                return  # kept, cancelled or re-claimed meanwhile; upkeep removes the orphans
            await handler.record_checkpoint(session, job, checkpoint, stored)
        self._notify_all()

    async def _apply_final(
        self,
        attempt: Attempt,
        message: protocol.Result | protocol.Cancelled | protocol.Error | Exited,
    ) -> None:
        match message:
            case protocol.Result():
                await self._complete(attempt, message)
            case protocol.Error():
                await self._end_attempt(attempt, message.message)
            case protocol.Cancelled():
                await self._end_attempt(attempt, "the worker stopped before finishing")
            case Exited(returncode=code, stderr_tail=stderr):
                self._observe_exit(attempt)
                tail = stderr.strip().splitlines()[-3:]
                detail = f": {' | '.join(tail)}" if tail and code else ""
                await self._end_attempt(attempt, f"the worker exited with code {code}{detail}")
                self._wake()
            case _:
                assert_never(message)

    async def _end_attempt(self, attempt: Attempt, error: str) -> None:
        async with self.sessionmaker.begin() as session:
            job = await lifecycle.current(session, attempt)
            if job is None:
                return  # already settled (result, cancel, reaping) or a newer attempt holds it
            await lifecycle.fail_attempt(
                session, job, error, max_attempts=self.settings.max_attempts
            )
            self._observe_failure(job)
            final = job.status == JobStatus.failed
        log.warning("attempt failed", job_id=attempt.job_id, error=error[:300], final=final)
        if final:
            self._cleanup(attempt.job_id)
        self._notify_all()
        self._wake()

    async def _complete(self, attempt: Attempt, result: protocol.Result) -> None:
        async with self.sessionmaker() as session:
            job = await lifecycle.current(session, attempt)
            if job is None:
                return
            handler = handler_of(job.kind)
        try:
            stored = await handler.store(self.blobs, attempt, result)
        except (OSError, ValueError) as exc:  # a reported file missing, a bad file name
            await self._end_attempt(attempt, f"could not store the results: {exc}")
            return
        async with self.sessionmaker.begin() as session:
            job = await lifecycle.current(session, attempt)
            if job is None:
                return  # cancelled while the files were copied; upkeep removes the orphans
            await handler.complete(session, job, result, stored)
        log.info("job completed", job_id=attempt.job_id, kind=job.kind)
        self._cleanup(attempt.job_id)
        self._notify_all()
        self._wake()

    def _cleanup(self, job_id: int) -> None:
        # Outputs are in blob storage now; checkpoints and the inputs fetched from a remote
        # store are of no further use; the attempt logs stay for operators.
        root = job_dir(self.settings.data_dir, job_id)
        stale = [
            *root.glob("out-*"),
            *root.glob(".out-*"),
            root / "checkpoints",
            root / INPUTS_DIR,
        ]
        for path in stale:
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
