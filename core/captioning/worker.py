"""The caption worker process: `python -m core.captioning.worker JOB_FILE`.

It reads one attempt from its job file (kind `caption`: the images to caption and a
`CaptionSpec`), loads the captioner (building the builtin one on first use), captions the
images one by one and writes `captions.json` (`core.captioning.results`) to the attempt's
`out_dir`. Progress counts images (`stage` training, `step` = images done); a cancel is
honoured between two images. It shares the process discipline of every worker
(`core.worker_process`) and never opens the database. A retried attempt starts over: the
images are few and each takes well under a second.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from core import worker_protocol as protocol
from core.captioning.results import write_captions
from core.captioning.spec import CaptionSpec
from core.worker_process import EXIT_ERROR, Channel, error_of
from core.worker_process import main as worker_main


class _ImageProgress:
    """Reports each captioned image, with the rate and ETA since captioning began."""

    def __init__(self, channel: Channel, total: int) -> None:
        self.channel, self.total = channel, total
        self.started = time.monotonic()

    def __call__(self, done: int) -> None:
        rate = done / max(time.monotonic() - self.started, 1e-6)
        self.channel.send(
            protocol.Progress(
                stage="training",
                step=done,
                total_steps=self.total,
                steps_per_second=round(rate, 3),
                eta_seconds=round((self.total - done) / rate, 1),
                message=f"captioned {done} of {self.total} images",
            )
        )

    def seconds(self) -> float:
        return time.monotonic() - self.started


def run(job: protocol.JobFile, channel: Channel, cancel: threading.Event) -> int:
    """Caption one attempt's images and report the outcome; the exit code of the process."""
    from core.training.captioner import (
        CaptioningCancelled,
        caption_images,
        ensure_captioner,
        load_captioner,
    )

    began = time.monotonic()
    total = len(job.images)
    paths = [image.path for image in job.images]
    try:
        spec = CaptionSpec.from_dict(job.spec)
        loading = "loading the captioner"
        channel.send(protocol.Progress(stage="preparing", total_steps=total, message=loading))
        captioner = load_captioner(ensure_captioner(spec.captioner, job.data_dir))
        progress = _ImageProgress(channel, total)
        captions = caption_images(
            captioner, paths, spec, on_caption=progress, should_cancel=cancel.is_set
        )
        per_image = progress.seconds() / max(total, 1)
        channel.send(
            protocol.Progress(
                stage="finishing", step=total, total_steps=total, message="writing the captions"
            )
        )
        written = write_captions(job.out_dir, paths, captions)
    except CaptioningCancelled as stop:
        channel.send(protocol.Cancelled(step=stop.step))
        return 0
    except Exception as exc:  # every failure is reported; the daemon decides about retries
        channel.send(error_of(exc))
        return EXIT_ERROR
    channel.send(
        protocol.Result(
            files={"captions": str(written)},
            final_loss=None,
            steps=total,
            seconds=round(time.monotonic() - began, 3),
            stats={
                "pid": os.getpid(),
                "images": total,
                "device": captioner.device,
                "seconds_per_image": round(per_image, 4),
            },
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process (`core.worker_process` runs it)."""
    args = sys.argv[1:] if argv is None else argv
    return worker_main(args, module="core.captioning.worker", run=run)


if __name__ == "__main__":
    sys.exit(main())
