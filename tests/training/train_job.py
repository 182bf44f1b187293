"""A training job run as its own process by the resume test (not collected by pytest)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from core.training.progress import Progress
from core.training.spec import TrainingSpec
from core.training.trainer import TrainingImage, train


def main(images_dir: str, out: str, data_dir: str, checkpoint_dir: str, delay: str) -> None:
    """Train the resume-test spec; sleep `delay` seconds after each step to be killable."""
    images = [TrainingImage(p, "a red circle") for p in sorted(Path(images_dir).glob("*.png"))]
    spec = TrainingSpec(
        resolution=32, steps=16, batch_size=2, learning_rate=5e-3, rank=4, alpha=4.0,
        trigger_word="sks", checkpoint_interval=4, sample_steps=2, caption_dropout=0.2,
        noise_offset=0.05, snr_gamma=5.0, lr_scheduler="cosine", lr_warmup_steps=2,
    )  # fmt: skip

    def on_progress(progress: Progress) -> None:
        if progress.stage == "training":
            print(f"step {progress.step}", flush=True)
            time.sleep(float(delay))

    train(
        spec,
        images,
        Path(out),
        data_dir=Path(data_dir),
        checkpoint_dir=Path(checkpoint_dir),
        on_progress=on_progress,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
