"""What a training keeps of each checkpoint: that step's LoRA files and a sample made with them.

Beside the resumable checkpoint (`core.training.checkpoint`, which keeps only the newest), each
checkpoint step gets a folder `<checkpoint_dir>/saved/step-<step:06d>/` that stays: the
kohya-format file named as kohya names its intermediate saves
(`<output_name>-<step:06d>.safetensors`), the diffusers-format file, and one sample image
rendered with the trigger word. A folder appears complete or not at all (one rename).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.training.export_kohya import RunFacts, save_kohya
from core.training.outputs import (
    DIFFUSERS_WEIGHTS,
    render_sample,
    save_diffusers_lora,
    staged_output,
)
from core.training.spec import TrainingSpec

SAVED_DIR = "saved"


@dataclass(frozen=True)
class SavedStep:
    """One checkpoint as the daemon hears of it."""

    step: int
    checkpoint: Path  # the resumable checkpoint folder of this step
    files: dict[str, Path]  # lora_kohya, lora_diffusers
    sample: Path


def step_dir(checkpoint_dir: Path, step: int) -> Path:
    """The kept folder of one step."""
    return Path(checkpoint_dir) / SAVED_DIR / f"step-{step:06d}"


def step_paths(spec: TrainingSpec, folder: Path, step: int) -> tuple[dict[str, Path], Path]:
    """Where a step's LoRA files (by role) and its sample live in its folder."""
    files = {
        "lora_kohya": folder / f"{spec.output_name}-{step:06d}.safetensors",
        "lora_diffusers": folder / DIFFUSERS_WEIGHTS,
    }
    return files, folder / f"sample-{step:06d}.png"


def save_step(
    pipe: Any,
    spec: TrainingSpec,
    facts: RunFacts,
    checkpoint_dir: Path,
    checkpoint: Path,
    step: int,
) -> SavedStep:
    """Write the LoRA files of `step` (the weights in `pipe` now) and render its sample."""
    folder = step_dir(checkpoint_dir, step)
    files, sample = step_paths(spec, folder, step)
    with staged_output(folder) as tmp:
        save_diffusers_lora(pipe, spec, tmp)
        at_step = replace(facts, finished_at=time.time(), saved_at_step=step)
        save_kohya(pipe, spec, at_step, tmp / files["lora_kohya"].name)
        render_sample(pipe, spec, tmp / sample.name)
    return SavedStep(step, checkpoint, files, sample)


def saved_or_save(
    pipe: Any,
    spec: TrainingSpec,
    facts: RunFacts,
    checkpoint_dir: Path,
    checkpoint: Path,
    step: int,
) -> SavedStep:
    """The kept folder of a step resumed from, written now if a crash came before it was.

    Half-written folders of the process that died (hidden temp names) are dropped.
    """
    for partial in (Path(checkpoint_dir) / SAVED_DIR).glob(".step-*"):
        shutil.rmtree(partial, ignore_errors=True)
    files, sample = step_paths(spec, step_dir(checkpoint_dir, step), step)
    if sample.is_file() and all(path.is_file() for path in files.values()):
        return SavedStep(step, checkpoint, files, sample)
    return save_step(pipe, spec, facts, checkpoint_dir, checkpoint, step)
