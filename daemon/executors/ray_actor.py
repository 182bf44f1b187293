"""The Ray actor of one cold attempt: the unchanged worker module as a subprocess on a GPU host,
and what every actor of the Ray executor shares (the stream's items, the files both ways).

`AttemptActor.run` is a Ray streaming generator (an async actor method that yields). It writes
the job's input files, shipped from the daemon as object refs, under a temporary job folder of
its own, rewrites the job file's paths to point there, starts the worker exactly as
`LocalExecutor` does (`python -m <module> JOB_FILE`) and relays every message line. Before a
message that names files the worker wrote (`checkpoint`, `result`), it sends those files in
`Chunk`s at the daemon's own paths, and the message follows with its paths rewritten to those:
the daemon then sees what a local worker would have left. `Exit` is always the last item. The
worker host needs neither the database nor blob storage, only the code and its own DATA_DIR
(base models, caches). Warm kinds run on `daemon.executors.ray_warm.WarmActor` instead.

This module is what the GPU hosts import: it loads Ray and the worker protocol, nothing of the
daemon's HTTP or database stack.
"""

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ray

from core import worker_protocol as protocol

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINE_LIMIT = 4 * 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024
STDERR_TAIL_BYTES = 2000
# A resumable checkpoint counts as complete once its meta.json exists
# (`core.training.checkpoint.latest_checkpoint`): it is sent last, so a folder received only
# in part is never resumed from.
COMPLETE_MARKER = "meta.json"


@dataclass(frozen=True)
class Chunk:
    """A piece of an output file at the daemon's path; `last` completes the file."""

    path: str
    data: bytes
    last: bool


@dataclass(frozen=True)
class Line:
    """One protocol message line of the worker, its paths rewritten to the daemon's."""

    text: str


@dataclass(frozen=True)
class Prune:
    """The daemon's copy of `folder` keeps only the entries named (the worker dropped the
    others, e.g. an older resumable checkpoint)."""

    folder: str
    keep: tuple[str, ...]


@dataclass(frozen=True)
class Exit:
    """The worker is done with the attempt (always the stream's last item); `idle`: a warm
    worker answered the attempt's final message and waits for the next one."""

    returncode: int
    stderr_tail: str = ""
    idle: bool = False


Item = Chunk | Line | Prune | Exit


@dataclass(frozen=True)
class Inputs:
    """The job file's input files as object refs: `images` in the job file's order, `inputs`
    by role, `checkpoints` by path relative to the checkpoint folder."""

    images: list[ray.ObjectRef]
    inputs: dict[str, ray.ObjectRef] = field(default_factory=dict)
    checkpoints: dict[str, ray.ObjectRef] = field(default_factory=dict)


@dataclass(frozen=True)
class Places:
    """The attempt's folders on the worker host and where each one lives on the daemon."""

    root: Path
    job: protocol.JobFile
    """The job file as the daemon wrote it (the daemon's paths)."""

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def log_path(self) -> Path:
        return self.root / "worker.log"

    def on_daemon(self, path: Path) -> Path | None:
        """The daemon's path of a file the worker wrote; None when it is outside its folders."""
        for local, remote in (
            (self.out_dir, self.job.out_dir),
            (self.checkpoint_dir, self.job.checkpoint_dir),
        ):
            if path.is_relative_to(local):
                return remote / path.relative_to(local)
        return None

    @property
    def daemon_log(self) -> Path:
        """Where `LocalExecutor` leaves a cold attempt's log, beside its job file."""
        return self.job.out_dir.parent / f"attempt-{self.job.fencing_token}.log"


class AttemptActor:
    """One cold attempt on a GPU host; an async actor, so `cancel` runs while `run` streams."""

    def __init__(self, data_dir: str | None) -> None:
        self._data_dir = worker_data_dir(data_dir)
        self._process: asyncio.subprocess.Process | None = None

    async def run(self, job_json: str, inputs: Inputs) -> AsyncIterator[Item]:
        """Run the attempt's worker and stream its messages and output files, `Exit` last."""
        job = protocol.JobFile.model_validate_json(job_json)
        places = Places(Path(tempfile.mkdtemp(prefix=f"lorabot-job-{job.job_id}-")), job)
        try:
            job_file = await materialize(places, inputs, self._data_dir)
            module = protocol.WORKER_MODULES[job.kind]
            self._process = process = await spawn_worker(module, [str(job_file)], places.log_path)
            assert process.stdout is not None
            while line := await process.stdout.readline():
                for item in relayed(places, line):
                    yield item
            code = await process.wait()
            for chunk in chunks(places.log_path, places.daemon_log):
                yield chunk
            yield Exit(code, tail(places.log_path))
        finally:
            # Stopped, cancelled or failed: the worker never outlives its attempt.
            await end_process(self._process)
            shutil.rmtree(places.root, ignore_errors=True)

    async def cancel(self) -> None:
        """Ask the worker to stop at its next step (the `cancel` line)."""
        await send_line(self._process, protocol.CANCEL_COMMAND)


