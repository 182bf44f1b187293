"""`LocalExecutor`: one worker process per attempt on this host (the module of the job's kind)."""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from core import worker_protocol as protocol
from core.lifecycle import Attempt
from daemon.executors.base import Executor, Exited, WorkerEvent, attempt_of_job_file

log = structlog.get_logger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINE_LIMIT = 4 * 1024 * 1024
TERM_GRACE_SECONDS = 5.0
STDERR_TAIL_BYTES = 2000


def detect_gpus() -> list[str]:
    """GPU ids from `nvidia-smi -L` (torch is not imported here), or none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]


@dataclass
class _Worker:
    attempt: Attempt
    slot: int
    process: asyncio.subprocess.Process
    log_path: Path
    reader: asyncio.Task[None] | None = None
    stopper: asyncio.Task[None] | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)


class LocalExecutor(Executor):
    """Worker processes on this host, one per slot; slot i is pinned to GPU i when any exist."""

    def __init__(self, workers: int, *, gpus: list[str] | None = None) -> None:
        super().__init__()
        if workers < 1:
            raise ValueError("a local executor needs at least one worker slot")
        self._slots = workers
        self._gpus = detect_gpus() if gpus is None else gpus
        self._workers: dict[Attempt, _Worker] = {}

    @property
    def slots(self) -> int:
        return self._slots

    def running(self) -> set[Attempt]:
        return set(self._workers)

    def pid(self, attempt: Attempt) -> int | None:
        """The process id of an attempt's worker (tests and operators use it)."""
        worker = self._workers.get(attempt)
        return worker.process.pid if worker else None

    async def start(self, job: protocol.JobFile) -> None:
        attempt = attempt_of_job_file(job)
        taken = {worker.slot for worker in self._workers.values()}
        free = [slot for slot in range(self._slots) if slot not in taken]
        if not free or attempt in self._workers:
            raise RuntimeError(f"no free slot for attempt {attempt}")
        slot = free[0]
        attempt_dir = job.out_dir.parent
        attempt_dir.mkdir(parents=True, exist_ok=True)
        job_file = attempt_dir / f"attempt-{attempt.fencing_token}.json"
        job.write(job_file)
        log_path = attempt_dir / f"attempt-{attempt.fencing_token}.log"
        with log_path.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                protocol.WORKER_MODULES[job.kind],
                str(job_file),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self._env(slot),
                cwd=str(PROJECT_ROOT),
                limit=LINE_LIMIT,
            )
        worker = _Worker(attempt, slot, process, log_path)
        self._workers[attempt] = worker
        worker.reader = asyncio.create_task(self._read(worker))
        log.info("worker started", job_id=attempt.job_id, pid=process.pid, slot=slot)

    def _env(self, slot: int) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])
        )
        env["PYTHONUNBUFFERED"] = "1"
        # No GPUs: hide any from torch so a CPU run never grabs one by accident.
        env["CUDA_VISIBLE_DEVICES"] = self._gpus[slot % len(self._gpus)] if self._gpus else ""
        return env

    async def _read(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                try:
                    message = protocol.decode(line)
                except protocol.ProtocolError as exc:
                    self._broken(worker, exc, line)
                    break
                self.events.put_nowait(WorkerEvent(worker.attempt, message))
        finally:
            code = await worker.process.wait()
            self._workers.pop(worker.attempt, None)
            worker.exited.set()
            tail = _tail(worker.log_path)
            log.info("worker exited", job_id=worker.attempt.job_id, returncode=code)
            self.events.put_nowait(WorkerEvent(worker.attempt, Exited(code, tail)))

    def _broken(self, worker: _Worker, exc: protocol.ProtocolError, line: bytes) -> None:
        # Both ends come from one checkout, so a bad line is a bug: end the attempt, loudly.
        log.error("worker broke the protocol", job_id=worker.attempt.job_id, line=line[:200])
        failure = protocol.Error(
            message=f"the worker broke the protocol: {exc}", error_type="ProtocolError"
        )
        self.events.put_nowait(WorkerEvent(worker.attempt, failure))
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        worker = self._workers.get(attempt)
        if worker is None or worker.stopper is not None:
            return
        stdin = worker.process.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                stdin.write(f"{protocol.CANCEL_COMMAND}\n".encode())
                await stdin.drain()
        worker.stopper = asyncio.create_task(self._escalate(worker, grace_seconds))

    async def _escalate(self, worker: _Worker, grace_seconds: float) -> None:
        for signal_process, wait in (
            (None, grace_seconds),
            (worker.process.terminate, TERM_GRACE_SECONDS),
            (worker.process.kill, None),
        ):
            if worker.exited.is_set():
                return
            if signal_process is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_process()
            if wait is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.exited.wait(), wait)

    async def kill(self, attempt: Attempt) -> None:
        worker = self._workers.get(attempt)
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()

    async def close(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        readers = [w.reader for w in workers if w.reader is not None]
        stoppers = [w.stopper for w in workers if w.stopper is not None]
        for task in stoppers:
            task.cancel()
        await asyncio.gather(*readers, *stoppers, return_exceptions=True)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - STDERR_TAIL_BYTES, 0))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
