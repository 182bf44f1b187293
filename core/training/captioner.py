"""Resolve (building the builtin on first use), load and run a BLIP captioner, offline."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from core.captioning.locations import (
    CONFIG_FILE,
    builtin_captioner_dir,
    check_captioner_location,
    is_captioner_folder,
)
from core.captioning.spec import CaptionSpec
from core.training.locations import is_builtin

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# transformers warns that torchvision is missing and that it uses the PIL image backend.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# On a CPU, a model this small spends more time waking torch's threads than computing (the
# tiny captioner: ~5x faster on one thread); real BLIP checkpoints have 200M+ parameters.
SMALL_MODEL_PARAMETERS = 10_000_000


class CaptioningCancelled(Exception):
    """Stopped between two images because a cancel was asked for; `step` images were done."""

    def __init__(self, step: int) -> None:
        super().__init__(f"cancelled after {step} images")
        self.step = step


def ensure_captioner(location: str, data_dir: Path) -> Path:
    """The local folder of a captioner; the builtin one is built on first use."""
    check_captioner_location(location)
    if not is_builtin(location):
        path = Path(location).expanduser()
        if not is_captioner_folder(path):
            raise FileNotFoundError(f"no BLIP captioner folder at {path}")
        return path
    target = builtin_captioner_dir(location, data_dir)
    if (target / CONFIG_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / CONFIG_FILE).is_file():
            return target  # another process built it while we waited
        from core.training.tiny_captioner import build_tiny_captioner

        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        build_tiny_captioner(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return target


@dataclass
class LoadedCaptioner:
    """A BLIP model and its processor, on a device, ready to caption."""

    model: Any
    processor: Any
    device: str
    dtype: Any

    def raw_caption(self, image_path: Path, spec: CaptionSpec) -> str:
        """The model's sentence for one image (beam search, never a special token)."""
        import torch
        from PIL import Image

        with Image.open(image_path) as opened:
            image = opened.convert("RGB")
        inputs = self.processor(images=image, return_tensors="pt").to(self.device, self.dtype)
        tokenizer = self.processor.tokenizer
        # Banned outright so the minimum length is made of words (the separator ends it).
        banned = [[i] for i in tokenizer.all_special_ids if i != tokenizer.sep_token_id]
        with torch.inference_mode():
            ids = self.model.generate(
                **inputs,
                max_new_tokens=spec.max_new_tokens,
                min_new_tokens=spec.min_new_tokens,
                num_beams=spec.num_beams,
                bad_words_ids=banned,
            )
        return str(self.processor.decode(ids[0], skip_special_tokens=True)).strip()


def load_captioner(path: Path) -> LoadedCaptioner:
    """Load a BLIP folder offline: on the GPU in fp16 when there is one, else fp32 on CPU."""
    import torch
    from transformers import BlipForConditionalGeneration, BlipProcessor
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    # The PIL image backend: torchvision (the other one) is not a dependency.
    processor = BlipProcessor.from_pretrained(path, local_files_only=True, backend="pil")
    model = BlipForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=dtype)
    if device == "cpu" and model.num_parameters() < SMALL_MODEL_PARAMETERS:
        torch.set_num_threads(1)  # the worker process is this captioner's alone
    return LoadedCaptioner(model.to(device).eval(), processor, device, dtype)


def caption_images(
    captioner: LoadedCaptioner,
    paths: list[Path],
    spec: CaptionSpec,
    *,
    on_caption: Callable[[int], None] = lambda done: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> list[str]:
    """The stored caption of each image, in order (`spec.finish` of the model's sentence).

    `on_caption(done)` follows each image; a cancel is honoured before each one
    (CaptioningCancelled).
    """
    captions: list[str] = []
    for path in paths:
        if should_cancel():
            raise CaptioningCancelled(len(captions))
        captions.append(spec.finish(captioner.raw_caption(path, spec)))
        on_caption(len(captions))
    return captions
