"""`RayExecutor`: attempts run in Ray actors on the GPU hosts of a Ray cluster.

The daemon joins the cluster as a driver (`ray.init(address=...)`, not Ray Client, which cannot
stream generators) from a node that offers none of the resource attempts ask for. Every actor
asks one unit of `resource`, with Ray's own restarts and retries off: every retry goes through
the lifecycle and its fencing tokens. The job file's input files go to the actor as object
refs (`daemon.executors.ray_files`); the actor's stream brings back the worker's messages and,
before each message that names them, the files it wrote, which are written here at the paths
the job file gave. The dispatcher sees the same events as from `LocalExecutor`, `Exited` last.

A cold kind (training, captioning) gets an `AttemptActor` of its own, killed when its attempt
ends. A warm kind (`protocol.WARM_KINDS`: generations) runs on a `WarmActor`, kept as
`LocalExecutor` keeps a warm process: an attempt goes to an idle warm actor holding the same
`warm_key`, else to a new one; an idle warm actor keeps its unit until a start needs the slot
(it is killed then) or until it has been idle for `warm_idle_seconds`. Its attempt ends with
`Exited(0)` right after the final message; a stop that the worker does not answer, or a kill,
ends the actor with its pipeline.

Actors belong to this driver: when the daemon dies, Ray kills them, and their workers die with
them (`core.worker_process.die_with_parent`).
"""

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ray
import structlog
from ray.exceptions import RayError

from core import worker_protocol as protocol
from core.lifecycle import Attempt
from daemon.executors.base import Executor, Exited, WorkerEvent, attempt_of_job_file
from daemon.executors.ray_actor import AttemptActor, Chunk, Exit, Inputs, Item, Line, Prune
from daemon.executors.ray_files import discard, prune, put_inputs, receive, write_job_file
from daemon.executors.ray_warm import WarmActor

log = structlog.get_logger(__name__)

PROBE_SECONDS = 3.0
PING_SECONDS = 5.0
"""How long an idle warm actor may take to answer before it is given up for a new one."""
CANCEL_GRACE_SECONDS = 5.0
"""After the grace of a stop: Ray cancels the actor's task (its `finally` kills the worker);
this long after that the executor kills the actor itself."""
EXIT_LOST = -1
"""The returncode of an attempt whose actor died or whose host left the cluster."""
NAMESPACE = "lorabot"
DEFAULT_WARM_IDLE_SECONDS = 300.0


@dataclass
class _Actor:
    """An actor holding one unit: cold (one attempt), or warm with its (module, warm_key)."""

    handle: Any
    warm_key: tuple[str, str | None] | None = None
    idle_since: float = 0.0
    retire: asyncio.Task[None] | None = None
    """While idle: its end after `warm_idle_seconds`."""


@dataclass
class _Run:
    """One attempt on its actor."""

    attempt: Attempt
    actor: _Actor
    stream: Any
    inputs: Inputs
    """Held until the attempt ends: the actor may fetch the objects any time before."""
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    stopper: asyncio.Task[None] | None = None
    forced: bool = False
    """Stopped past the cancel line, or killed: the actor is not kept."""
    partial: dict[str, BinaryIO] = field(default_factory=dict)
    """Output files being received, by their final path (written under a hidden name)."""


