"""The generation worker process: `python -m core.generation.worker --serve IDLE_SECONDS`.

A warm worker (see `core.worker_protocol`): it takes one job file per stdin line
`run JOB_FILE`, says `hello` for each, renders it (`core.training.generation`) with a
`progress` line per denoising step, and answers `result`, `cancelled` or `error`; then it
waits for the next line. It keeps one pipeline loaded, that of the last job's `warm_key`
(the base model), so the next job for that base model loads nothing; a job for another base
model replaces it. A line `cancel` stops the latest job at its next step. It exits after
IDLE_SECONDS without a job, and at once on EOF (the daemon is gone).

torch and diffusers load with the first job, after its `hello`.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core import worker_protocol as protocol
from core.generation.cancel import GenerationCancelled
from core.generation.spec import GenerationSpec
from core.worker_process import (
    EXIT_ORPHANED,
    Channel,
    die_with_parent,
    error_of,
    heartbeat,
    private_stdout,
)

USAGE = f"usage: python -m core.generation.worker {protocol.SERVE_FLAG} IDLE_SECONDS"


@dataclass
class Order:
    """One `run` line: a job file, and the cancel of that job."""

    path: Path
    cancel: threading.Event = field(default_factory=threading.Event)


class Inbox:
    """The daemon's lines on stdin: `run JOB_FILE` queues a job, `cancel` stops the latest."""

    def __init__(self) -> None:
        self.orders: queue.Queue[Order] = queue.Queue()
        self._latest: Order | None = None

    def read(self, stream: IO[str]) -> None:
        """Read lines until EOF, then end the process (the daemon is gone)."""
        for line in stream:
            command, _, argument = line.strip().partition(" ")
            if command == protocol.RUN_COMMAND and argument:
                self._latest = Order(Path(argument))
                self.orders.put(self._latest)
            elif command == protocol.CANCEL_COMMAND:
                # A cancel names no job: it is for the latest one handed over, even queued.
                if self._latest is not None:
                    self._latest.cancel.set()
            else:
                print(f"unknown command on stdin: {line.strip()[:100]!r}", file=sys.stderr)
        os._exit(EXIT_ORPHANED)


class Pipelines:
    """The one pipeline this process keeps, by warm key, and how many it has loaded."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.pipe: Any = None
        self.loads = 0

    def get(self, job: protocol.JobFile, spec: GenerationSpec) -> tuple[Any, bool]:
        """The pipeline of the job's warm key, and whether it was loaded already."""
        if self.pipe is not None and job.warm_key is not None and job.warm_key == self.key:
            return self.pipe, True
        self.pipe = self.key = None
        from core.training.generation import free_memory, load_base

        free_memory()

        self.pipe = load_base(spec, job.data_dir)
        self.key = job.warm_key
        self.loads += 1
        return self.pipe, False


class _Reporter:
    """Progress lines: one per denoising step over all images, with rate and ETA."""

    def __init__(self, channel: Channel, total: int) -> None:
        self._channel, self._total = channel, total
        self._started = time.monotonic()

    def __call__(self, done: int) -> None:
        rate = done / max(time.monotonic() - self._started, 1e-6)
        self._channel.send(
            protocol.Progress(
                stage="training",
                step=done,
                total_steps=self._total,
                steps_per_second=round(rate, 3),
                eta_seconds=round((self._total - done) / rate, 1),
                message="denoising",
            )
        )


def run(
    job: protocol.JobFile,
    channel: Channel,
    cancel: threading.Event,
    pipelines: Pipelines,
    jobs_in_process: int,
) -> None:
    """Render one attempt and report its outcome; the process stays up whatever happens."""
    started = time.monotonic()
    try:
        spec = GenerationSpec.from_dict(job.spec)
        lora = job.inputs["lora"]
        if cancel.is_set():
            channel.send(protocol.Cancelled(step=0))
            return
        channel.send(
            protocol.Progress(
                stage="preparing", total_steps=spec.total_steps, message="loading the model"
            )
        )
        pipe, warm = pipelines.get(job, spec)
        from core.training.generation import generate

        rendered = generate(
            pipe,
            spec,
            lora,
            job.out_dir,
            on_step=_Reporter(channel, spec.total_steps),
            should_cancel=cancel.is_set,
        )
    except GenerationCancelled as stop:
        channel.send(protocol.Cancelled(step=stop.step))
        return
    except Exception as exc:  # every failure is reported; the daemon decides about retries
        channel.send(error_of(exc))
        return
    stats = {
        "pid": os.getpid(),
        "pipeline_loads": pipelines.loads,
        "jobs_in_process": jobs_in_process,
        "warm": warm,
    }
    channel.send(
        protocol.Result(
            files={role: str(path) for role, path in rendered.files.items()},
            final_loss=None,
            steps=rendered.steps,
            seconds=round(time.monotonic() - started, 3),
            stats=stats,
        )
    )


def serve(channel: Channel, inbox: Inbox, idle_seconds: float) -> None:
    """Take jobs until none came for `idle_seconds`."""
    pipelines = Pipelines()
    jobs = 0
    beating = False
    while True:
        try:
            order = inbox.orders.get(timeout=idle_seconds)
        except queue.Empty:
            return
        try:
            job = protocol.JobFile.read(order.path)
        except (OSError, protocol.ProtocolError) as exc:
            channel.send(
                protocol.Error(message=f"unreadable job file: {exc}", error_type="JobFileError")
            )
            continue
        if not beating:
            beat = threading.Thread(
                target=heartbeat, args=(channel, job.heartbeat_seconds), daemon=True
            )
            beat.start()
            beating = True
        channel.send(
            protocol.Hello(pid=os.getpid(), job_id=job.job_id, fencing_token=job.fencing_token)
        )
        jobs += 1
        run(job, channel, order.cancel, pipelines, jobs)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) != 2 or args[0] != protocol.SERVE_FLAG:
            raise ValueError
        idle_seconds = float(args[1])
    except ValueError:
        print(USAGE, file=sys.stderr)
        return 2
    channel = Channel(private_stdout())
    die_with_parent()
    inbox = Inbox()
    threading.Thread(target=inbox.read, args=(sys.stdin,), daemon=True).start()
    serve(channel, inbox, idle_seconds)
    # Every message is flushed: skip the interpreter's teardown (seconds with torch loaded).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
