"""The warm actor of a GPU host: one generation worker in `--serve` mode, kept between attempts.

A `WarmActor` holds its unit of the resource for as long as the executor keeps it: the worker
(`python -m <module> --serve IDLE_SECONDS`, as `LocalExecutor` starts a warm kind) keeps its
pipeline loaded, so a next attempt with the same `warm_key` loads nothing. `run` streams one
attempt like `AttemptActor.run` does — the inputs written under a folder of the attempt, a
`run JOB_FILE` line, the messages relayed with the files they name — and ends with
`Exit(0, idle=True)` right after the attempt's final message, the worker still up. A worker
that dies mid-attempt ends it with its exit code (`idle` false), and an attempt that ends
otherwise (cancelled by Ray, failed here) kills the worker with its pipeline: it never serves
on after an attempt it did not finish. The next `run` on a worker that is gone starts a new
one. The worker's stderr is one log for the actor's life; each attempt's part of it goes to
the daemon beside that attempt's job file.
"""

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from core import worker_protocol as protocol
from daemon.executors.ray_actor import (
    Chunk,
    Exit,
    Inputs,
    Item,
    Places,
    end_process,
    materialize,
    relayed,
    send_line,
    spawn_worker,
    tail,
    worker_data_dir,
)

FINAL_MESSAGES = (protocol.Result, protocol.Error, protocol.Cancelled)
EOF_LINE = b""


class WarmActor:
    """A warm worker of one module on a GPU host; async, so `cancel` runs while `run` streams."""

    def __init__(self, data_dir: str | None, module: str, idle_seconds: float) -> None:
        self._data_dir = worker_data_dir(data_dir)
        self._module = module
        self._idle_seconds = idle_seconds
        self._root = Path(tempfile.mkdtemp(prefix="lorabot-warm-"))
        self._log_path = self._root / "worker.log"
        self._process: asyncio.subprocess.Process | None = None
        self._lines: asyncio.Queue[bytes] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def ping(self) -> int:
        """The worker's pid, or 0 when none runs (the executor's check before reusing it)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else 0

    async def run(self, job_json: str, inputs: Inputs) -> AsyncIterator[Item]:
        """Run one attempt on the warm worker; its messages and files, `Exit` last."""
        job = protocol.JobFile.model_validate_json(job_json)
        places = Places(Path(tempfile.mkdtemp(prefix=f"job-{job.job_id}-", dir=self._root)), job)
        logged = _size(self._log_path)
        finished = False
        try:
            job_file = await materialize(places, inputs, self._data_dir)
            process = await self._serving()
            _drain(self._lines)  # the heartbeats of its idle time
            if not await send_line(process, f"{protocol.RUN_COMMAND} {job_file}"):
                await process.wait()
            while line := await self._lines.get():
                for item in relayed(places, line):
                    yield item
                finished = _is_final(line)
                if finished:
                    break
            for chunk in self._log_since(logged, places):
                yield chunk
            if finished:
                yield Exit(0, idle=True)
            else:
                yield Exit(await process.wait(), tail(self._log_path))
        finally:
            if not finished:
                await end_process(self._process)
            shutil.rmtree(places.root, ignore_errors=True)

    async def cancel(self) -> None:
        """Ask the worker to stop the current attempt at its next step (the `cancel` line)."""
        await send_line(self._process, protocol.CANCEL_COMMAND)

    async def _serving(self) -> asyncio.subprocess.Process:
        """The warm worker, started now if none runs (first attempt, or it died or idled out)."""
        process = self._process
        if process is not None and process.returncode is None:
            return process
        if self._reader is not None:
            await self._reader
        args = [protocol.SERVE_FLAG, f"{self._idle_seconds:g}"]
        self._process = process = await spawn_worker(self._module, args, self._log_path)
        self._lines = asyncio.Queue()
        self._reader = asyncio.create_task(_read(process, self._lines))
        return process

    def _log_since(self, offset: int, places: Places) -> list[Chunk]:
        """The attempt's part of the worker's log, for the daemon's `attempt-N.log`."""
        with contextlib.suppress(OSError), self._log_path.open("rb") as handle:
            handle.seek(offset)
            return [Chunk(str(places.daemon_log), handle.read(), last=True)]
        return []


async def _read(process: asyncio.subprocess.Process, lines: asyncio.Queue[bytes]) -> None:
    """Every stdout line of the worker onto `lines`, then `EOF_LINE` once it has exited."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        lines.put_nowait(line)
    await process.wait()
    lines.put_nowait(EOF_LINE)


def _drain(lines: asyncio.Queue[bytes]) -> None:
    """Drop what is queued except the end of the worker (the next `get` must see it)."""
    while not lines.empty():
        if lines.get_nowait() == EOF_LINE:
            lines.put_nowait(EOF_LINE)
            return


def _is_final(line: bytes) -> bool:
    try:
        return isinstance(protocol.decode(line), FINAL_MESSAGES)
    except protocol.ProtocolError:
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
