"""Render a generation on a loaded pipeline: the LoRA in for one job, the images, a sheet.

diffusers 0.42 behaviour this relies on (read in `diffusers/loaders/lora_base.py` and
`peft.py`, and checked by tests/generation/test_render.py):
- `unload_lora_weights()` swaps every peft layer back for its base layer in the UNet and the
  text encoders and drops their `peft_config`: the pipeline renders exactly as before the
  LoRA was loaded, so a warm pipeline never carries one job's LoRA into the next. It is safe
  on a pipeline without adapters, and also clears a load that failed half-way.
- `set_adapters(name, adapter_weights=[w])` scales the adapter, but it does not re-enable
  layers that `disable_lora()` turned off: strength 0 disables the adapters, and any other
  strength enables them again before setting the weight.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from core.generation.cancel import GenerationCancelled
from core.generation.sheet import strength_sheet
from core.generation.spec import SHEET_ROLE, GenerationSpec, image_role
from core.training.base_models import ensure_base_model, load_pipeline

ADAPTER = "lora"


@dataclass
class Rendered:
    """What a generation wrote: `image-<i>` (and `sheet`) by role, and the steps it ran."""

    files: dict[str, Path]
    steps: int


def free_memory() -> None:
    """Give back what a dropped pipeline held (the GPU cache too)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_base(spec: GenerationSpec, data_dir: Path) -> Any:
    """The spec's base model as an inference pipeline: fp16 on CUDA, fp32 on a CPU."""
    path = ensure_base_model(spec.base_model, data_dir)
    pipe = load_pipeline(path, spec.family, spec.base_model_config)
    if torch.cuda.is_available():
        # The SDXL pipeline upcasts its VAE itself where fp16 would overflow (force_upcast);
        # FLUX.1 runs in bf16, as Black Forest Labs ship it (its activations overflow fp16).
        pipe.to("cuda", torch.bfloat16 if spec.family == "flux" else torch.float16)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@contextmanager
def lora_loaded(pipe: Any, path: Path) -> Iterator[None]:
    """The LoRA file as the pipeline's only adapter for the block, removed after it."""
    pipe.unload_lora_weights()  # whatever an earlier job left, even half a failed load
    try:
        pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=ADAPTER)
        yield
    finally:
        pipe.unload_lora_weights()


def set_strength(pipe: Any, weight: float) -> None:
    """Render the next images with the LoRA at `weight` (0: the base model alone)."""
    if weight == 0:
        pipe.disable_lora()
        return
    pipe.enable_lora()
    pipe.set_adapters(ADAPTER, adapter_weights=[weight])


class _StepCounter:
    """The pipelines' `callback_on_step_end`: counts steps over all images, stops on cancel."""

    def __init__(self, on_step: Callable[[int], None], should_cancel: Callable[[], bool]):
        self.done = 0
        self._on_step, self._should_cancel = on_step, should_cancel

    def check(self) -> None:
        if self._should_cancel():
            raise GenerationCancelled(self.done)

    def __call__(self, pipe: Any, index: int, timestep: Any, tensors: dict) -> dict:
        self.done += 1
        self._on_step(self.done)
        self.check()
        return tensors


def _render(pipe: Any, spec: GenerationSpec, seed: int, counter: _StepCounter) -> Image.Image:
    # A CPU generator per image: the same seed gives the same image on every device.
    generator = torch.Generator().manual_seed(seed)
    extra: dict[str, Any] = {}
    if spec.family == "flux":
        from core.training.flux import t5_tokens

        extra["max_sequence_length"] = t5_tokens(pipe)
    return pipe(
        spec.prompt,
        negative_prompt=spec.negative_prompt or None,
        **extra,
        num_inference_steps=spec.steps,
        height=spec.resolution,
        width=spec.resolution,
        generator=generator,
        callback_on_step_end=counter,
    ).images[0]


@torch.no_grad()
def generate(
    pipe: Any,
    spec: GenerationSpec,
    lora: Path,
    out_dir: Path,
    *,
    on_step: Callable[[int], None],
    should_cancel: Callable[[], bool],
) -> Rendered:
    """Render the spec's images with the LoRA (and its strength sheet) as PNGs in `out_dir`.

    `on_step(done)` follows each denoising step over all images; `should_cancel` is asked
    after each one (GenerationCancelled).
    """
    counter = _StepCounter(on_step, should_cancel)
    images: list[Image.Image] = []
    with lora_loaded(pipe, lora):
        for seed, weight in spec.plan():
            counter.check()
            set_strength(pipe, weight)
            images.append(_render(pipe, spec, seed, counter))
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for index, image in enumerate(images):
        files[image_role(index)] = out_dir / f"{image_role(index)}.png"
        image.save(files[image_role(index)])
    if spec.strengths:
        files[SHEET_ROLE] = out_dir / f"{SHEET_ROLE}.png"
        strength_sheet(list(zip(images, spec.strengths, strict=True))).save(files[SHEET_ROLE])
    return Rendered(files, counter.done)