class RayExecutor(Executor):
    """Attempts on Ray actors, `slots` at once, each actor asking one unit of `resource`."""

    def __init__(
        self,
        *,
        address: str,
        resource: str,
        slots: int,
        worker_data_dir: Path | None = None,
        warm_idle_seconds: float = DEFAULT_WARM_IDLE_SECONDS,
    ) -> None:
        super().__init__()
        if slots < 1:
            raise ValueError("a Ray executor needs at least one slot")
        self._address = address
        self._slots = slots
        self._worker_data_dir = None if worker_data_dir is None else str(worker_data_dir)
        self._idle_seconds = warm_idle_seconds
        # Not handed work this close to its own idle end: the attempt could cross it.
        self._reuse_before = warm_idle_seconds - max(1.0, warm_idle_seconds / 10)
        self._runs: dict[Attempt, _Run] = {}
        self._idle: list[_Actor] = []
        self._joined = asyncio.Lock()
        # Ray's retries off: a lost attempt is the lifecycle's to retry, under a new token.
        options: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_task_retries": 0}
        if resource == "GPU":
            options["num_gpus"] = 1  # Ray sets CUDA_VISIBLE_DEVICES for the actor then
        else:
            options["resources"] = {resource: 1}
        self._cold_class = ray.remote(AttemptActor).options(**options)
        self._warm_class = ray.remote(WarmActor).options(**options)

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
        await asyncio.to_thread(write_job_file, job)
        inputs = await asyncio.to_thread(put_inputs, job)
        actor = await self._actor_for(job)
        stream = actor.handle.run.remote(job.model_dump_json(), inputs)
        run = _Run(attempt, actor, stream, inputs)
        self._runs[attempt] = run
        run.reader = asyncio.create_task(self._read(run))
        log.info(
            "ray attempt started",
            job_id=job.job_id,
            token=job.fencing_token,
            warm=actor.warm_key is not None,
        )

    async def _actor_for(self, job: protocol.JobFile) -> _Actor:
        """An idle warm actor of the job's warm key, else a new actor in a slot made free."""
        if job.kind not in protocol.WARM_KINDS:
            self._make_room()
            return _Actor(self._cold_class.remote(self._worker_data_dir))
        key = (protocol.WORKER_MODULES[job.kind], job.warm_key)
        idle = await self._idle_warm(key)
        if idle is not None:
            log.info("warm ray actor reused", job_id=job.job_id)
            return idle
        self._make_room()
        handle = self._warm_class.remote(self._worker_data_dir, key[0], self._idle_seconds)
        return _Actor(handle, key)

    async def _idle_warm(self, key: tuple[str, str | None]) -> _Actor | None:
        now = time.monotonic()
        for actor in list(self._idle):
            if now - actor.idle_since > self._reuse_before:
                self._evict(actor, "near its idle end")
            elif actor.warm_key == key:
                self._evict(actor, "", keep=True)
                try:
                    await asyncio.wait_for(actor.handle.ping.remote(), PING_SECONDS)
                except (RayError, TimeoutError):
                    # Its host left, or Ray does not answer: a new actor, not a lost attempt.
                    self._evict(actor, "it does not answer")
                    continue
                return actor
        return None

    def _make_room(self) -> None:
        """Kill the longest-idle warm actor when every slot is held."""
        if self._idle and len(self._runs) + len(self._idle) >= self._slots:
            self._evict(min(self._idle, key=lambda actor: actor.idle_since), "its slot is needed")

    def _evict(self, actor: _Actor, why: str, *, keep: bool = False) -> None:
        """Take the actor off the idle list; kill it unless it is to be `keep`t (reused)."""
        if actor in self._idle:
            self._idle.remove(actor)
        if actor.retire is not None:
            actor.retire.cancel()
            actor.retire = None
        if not keep:
            log.info("warm ray actor evicted", why=why)
            _kill(actor)

    async def _retire(self, actor: _Actor) -> None:
        await asyncio.sleep(self._idle_seconds)
        actor.retire = None
        self._evict(actor, "idle")

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
        exited, idle = Exited(EXIT_LOST, "the Ray actor's stream ended without an exit"), False
        try:
            async for ref in run.stream:
                item: Item = await ref
                if isinstance(item, Exit):
                    exited, idle = Exited(item.returncode, item.stderr_tail), item.idle
                    break
                await self._take(run, item)
        except OSError as exc:  # the daemon's disk: the attempt cannot be trusted to finish
            exited = Exited(EXIT_LOST, f"could not write the worker's output here: {exc}")
            run.forced = True
        except RayError as exc:
            exited = Exited(EXIT_LOST, f"the Ray actor is gone: {exc}")
            log.warning("ray actor lost", job_id=run.attempt.job_id, error=str(exc)[:300])
        finally:
            self._end(run, exited, idle=idle)

    async def _take(self, run: _Run, item: Item) -> None:
        match item:
            case Chunk():
                await asyncio.to_thread(receive, run.partial, item)
            case Prune(folder=folder, keep=keep):
                await asyncio.to_thread(prune, Path(folder), set(keep))
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
        run.forced = True
        _kill(run.actor)

    def _end(self, run: _Run, exited: Exited, *, idle: bool) -> None:
        discard(run.partial)
        actor = run.actor
        if idle and actor.warm_key is not None and not run.forced:
            # The attempt is over; for the dispatcher that is what a cold exit says.
            actor.idle_since = time.monotonic()
            actor.retire = asyncio.create_task(self._retire(actor))
            self._idle.append(actor)
        else:
            # The stream is over: the actor's slot is freed now rather than when Ray collects it.
            _kill(actor)
        self._runs.pop(run.attempt, None)
        run.ended.set()
        self.events.put_nowait(WorkerEvent(run.attempt, exited))
        log.info("ray attempt ended", job_id=run.attempt.job_id, returncode=exited.returncode)

    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        run = self._runs.get(attempt)
        if run is None or run.stopper is not None:
            return
        with contextlib.suppress(RayError):
            run.actor.handle.cancel.remote()
        run.stopper = asyncio.create_task(self._escalate(run, grace_seconds))

    async def _escalate(self, run: _Run, grace_seconds: float) -> None:
        # A warm worker that does not answer the cancel is killed with its pipeline.
        for step, wait in (
            (None, grace_seconds),
            (lambda: ray.cancel(run.stream), CANCEL_GRACE_SECONDS),
            (lambda: _kill(run.actor), None),
        ):
            if run.ended.is_set():
                return
            if step is not None:
                run.forced = True
                with contextlib.suppress(RayError):
                    step()
            if wait is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.ended.wait(), wait)

    async def kill(self, attempt: Attempt) -> None:
        run = self._runs.get(attempt)
        if run is not None:
            run.forced = True
            _kill(run.actor)

    async def close(self) -> None:
        for actor in list(self._idle):
            self._evict(actor, "the daemon is stopping")
        runs = list(self._runs.values())
        for run in runs:
            run.forced = True
            _kill(run.actor)
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


def _kill(actor: _Actor) -> None:
    with contextlib.suppress(RayError, ValueError):
        ray.kill(actor.handle, no_restart=True)