def worker_data_dir(data_dir: str | None) -> Path:
    """The host's DATA_DIR for the workers (base models, caches)."""
    return Path(data_dir or Path(tempfile.gettempdir()) / "lorabot-worker")


async def materialize(places: Places, inputs: Inputs, data_dir: Path) -> Path:
    """Write the shipped inputs under the job folder; the job file that points at them."""
    job, folder = places.job, places.root / "inputs"
    images = []
    for index, (image, ref) in enumerate(zip(job.images, inputs.images, strict=True)):
        path = folder / "images" / f"{index:04d}-{image.path.name}"
        await _write(path, await ref)
        images.append(protocol.TrainingFile(path=path, caption=image.caption))
    roles = {}
    for role, ref in inputs.inputs.items():
        roles[role] = folder / f"{role}-{job.inputs[role].name}"
        await _write(roles[role], await ref)
    for relative, ref in inputs.checkpoints.items():
        await _write(places.checkpoint_dir / relative, await ref)
    places.out_dir.parent.mkdir(parents=True, exist_ok=True)
    local = job.model_copy(
        update={
            "images": images,
            "inputs": roles,
            "out_dir": places.out_dir,
            "checkpoint_dir": places.checkpoint_dir,
            "data_dir": data_dir,
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    path = places.root / f"attempt-{job.fencing_token}.json"
    local.write(path)
    return path


async def spawn_worker(module: str, args: list[str], log_path: Path) -> asyncio.subprocess.Process:
    """Start a worker module as `LocalExecutor` does, its stderr appended to `log_path`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=str(PROJECT_ROOT),
            limit=LINE_LIMIT,
        )


async def send_line(process: asyncio.subprocess.Process | None, line: str) -> bool:
    """Write one line on the worker's stdin; False when it can no longer read it."""
    if process is None or process.stdin is None or process.stdin.is_closing():
        return False
    if process.returncode is not None:
        return False
    try:
        process.stdin.write(f"{line}\n".encode())
        await process.stdin.drain()
    except (ConnectionError, RuntimeError):
        return False
    return True


async def end_process(process: asyncio.subprocess.Process | None) -> None:
    """Kill the worker if it still runs, and reap it."""
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def relayed(places: Places, line: bytes) -> Iterator[Item]:
    """What one worker line becomes on the stream: the files it names, then the line with its
    paths rewritten (a line that breaks the protocol goes as it came: the daemon reports it)."""
    try:
        message = protocol.decode(line)
    except protocol.ProtocolError:
        yield Line(line.decode("utf-8", "replace"))
        return
    yield from _shipped(places, message)
    yield Line(protocol.encode(_rewritten(places, message)))


def _shipped(places: Places, message: protocol.Message) -> Iterator[Item]:
    """The files a message names, at the daemon's paths, and what the daemon may drop."""
    match message:
        case protocol.Checkpoint():
            folder = Path(message.path)
            files = sorted(p for p in folder.rglob("*") if p.is_file())
            files.sort(key=lambda p: p.name == COMPLETE_MARKER)
            for path in [*files, *map(Path, message.files.values())]:
                yield from _chunks_of(places, path)
            if message.sample is not None:
                yield from _chunks_of(places, Path(message.sample))
            target = places.on_daemon(folder.parent)
            if target is not None:
                keep = tuple(p.name for p in folder.parent.iterdir() if not p.name.startswith("."))
                yield Prune(str(target), keep)
        case protocol.Result():
            for path in message.files.values():
                yield from _chunks_of(places, Path(path))
        case _:
            return


def _rewritten(places: Places, message: protocol.Message) -> protocol.Message:
    def moved(path: str) -> str:
        target = places.on_daemon(Path(path))
        return path if target is None else str(target)

    match message:
        case protocol.Checkpoint():
            return message.model_copy(
                update={
                    "path": moved(message.path),
                    "files": {role: moved(p) for role, p in message.files.items()},
                    "sample": None if message.sample is None else moved(message.sample),
                }
            )
        case protocol.Result():
            files = {role: moved(p) for role, p in message.files.items()}
            return message.model_copy(update={"files": files})
        case _:
            return message


def _chunks_of(places: Places, path: Path) -> Iterator[Chunk]:
    # A path outside the job's folders is not shipped: the daemon finds it missing, as it
    # would a file a local worker named and never wrote.
    target = places.on_daemon(path)
    if target is not None and path.is_file():
        yield from chunks(path, target)


def chunks(path: Path, target: Path) -> Iterator[Chunk]:
    """The file at `path` as chunks addressed to `target`."""
    with path.open("rb") as handle:
        data = handle.read(CHUNK_BYTES)
        while True:
            following = handle.read(CHUNK_BYTES)
            yield Chunk(str(target), data, last=not following)
            if not following:
                return
            data = following


async def _write(path: Path, data: bytes) -> None:
    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    await asyncio.to_thread(write)


def tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - STDERR_TAIL_BYTES, 0))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
