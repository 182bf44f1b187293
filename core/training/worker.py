"""The training worker process: `python -m core.training.worker JOB_FILE`.

It reads one attempt from its job file, runs `core.training.trainer.train` and reports to the
daemon as JSON lines on its stdout (the only thing written there: stray prints of libraries
go to stderr). It never opens the database. The job file and the messages are defined, with
their writers and readers, in `core.worker_protocol`; the process discipline it shares with
the other kinds' workers (private stdout, heartbeats, dying with the daemon) in
`core.worker_process`.

A line `cancel` on stdin asks it to stop at the next step. EOF on stdin means the daemon is
gone: the worker exits at once so a restarted daemon can start a fresh attempt, resuming
from the checkpoint (which is written atomically, so dying mid-write is harmless).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from core import worker_protocol as protocol
from core.worker_process import EXIT_ERROR, Channel, error_of
from core.worker_process import main as worker_main

if TYPE_CHECKING:
    from core.training.saved_steps import SavedStep


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
        channel.send(error_of(exc))
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
    """Entry point of the worker process (`core.worker_process` runs it)."""
    args = sys.argv[1:] if argv is None else argv
    return worker_main(args, module="core.training.worker", run=run)


if __name__ == "__main__":
    sys.exit(main())
