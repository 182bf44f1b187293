"""`RayExecutor`: each attempt runs in a Ray actor of its own on a GPU host of a Ray cluster.

The daemon joins the cluster as a driver (`ray.init(address=...)`, not Ray Client, which cannot
stream generators) from a node that offers none of the resource attempts ask for. Each attempt
gets an `AttemptActor` (`daemon.executors.ray_actor`) asking one unit of `resource`, with Ray's
own restarts and retries off: every retry goes through the lifecycle and its fencing tokens.
The job file's input files go to the actor as object refs; the actor's stream brings back the
worker's messages and, before each message that names them, the files it wrote, which are
written here at the paths the job file gave. The dispatcher sees the same events as from
`LocalExecutor`, `Exited` last.

Actors belong to this driver: when the daemon dies, Ray kills them, and their workers die with
them (`core.worker_process.die_with_parent`). Warm workers are not kept: a generation is one
attempt on one actor, cold (see the README).
"""

import asyncio
import contextlib
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ray
import structlog
from ray.exceptions import RayError

from core import worker_protocol as protocol
from core.lifecycle import Attempt
from daemon.executors.base import Executor, Exited, WorkerEvent, attempt_of_job_file
from daemon.executors.ray_actor import (
    COMPLETE_MARKER,
    AttemptActor,
    Chunk,
    Exit,
    Inputs,
    Item,
    Line,
    Prune,
)

log = structlog.get_logger(__name__)

PROBE_SECONDS = 3.0
CANCEL_GRACE_SECONDS = 5.0
"""After the grace of a stop: Ray cancels the actor's task (its `finally` kills the worker);
this long after that the executor kills the actor itself."""
EXIT_LOST = -1
"""The returncode of an attempt whose actor died or whose host left the cluster."""
NAMESPACE = "lorabot"


@dataclass
class _Run:
    """One attempt on its actor."""

    attempt: Attempt
    actor: Any
    stream: Any
    inputs: Inputs
    """Held until the attempt ends: the actor may fetch the objects any time before."""
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    stopper: asyncio.Task[None] | None = None
    partial: dict[str, BinaryIO] = field(default_factory=dict)
    """Output files being received, by their final path (written under a hidden name)."""


class RayExecutor(Executor):
    """Attempts on Ray actors, `slots` at once, each asking one unit of `resource`."""

    def __init__(
        self,
        *,
        address: str,
        resource: str,
        slots: int,
        worker_data_dir: Path | None = None,
    ) -> None:
        super().__init__()
        if slots < 1:
            raise ValueError("a Ray executor needs at least one slot")
        self._address = address
        self._slots = slots
        self._worker_data_dir = None if worker_data_dir is None else str(worker_data_dir)
        self._runs: dict[Attempt, _Run] = {}
        self._joined = asyncio.Lock()
        # Ray's retries off: a lost attempt is the lifecycle's to retry, under a new token.
        options: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_task_retries": 0}
        if resource == "GPU":
            options["num_gpus"] = 1  # Ray sets CUDA_VISIBLE_DEVICES for the actor then
        else:
            options["resources"] = {resource: 1}
        self._actor_class = ray.remote(AttemptActor).options(**options)

    @property
    def slots(self) -> int:
        return self._slots

    def running(self) -> set[Attempt]:
        return set(self._runs)

    async def start(self, job: protocol.JobFile) -> None:
        attempt = attempt_of_job_file(job)
        if attempt in self._runs:
            raise RuntimeError(f"attempt {attempt} is already running")
        await self._join()
        # Beside the outputs, as `LocalExecutor` leaves it: what the attempt was asked to do.
        await asyncio.to_thread(_write_job_file, job)
        inputs = await asyncio.to_thread(_put_inputs, job)
        actor = self._actor_class.remote(self._worker_data_dir)
        run = _Run(attempt, actor, actor.run.remote(job.model_dump_json(), inputs), inputs)
        self._runs[attempt] = run
        run.reader = asyncio.create_task(self._read(run))
        log.info("ray actor started", job_id=job.job_id, token=job.fencing_token)

    async def _join(self) -> None:
        """Join the cluster once; OSError when it cannot be reached (a failed start)."""
        # Probed on every start: `ray.init` itself waits minutes for a GCS that is not there,
        # and a cluster that went away should fail the start, not strand an actor.
        await asyncio.to_thread(_probe, self._address)
        async with self._joined:
            if ray.is_initialized():
                return
            try:
                await asyncio.to_thread(
                    ray.init,
                    address=self._address,
                    namespace=NAMESPACE,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except Exception as exc:  # Ray raises several types; to the dispatcher all alike
                raise OSError(f"could not join the Ray cluster at {self._address}: {exc}") from exc
            log.info("joined the ray cluster", address=self._address)

    async def _read(self, run: _Run) -> None:
        exited = Exited(EXIT_LOST, "the Ray actor's stream ended without an exit")
        try:
            async for ref in run.stream:
                item: Item = await ref
                if isinstance(item, Exit):
                    exited = Exited(item.returncode, item.stderr_tail)
                    break
                await self._take(run, item)
        except OSError as exc:  # the daemon's disk: the attempt cannot be trusted to finish
            exited = Exited(EXIT_LOST, f"could not write the worker's output here: {exc}")
            _kill_actor(run)
        except RayError as exc:
            exited = Exited(EXIT_LOST, f"the Ray actor is gone: {exc}")
            log.warning("ray actor lost", job_id=run.attempt.job_id, error=str(exc)[:300])
        finally:
            self._end(run, exited)

    async def _take(self, run: _Run, item: Item) -> None:
        match item:
            case Chunk():
                await asyncio.to_thread(_receive, run.partial, item)
            case Prune(folder=folder, keep=keep):
                await asyncio.to_thread(_prune, Path(folder), set(keep))
            case Line(text=text):
                try:
                    message = protocol.decode(text)
                except protocol.ProtocolError as exc:
                    self._broken(run, exc, text)
                    return
                self.events.put_nowait(WorkerEvent(run.attempt, message))

    def _broken(self, run: _Run, exc: protocol.ProtocolError, text: str) -> None:
        # Both ends come from one checkout, so a bad line is a bug: end the attempt, loudly.
        log.error("worker broke the protocol", job_id=run.attempt.job_id, line=text[:200])
        failure = protocol.Error(
            message=f"the worker broke the protocol: {exc}", error_type="ProtocolError"
        )
        self.events.put_nowait(WorkerEvent(run.attempt, failure))
        _kill_actor(run)

    def _end(self, run: _Run, exited: Exited) -> None:
        for handle in run.partial.values():
            with contextlib.suppress(OSError):
                handle.close()
                Path(handle.name).unlink()
        # The stream is over: the actor's slot is freed now rather than when Ray collects it.
        _kill_actor(run)
        self._runs.pop(run.attempt, None)
        run.ended.set()
        self.events.put_nowait(WorkerEvent(run.attempt, exited))
        log.info("ray actor ended", job_id=run.attempt.job_id, returncode=exited.returncode)

    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        run = self._runs.get(attempt)
        if run is None or run.stopper is not None:
            return
        with contextlib.suppress(RayError):
            run.actor.cancel.remote()
        run.stopper = asyncio.create_task(self._escalate(run, grace_seconds))

    async def _escalate(self, run: _Run, grace_seconds: float) -> None:
        for step, wait in (
            (None, grace_seconds),
            (lambda: ray.cancel(run.stream), CANCEL_GRACE_SECONDS),
            (lambda: _kill_actor(run), None),
        ):
            if run.ended.is_set():
                return
            if step is not None:
                with contextlib.suppress(RayError):
                    step()
            if wait is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.ended.wait(), wait)

    async def kill(self, attempt: Attempt) -> None:
        run = self._runs.get(attempt)
        if run is not None:
            _kill_actor(run)

    async def close(self) -> None:
        runs = list(self._runs.values())
        for run in runs:
            _kill_actor(run)
        tasks = [task for run in runs for task in (run.reader, run.stopper) if task is not None]
        for run in runs:
            if run.stopper is not None:
                run.stopper.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)


