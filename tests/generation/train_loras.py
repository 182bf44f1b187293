"""Train the LoRAs of the generation suites, as a process of its own (not collected by pytest).

`python -m tests.generation.train_loras DATA_DIR OUT_DIR`: two tiny SD-1.5 LoRAs on red
circles, `OUT_DIR/unet/` (UNet only) and `OUT_DIR/text/` (UNet and text encoder), each with
`pytorch_lora_weights.safetensors`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

from core.training.data import TrainingImage
from core.training.spec import TrainingSpec
from core.training.trainer import train


def circles(folder: Path) -> list[TrainingImage]:
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(4):
        image = Image.new("RGB", (32, 32), "white")
        ImageDraw.Draw(image).ellipse((4 + i, 4, 24 + i, 24), fill="red")
        image.save(folder / f"circle{i}.png")
        images.append(TrainingImage(folder / f"circle{i}.png", "a red circle"))
    return images


def main(data_dir: str, out_dir: str) -> None:
    images = circles(Path(out_dir) / "images")
    for name, text_encoder in (("unet", False), ("text", True)):
        spec = TrainingSpec(
            base_model="builtin:tiny-sd15", resolution=32, steps=30, batch_size=2,
            learning_rate=1e-2, rank=4, alpha=4.0, trigger_word="zqx", sample_steps=2,
            train_text_encoder=text_encoder, seed=len(name),
        )  # fmt: skip
        train(spec, images, Path(out_dir) / name, data_dir=Path(data_dir))


if __name__ == "__main__":
    main(*sys.argv[1:])
