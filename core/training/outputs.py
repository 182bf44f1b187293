"""The files a training leaves behind, written into a temp folder then moved in one rename."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import torch
from PIL import Image

from core.training.base_models import pipeline_class
from core.training.export_kohya import RunFacts
from core.training.loop import ema
from core.training.lora import adapter_metadata, lora_layers
from core.training.spec import TrainingSpec

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (the backend must be chosen first)

DIFFUSERS_WEIGHTS = "pytorch_lora_weights.safetensors"


@contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """A temp folder beside out_dir that replaces it on success and vanishes on failure."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def save_diffusers_lora(pipe: Any, spec: TrainingSpec, folder: Path) -> Path:
    """Write `pytorch_lora_weights.safetensors` with the pipeline's own `save_lora_weights`."""
    layers = lora_layers(pipe, spec)
    kwargs: dict[str, Any] = {}
    for name, state in layers.items():
        kwargs[f"{name}_lora_layers"] = state
        kwargs[f"{name}_lora_adapter_metadata"] = adapter_metadata(getattr(pipe, name))
    pipeline_class(spec.family).save_lora_weights(folder, weight_name=DIFFUSERS_WEIGHTS, **kwargs)
    return folder / DIFFUSERS_WEIGHTS


def plot_loss(losses: list[float], smoothed: list[float], path: Path) -> Path:
    """The loss curve: raw per-step losses and their moving average."""
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="#9ab", linewidth=0.8, label="loss")
    ax.plot(steps, smoothed, color="#c33", linewidth=1.6, label="moving average")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


_MODEL_NAMES = ("unet", "text_encoder", "text_encoder_2")


def _set_adapters(pipe: Any, enabled: bool) -> None:
    for name in _MODEL_NAMES:
        model = getattr(pipe, name, None)
        if model is not None and getattr(model, "peft_config", None):
            (model.enable_adapters if enabled else model.disable_adapters)()


@torch.no_grad()
def render_samples(pipe: Any, spec: TrainingSpec, path: Path, kept: Path | None = None) -> Path:
    """A grid: one column per prompt, top row base model, bottom row with the LoRA.

    The top row depends only on the base model and the sampling settings: with `kept` (a
    folder for this base model) it is rendered once and read back by later trainings.
    """
    prompts = [spec.captioned(p) for p in spec.sample_prompts] or [spec.captioned("")]
    pipe.set_progress_bar_config(disable=True)
    pipe.unet.eval()
    rows = [_base_row(pipe, spec, prompts, kept)]
    _set_adapters(pipe, True)
    rows.append([_sample(pipe, spec, prompt) for prompt in prompts])
    width, height = rows[0][0].size
    grid = Image.new("RGB", (width * len(prompts), height * 2), "white")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            grid.paste(image, (c * width, r * height))
    grid.save(path)
    return path


def _base_row(
    pipe: Any, spec: TrainingSpec, prompts: list[str], kept: Path | None
) -> list[Image.Image]:
    paths = [kept / f"{_sample_key(pipe, spec, p)}.png" for p in prompts] if kept else []
    if paths and all(p.is_file() for p in paths):
        return [_read_image(p) for p in paths]
    _set_adapters(pipe, False)
    row = [_sample(pipe, spec, prompt) for prompt in prompts]
    for image, target in zip(row, paths, strict=False):
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        image.save(staged, format="PNG")  # lossless: the grid gets the very same pixels
        os.replace(staged, target)
    return row


def _read_image(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _sample_key(pipe: Any, spec: TrainingSpec, prompt: str) -> str:
    """Everything besides the base model's weights that a base-model sample depends on."""
    facts = {
        "prompt": prompt,
        "seed": spec.seed,
        "steps": spec.sample_steps,
        "size": spec.resolution,
        "scheduler": dict(pipe.scheduler.config),
        "pipeline": type(pipe).__name__,
        "dtype": str(pipe.dtype),
        "device": pipe.device.type,
    }
    text = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@torch.no_grad()
def render_sample(pipe: Any, spec: TrainingSpec, path: Path) -> Path:
    """One image with the LoRA on, mid-training: the first sample prompt, the spec's seed.

    The training goes on afterwards exactly as if nothing had run: the models' train/eval
    modes and the global RNG states are put back (the loop draws its noise from per-step
    generators anyway).
    """
    prompt = spec.captioned(spec.sample_prompts[0] if spec.sample_prompts else "")
    pipe.set_progress_bar_config(disable=True)
    models = [m for m in (getattr(pipe, n, None) for n in _MODEL_NAMES) if m is not None]
    modes = [model.training for model in models]
    device = pipe.unet.device
    try:
        for model in models:
            model.eval()
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            _sample(pipe, spec, prompt).save(path)
    finally:
        for model, training in zip(models, modes, strict=True):
            model.train(training)
    return path


def _sample(pipe: Any, spec: TrainingSpec, prompt: str) -> Image.Image:
    generator = torch.Generator().manual_seed(spec.seed)
    return pipe(
        prompt,
        num_inference_steps=spec.sample_steps,
        height=spec.resolution,
        width=spec.resolution,
        generator=generator,
    ).images[0]


def plot_run_loss(losses: list[float], path: Path) -> Path:
    """The loss curve of a run, raw and smoothed over the last 50 steps."""
    smoothed = [ema(losses[max(0, i - 49) : i + 1]) or 0.0 for i in range(len(losses))]
    return plot_loss(losses, smoothed, path)


def write_summary(
    spec: TrainingSpec,
    losses: list[float],
    finished: RunFacts,
    stats: dict[str, Any],
    names: dict[str, str],
    path: Path,
) -> Path:
    """`training.json`: the spec, timings, losses, cache statistics and the files written."""
    summary = {
        "spec": spec.to_dict(),
        "steps": spec.steps,
        "final_loss": ema(losses[-50:]),
        "losses": losses,
        "num_images": finished.num_images,
        "started_at": finished.started_at,
        "finished_at": finished.finished_at,
        "seconds": finished.finished_at - finished.started_at,
        "stats": stats,
        "files": names,
    }
    path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return path
