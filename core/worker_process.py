"""The process discipline every worker shares: `python -m <module> JOB_FILE` (see
`core.worker_protocol` for the job file and the messages).

- Messages go out as JSON lines on a private copy of the original stdout (`Channel`); fd 1
  itself is pointed at stderr, so libraries that print cannot corrupt the protocol.
- The worker dies with the daemon: the kernel kills it when its parent goes (Linux), and EOF
  on stdin (the daemon is gone) exits it at once, so a restarted daemon starts a fresh attempt.
- A line `cancel` on stdin sets the cancel event; the kind's `run` checks it between units of
  work and answers `cancelled`.
- A heartbeat goes out every `heartbeat_seconds`, whatever the work is doing.
- Outputs written and every message flushed, the process skips the interpreter's teardown
  (seconds with torch loaded) so its slot frees at once.
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
from typing import IO

from core import worker_protocol as protocol

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ORPHANED = 70

# One attempt: the job, where to report, and the cancel event; returns the exit code.
RunAttempt = Callable[[protocol.JobFile, "Channel", threading.Event], int]


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


def private_stdout() -> IO[str]:
    """A private copy of fd 1 for the messages; fd 1 and `sys.stdout` go to stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def die_with_parent() -> None:
    """Linux: the kernel kills us when the daemon dies, even if stdin is inherited elsewhere."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def watch_stdin(cancel: threading.Event) -> None:
    """Set `cancel` on a `cancel` line; exit at once on EOF (the daemon is gone)."""
    for line in sys.stdin:
        if line.strip() == protocol.CANCEL_COMMAND:
            cancel.set()
    os._exit(EXIT_ORPHANED)


def heartbeat(channel: Channel, every: float) -> None:
    """Send a heartbeat every `every` seconds, forever (run it in a daemon thread)."""
    while True:
        time.sleep(every)
        channel.send(protocol.Heartbeat())


def error_of(exc: BaseException) -> protocol.Error:
    """The `error` message of a failure (the daemon decides about retries)."""
    return protocol.Error(message=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__)


def main(argv: list[str], *, module: str, run: RunAttempt) -> int:
    """The whole life of a cold worker process: read the job file, say hello, run one
    attempt with heartbeats and the stdin watch, exit without teardown."""
    if len(argv) != 1:
        print(f"usage: python -m {module} JOB_FILE", file=sys.stderr)
        return EXIT_USAGE
    channel = Channel(private_stdout())
    die_with_parent()
    cancel = threading.Event()
    threading.Thread(target=watch_stdin, args=(cancel,), daemon=True).start()
    try:
        job = protocol.JobFile.read(Path(argv[0]))
    except (OSError, protocol.ProtocolError) as exc:
        channel.send(
            protocol.Error(message=f"unreadable job file: {exc}", error_type="JobFileError")
        )
        return EXIT_ERROR
    channel.send(
        protocol.Hello(pid=os.getpid(), job_id=job.job_id, fencing_token=job.fencing_token)
    )
    beat = threading.Thread(target=heartbeat, args=(channel, job.heartbeat_seconds), daemon=True)
    beat.start()
    code = run(job, channel, cancel)
    sys.stderr.flush()
    os._exit(code)
