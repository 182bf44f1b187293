"""`LocalExecutor`: worker processes on this host, one per slot (the module of the job's kind).

A cold kind (training) gets a process of its own that exits after its attempt. A warm kind
(`protocol.WARM_KINDS`: generations) runs in a process that stays up between attempts with
its pipeline loaded: an attempt goes to an idle warm process holding the same `warm_key` (a
`run JOB_FILE` line on its stdin), else to a new one started with `--serve IDLE_SECONDS`. An
idle warm process keeps its slot until a start needs the slot (it is killed then) or until it
has been idle for its idle seconds.

The dispatcher sees the same events either way: an attempt's events end with `Exited` — when
a cold worker exits, or, for a warm one, right after the attempt's final message (result,
error, cancelled), when the process goes back to idle. A warm process that dies mid-attempt
ends that attempt like a crashed cold worker.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
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
DEFAULT_WARM_IDLE_SECONDS = 300.0
FINAL_MESSAGES = (protocol.Result, protocol.Error, protocol.Cancelled)


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
class _Run:
    """One attempt on a worker process."""

    attempt: Attempt
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    stopper: asyncio.Task[None] | None = None


@dataclass
class _Worker:
    """A worker process in a slot; `run` is the attempt it works on (None: an idle warm one)."""

    slot: int
    process: asyncio.subprocess.Process
    log_path: Path
    run: _Run | None = None
    warm_key: tuple[str, str | None] | None = None
    """(module, the job file's warm_key) of a warm process; None for a cold one."""
    idle_since: float = 0.0
    reader: asyncio.Task[None] | None = None


class LocalExecutor(Executor):
    """Worker processes on this host, one per slot; slot i is pinned to GPU i when any exist."""

    def __init__(
        self,
        workers: int,
        *,
        gpus: list[str] | None = None,
        warm_idle_seconds: float = DEFAULT_WARM_IDLE_SECONDS,
    ) -> None:
        super().__init__()
        if workers < 1:
            raise ValueError("a local executor needs at least one worker slot")
        self._slots = workers
        self._gpus = detect_gpus() if gpus is None else gpus
        self._idle_seconds = warm_idle_seconds
        # Not handed work this close to its own idle exit: the `run` line could cross it.
        self._reuse_before = warm_idle_seconds - max(1.0, warm_idle_seconds / 10)
        self._processes: list[_Worker] = []
        self._runs: dict[Attempt, _Worker] = {}

    @property
    def slots(self) -> int:
        return self._slots

    def running(self) -> set[Attempt]:
        return set(self._runs)

    def pid(self, attempt: Attempt) -> int | None:
        """The process id of an attempt's worker (tests and operators use it)."""
        worker = self._runs.get(attempt)
        return worker.process.pid if worker else None

    async def start(self, job: protocol.JobFile) -> None:
        attempt = attempt_of_job_file(job)
        if attempt in self._runs:
            raise RuntimeError(f"attempt {attempt} is already running")
        job_file = _write_job_file(job)
        key = None
        if job.kind in protocol.WARM_KINDS:
            key = (protocol.WORKER_MODULES[job.kind], job.warm_key)
            idle = self._idle_warm(key)
            if idle is not None and await self._hand(idle, attempt, job_file):
                log.info("warm worker reused", job_id=attempt.job_id, pid=idle.process.pid)
                return
        worker = await self._spawn(job, job_file, self._take_slot(), key)
        if key is None:
            self._assign(worker, attempt)
        elif not await self._hand(worker, attempt, job_file):
            raise OSError(f"the new warm worker {worker.process.pid} did not take the job")

    def _idle_warm(self, key: tuple[str, str | None]) -> _Worker | None:
        now = time.monotonic()
        for worker in list(self._processes):
            if worker.run is not None or worker.warm_key is None:
                continue
            if now - worker.idle_since > self._reuse_before:
                self._evict(worker, "near its idle exit")
            elif worker.warm_key == key:
                return worker
        return None

    def _take_slot(self) -> int:
        """A free slot, evicting the longest-idle warm process when none is free."""
        taken = {worker.slot for worker in self._processes}
        free = [slot for slot in range(self._slots) if slot not in taken]
        if free:
            return free[0]
        idle = [worker for worker in self._processes if worker.run is None]
        if not idle:
            raise RuntimeError("no free slot")
        victim = min(idle, key=lambda worker: worker.idle_since)
        self._evict(victim, "its slot is needed")
        return victim.slot

    def _evict(self, worker: _Worker, why: str) -> None:
        self._processes.remove(worker)
        log.info("warm worker evicted", pid=worker.process.pid, slot=worker.slot, why=why)
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    async def _spawn(
        self,
        job: protocol.JobFile,
        job_file: Path,
        slot: int,
        key: tuple[str, str | None] | None,
    ) -> _Worker:
        module = protocol.WORKER_MODULES[job.kind]
        if key is None:
            args = [str(job_file)]
            log_path = job_file.with_suffix(".log")
        else:
            # One log per slot: a warm process outlives the attempts it serves.
            args = [protocol.SERVE_FLAG, f"{self._idle_seconds:g}"]
            log_path = job.data_dir / "workers" / f"{job.kind}-slot-{slot}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self._env(slot),
                cwd=str(PROJECT_ROOT),
                limit=LINE_LIMIT,
            )
        worker = _Worker(slot, process, log_path, warm_key=key, idle_since=time.monotonic())
        self._processes.append(worker)
        worker.reader = asyncio.create_task(self._read(worker))
        log.info("worker started", job_id=job.job_id, pid=process.pid, slot=slot, warm=bool(key))
        return worker

    def _assign(self, worker: _Worker, attempt: Attempt) -> None:
        worker.run = _Run(attempt)
        self._runs[attempt] = worker

    async def _hand(self, worker: _Worker, attempt: Attempt, job_file: Path) -> bool:
        """Give a warm process the attempt (`run JOB_FILE`); False when it cannot take it."""
        self._assign(worker, attempt)
        if await _send(worker, f"{protocol.RUN_COMMAND} {job_file}"):
            return True
        worker.run = None
        self._runs.pop(attempt, None)
        if worker in self._processes:
            self._evict(worker, "its stdin is closed")
        return False

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
                run = worker.run
                if run is None:
                    continue  # an idle warm process's heartbeat
                self.events.put_nowait(WorkerEvent(run.attempt, message))
                if worker.warm_key is not None and isinstance(message, FINAL_MESSAGES):
                    # The attempt is over; for the dispatcher that is what a cold exit says.
                    self._end_run(worker, Exited(0))
                    worker.idle_since = time.monotonic()
        finally:
            code = await worker.process.wait()
            if worker in self._processes:
                self._processes.remove(worker)
            if worker.run is not None:
                self._end_run(worker, Exited(code, _tail(worker.log_path)))
            log.info("worker exited", pid=worker.process.pid, returncode=code)

    def _end_run(self, worker: _Worker, exited: Exited) -> None:
        run = worker.run
        assert run is not None
        worker.run = None
        self._runs.pop(run.attempt, None)
        run.ended.set()
        self.events.put_nowait(WorkerEvent(run.attempt, exited))

    def _broken(self, worker: _Worker, exc: protocol.ProtocolError, line: bytes) -> None:
        # Both ends come from one checkout, so a bad line is a bug: end the attempt, loudly.
        log.error("worker broke the protocol", pid=worker.process.pid, line=line[:200])
        if worker.run is not None:
            failure = protocol.Error(
                message=f"the worker broke the protocol: {exc}", error_type="ProtocolError"
            )
            self.events.put_nowait(WorkerEvent(worker.run.attempt, failure))
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()

    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        worker = self._runs.get(attempt)
        if worker is None or worker.run is None or worker.run.stopper is not None:
            return
        run = worker.run
        await _send(worker, protocol.CANCEL_COMMAND)
        run.stopper = asyncio.create_task(self._escalate(worker, run, grace_seconds))

    async def _escalate(self, worker: _Worker, run: _Run, grace_seconds: float) -> None:
        # A warm process that does not answer the cancel is killed with its pipeline.
        for signal_process, wait in (
            (None, grace_seconds),
            (worker.process.terminate, TERM_GRACE_SECONDS),
            (worker.process.kill, None),
        ):
            if run.ended.is_set():
                return
            if signal_process is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_process()
            if wait is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.ended.wait(), wait)

    async def kill(self, attempt: Attempt) -> None:
        worker = self._runs.get(attempt)
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()

    async def close(self) -> None:
        workers = list(self._processes)
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        readers = [w.reader for w in workers if w.reader is not None]
        stoppers = [w.run.stopper for w in workers if w.run and w.run.stopper is not None]
        for task in stoppers:
            task.cancel()
        await asyncio.gather(*readers, *stoppers, return_exceptions=True)


def _write_job_file(job: protocol.JobFile) -> Path:
    attempt_dir = job.out_dir.parent
    attempt_dir.mkdir(parents=True, exist_ok=True)
    path = attempt_dir / f"attempt-{job.fencing_token}.json"
    job.write(path)
    return path


async def _send(worker: _Worker, line: str) -> bool:
    """Write one line on the worker's stdin; False when the process can no longer read it."""
    stdin = worker.process.stdin
    if stdin is None or stdin.is_closing() or worker.process.returncode is not None:
        return False
    try:
        stdin.write(f"{line}\n".encode())
        await stdin.drain()
    except (ConnectionError, RuntimeError):
        return False
    return True


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - STDERR_TAIL_BYTES, 0))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