def _probe(address: str) -> None:
    """Raise OSError unless the cluster's GCS accepts a TCP connection."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=PROBE_SECONDS):
            return
    except ValueError:
        raise OSError(f"the Ray address {address!r} is not host:port") from None
    except OSError as exc:
        raise OSError(f"the Ray cluster at {address} is unreachable: {exc}") from exc


def _kill_actor(run: _Run) -> None:
    with contextlib.suppress(RayError, ValueError):
        ray.kill(run.actor, no_restart=True)


def _write_job_file(job: protocol.JobFile) -> None:
    attempt_dir = job.out_dir.parent
    attempt_dir.mkdir(parents=True, exist_ok=True)
    job.write(attempt_dir / f"attempt-{job.fencing_token}.json")


def _put_inputs(job: protocol.JobFile) -> Inputs:
    """The job file's input files in the object store (OSError when one is unreadable or the
    store refuses it)."""
    try:
        return _inputs(job)
    except RayError as exc:
        raise OSError(f"could not ship the job's inputs: {exc}") from exc


def _inputs(job: protocol.JobFile) -> Inputs:
    return Inputs(
        images=[ray.put(image.path.read_bytes()) for image in job.images],
        inputs={role: ray.put(path.read_bytes()) for role, path in job.inputs.items()},
        checkpoints={
            str(path.relative_to(job.checkpoint_dir)): ray.put(path.read_bytes())
            for path in _resumable_files(job.checkpoint_dir)
        },
    )


def _resumable_files(checkpoint_dir: Path) -> list[Path]:
    """The files of the complete resumable checkpoints (the worker resumes the newest);
    the kept outputs of earlier steps stay here, they are in blob storage already."""
    if not checkpoint_dir.is_dir():
        return []
    folders = [p for p in checkpoint_dir.iterdir() if (p / COMPLETE_MARKER).is_file()]
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def _receive(partial: dict[str, BinaryIO], chunk: Chunk) -> None:
    """Append a chunk to its file; the last one puts the file at its path in one rename."""
    handle = partial.get(chunk.path)
    if handle is None:
        final = Path(chunk.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        handle = partial[chunk.path] = (final.parent / f".{final.name}.ray-part").open("wb")
    handle.write(chunk.data)
    if chunk.last:
        handle.close()
        del partial[chunk.path]
        os.replace(handle.name, chunk.path)


def _prune(folder: Path, keep: set[str]) -> None:
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name in keep or path.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
