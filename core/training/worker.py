"""The training worker process: `python -m core.training.worker JOB_FILE`.

It reads one attempt from its job file, runs `core.training.trainer.train` and reports to the
daemon as JSON lines on its stdout (the only thing written there: stray prints of libraries
go to stderr). It never opens the database. The job file and the messages are defined, with
their writers and readers, in `core.worker_protocol`.

A line `cancel` on stdin asks it to stop at the next step. EOF on stdin means the daemon is
gone: the worker exits at once so a restarted daemon can start a fresh attempt, resuming
from the checkpoint (which is written atomically, so dying mid-write is harmless).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core import worker_protocol as protocol

if TYPE_CHECKING:
    from core.training.saved_steps import SavedStep

EXIT_ERROR = 1
EXIT_ORPHANED = 70


class Channel:
    """Thread-safe writer of protocol messages on a private copy of the original stdout."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: protocol.Message) -> None:
        """Write one message and flush it."""
        line = protocol.encode(message)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _private_stdout() -> IO[str]:
    # Keep fd 1 for our messages only: libraries that print would corrupt the protocol.
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def _die_with_parent() -> None:
    # Linux: the kernel kills us when the daemon dies, even if stdin is inherited elsewhere.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _watch_stdin(cancel: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == protocol.CANCEL_COMMAND:
            cancel.set()
    os._exit(EXIT_ORPHANED)  # EOF: the daemon is gone


def _heartbeat(channel: Channel, every: float) -> None:
    while True:
        time.sleep(every)
        channel.send(protocol.Heartbeat())


def _checkpoint_sender(channel: Channel) -> Callable[[SavedStep], None]:
    def send(saved: SavedStep) -> None:
        channel.send(
            protocol.Checkpoint(
                step=saved.step,
                path=str(saved.checkpoint),
                files={role: str(path) for role, path in saved.files.items()},
                sample=str(saved.sample),
            )
        )

    return send


def run(job: protocol.JobFile, channel: Channel, cancel: threading.Event) -> int:
    """Train one attempt and report its outcome; the exit code of the process."""
    from core.training.data import TrainingImage
    from core.training.progress import TrainingCancelled
    from core.training.spec import TrainingSpec
    from core.training.trainer import train

    images = [TrainingImage(image.path, image.caption) for image in job.images]
    try:
        result = train(
            TrainingSpec.from_dict(job.spec),
            images,
            job.out_dir,
            data_dir=job.data_dir,
            checkpoint_dir=job.checkpoint_dir,
            on_progress=channel.send,
            should_cancel=cancel.is_set,
            on_checkpoint=_checkpoint_sender(channel),
        )
    except TrainingCancelled as stop:
        channel.send(protocol.Cancelled(step=stop.step))
        return 0
    except Exception as exc:  # every failure is reported; the daemon decides about retries
        channel.send(
            protocol.Error(message=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__)
        )
        return EXIT_ERROR
    channel.send(
        protocol.Result(
            files={name: str(path) for name, path in result.files.items()},
            final_loss=result.final_loss,
            steps=result.steps,
            seconds=result.seconds,
            stats=result.stats,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m core.training.worker JOB_FILE", file=sys.stderr)
        return 2
    channel = Channel(_private_stdout())
    _die_with_parent()
    cancel = threading.Event()
    threading.Thread(target=_watch_stdin, args=(cancel,), daemon=True).start()
    try:
        job = protocol.JobFile.read(Path(args[0]))
    except (OSError, protocol.ProtocolError) as exc:
        channel.send(
            protocol.Error(message=f"unreadable job file: {exc}", error_type="JobFileError")
        )
        return EXIT_ERROR
    channel.send(
        protocol.Hello(pid=os.getpid(), job_id=job.job_id, fencing_token=job.fencing_token)
    )
    beat = threading.Thread(target=_heartbeat, args=(channel, job.heartbeat_seconds), daemon=True)
    beat.start()
    code = run(job, channel, cancel)
    # Outputs are written and every message flushed: skip the interpreter's teardown (seconds
    # with torch loaded) so the slot frees at once.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
