"""Resumable checkpoints: LoRA weights, optimizer, lr schedule, RNG and loss history."""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from core.training.lora import load_trainable_state, trainable_state
from core.training.spec import TrainingSpec

_PREFIX = "step-"
# Fields that do not change the weights a run produces; a resume may change them.
_COSMETIC = {"sample_prompts", "sample_steps", "output_name", "checkpoint_interval", "num_threads"}


@dataclass
class ResumeState:
    """Where the loop stands: the next step to run and the losses so far."""

    step: int = 0
    losses: list[float] = field(default_factory=list)


def spec_fingerprint(spec: TrainingSpec) -> dict[str, Any]:
    """The spec fields a checkpoint must agree with to be resumed."""
    return {k: v for k, v in spec.to_dict().items() if k not in _COSMETIC}


def latest_checkpoint(checkpoint_dir: Path | None) -> Path | None:
    """The newest complete checkpoint (incomplete ones never get their final name)."""
    if checkpoint_dir is None or not checkpoint_dir.is_dir():
        return None
    done = sorted(p for p in checkpoint_dir.glob(f"{_PREFIX}*") if (p / "meta.json").is_file())
    return done[-1] if done else None


def save_checkpoint(
    checkpoint_dir: Path,
    spec: TrainingSpec,
    pipe: Any,
    optimizer: torch.optim.Optimizer,
    lr_scheduler: Any,
    state: ResumeState,
) -> Path:
    """Write a checkpoint atomically (temp dir + rename) and drop older ones."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoint_dir / f"{_PREFIX}{state.step:08d}"
    tmp = checkpoint_dir / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(trainable_state(pipe), str(tmp / "lora.safetensors"))
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "lr_scheduler": lr_scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
        },
        tmp / "state.pt",
    )
    meta = {"step": state.step, "losses": state.losses, "spec": spec_fingerprint(spec)}
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in checkpoint_dir.glob(f"{_PREFIX}*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def clear_checkpoints(checkpoint_dir: Path | None) -> None:
    """Remove all checkpoints once the outputs they would rebuild are safely written."""
    if checkpoint_dir is None or not checkpoint_dir.is_dir():
        return
    for path in checkpoint_dir.glob(f"{_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)


def load_checkpoint(
    path: Path, spec: TrainingSpec, pipe: Any, optimizer: torch.optim.Optimizer, lr_scheduler: Any
) -> ResumeState:
    """Restore a checkpoint into the live objects; refuses one written for another spec."""
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta["spec"] != spec_fingerprint(spec):
        raise ValueError(f"checkpoint {path} was written for a different training spec")
    load_trainable_state(pipe, load_file(str(path / "lora.safetensors")))
    saved = torch.load(path / "state.pt", weights_only=False)
    optimizer.load_state_dict(saved["optimizer"])
    lr_scheduler.load_state_dict(saved["lr_scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    random.setstate(saved["python_rng"])
    return ResumeState(step=int(meta["step"]), losses=[float(x) for x in meta["losses"]])
