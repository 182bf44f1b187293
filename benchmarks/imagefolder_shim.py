"""The slice of Hugging Face `datasets` that diffusers' LoRA example touches, for the benchmark.

bench_trainer.py `--reference` swaps the script's `datasets` imports for this module, since
`datasets` is not a dependency of this project. It reads an
`imagefolder` (images plus `metadata.jsonl` with `file_name` and `text`) and applies a
`with_transform` function to a batch of one per item, as `datasets` does. It opens each image
with Pillow on every access and does no Arrow decoding, so it costs the reference script no
more than the real library would.
"""

from __future__ import annotations

import glob
import json
import logging as _logging
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from PIL import Image

__version__ = "0.0-shim"

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def _set_level(level: int) -> Callable[[], None]:
    return lambda: _logging.getLogger("datasets").setLevel(level)


utils = SimpleNamespace(
    logging=SimpleNamespace(
        set_verbosity_warning=_set_level(_logging.WARNING),
        set_verbosity_error=_set_level(_logging.ERROR),
    )
)


class Dataset:
    """Rows of an image folder: `image` (opened on access) and `text`."""

    def __init__(self, rows: list[dict[str, str]], transform: Callable | None = None) -> None:
        self.rows = rows
        self.transform = transform
        self.column_names = ["image", "text"]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        batch: dict[str, Any] = {"image": [Image.open(row["image"])], "text": [row["text"]]}
        if self.transform is not None:
            batch = self.transform(batch)
        return {key: value[0] for key, value in batch.items()}

    def with_transform(self, transform: Callable) -> Dataset:
        return Dataset(self.rows, transform)

    def shuffle(self, seed: int | None = None) -> Dataset:
        return self

    def select(self, indices: Any) -> Dataset:
        return Dataset([self.rows[i] for i in indices], self.transform)


def load_dataset(name: str, data_files: dict[str, str] | None = None, **_: Any) -> dict:
    """`load_dataset("imagefolder", data_files={"train": "<dir>/**"})`."""
    if name != "imagefolder" or not data_files:
        raise ValueError("the shim reads a local imagefolder only")
    folder = os.path.dirname(data_files["train"])
    captions: dict[str, str] = {}
    metadata = os.path.join(folder, "metadata.jsonl")
    if os.path.isfile(metadata):
        with open(metadata, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    entry = json.loads(line)
                    captions[entry["file_name"]] = entry["text"]
    paths = sorted(
        p for p in glob.glob(os.path.join(folder, "**"), recursive=True)
        if p.lower().endswith(_IMAGE_SUFFIXES)
    )  # fmt: skip
    rows = [{"image": p, "text": captions.get(os.path.basename(p), "")} for p in paths]
    return {"train": Dataset(rows)}
