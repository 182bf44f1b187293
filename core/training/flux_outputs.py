"""The files of a FLUX LoRA: diffusers and kohya weights, samples, and each checkpoint's step."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from diffusers import FluxPipeline
from peft.utils import get_peft_model_state_dict
from PIL import Image

from core.training.export_kohya import RunFacts
from core.training.flux import t5_tokens
from core.training.flux_kohya import save_flux_kohya
from core.training.lora import adapter_metadata
from core.training.outputs import DIFFUSERS_WEIGHTS, staged_output
from core.training.saved_steps import SavedStep, step_dir, step_paths
from core.training.spec import TrainingSpec


def save_flux_diffusers(pipe: Any, folder: Path) -> Path:
    """`pytorch_lora_weights.safetensors` as `FluxPipeline.save_lora_weights` lays it out."""
    # As diffusers' FLUX example saves it: peft's own lora_A / lora_B names, no conversion.
    layers = get_peft_model_state_dict(pipe.transformer)
    FluxPipeline.save_lora_weights(
        folder,
        transformer_lora_layers=layers,
        transformer_lora_adapter_metadata=adapter_metadata(pipe.transformer),
        weight_name=DIFFUSERS_WEIGHTS,
    )
    return folder / DIFFUSERS_WEIGHTS


def flux_image(pipe: Any, spec: TrainingSpec, prompt: str) -> Image.Image:
    """One image at the spec's seed and resolution (FluxPipeline's own guidance default)."""
    return pipe(
        prompt,
        num_inference_steps=spec.sample_steps,
        height=spec.resolution,
        width=spec.resolution,
        max_sequence_length=t5_tokens(pipe),
        generator=torch.Generator().manual_seed(spec.seed),
    ).images[0]


@torch.no_grad()
def render_flux_samples(pipe: Any, spec: TrainingSpec, path: Path) -> Path:
    """A grid: one column per prompt, top row base model, bottom row with the LoRA."""
    prompts = [spec.captioned(p) for p in spec.sample_prompts] or [spec.captioned("")]
    pipe.set_progress_bar_config(disable=True)
    transformer = pipe.transformer
    transformer.eval()
    rows: list[list[Image.Image]] = []
    for enabled in (False, True):
        (transformer.enable_adapters if enabled else transformer.disable_adapters)()
        rows.append([flux_image(pipe, spec, prompt) for prompt in prompts])
    width, height = rows[0][0].size
    grid = Image.new("RGB", (width * len(prompts), height * 2), "white")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            grid.paste(image, (c * width, r * height))
    grid.save(path)
    return path


@torch.no_grad()
def _render_step_sample(pipe: Any, spec: TrainingSpec, path: Path) -> None:
    # Mid-training: the loop draws from per-step generators, so only the mode needs restoring.
    prompt = spec.captioned(spec.sample_prompts[0] if spec.sample_prompts else "")
    pipe.set_progress_bar_config(disable=True)
    pipe.transformer.eval()
    try:
        flux_image(pipe, spec, prompt).save(path)
    finally:
        pipe.transformer.train()


def save_flux_step(
    pipe: Any,
    spec: TrainingSpec,
    facts: RunFacts,
    checkpoint_dir: Path,
    checkpoint: Path,
    step: int,
) -> SavedStep:
    """Write a checkpoint step's kohya and diffusers files and its sample (as saved_steps does)."""
    folder = step_dir(checkpoint_dir, step)
    files, sample = step_paths(spec, folder, step)
    if sample.is_file() and all(path.is_file() for path in files.values()):
        return SavedStep(step, checkpoint, files, sample)  # kept from before a resume
    with staged_output(folder) as tmp:
        save_flux_diffusers(pipe, tmp)
        at_step = replace(facts, finished_at=time.time(), saved_at_step=step)
        save_flux_kohya(pipe.transformer, spec, at_step, tmp / files["lora_kohya"].name)
        _render_step_sample(pipe, spec, tmp / sample.name)
    return SavedStep(step, checkpoint, files, sample)
