"""Write a LoRA in kohya-ss format (the one most UIs load) with kohya's metadata keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

from core.training.spec import TrainingSpec

_KOHYA_BASE_VERSION = {"sd15": "sd_v1", "sdxl": "sdxl_base_v1-0", "flux": "flux1"}
_MODELSPEC_ARCH = {
    "sd15": "stable-diffusion-v1/lora",
    "sdxl": "stable-diffusion-xl-v1-base/lora",
    "flux": "flux-1-dev/lora",
}


@dataclass(frozen=True)
class RunFacts:
    """What happened in a training, for the metadata block."""

    steps: int
    num_images: int
    tag_frequency: dict[str, int]
    started_at: float
    finished_at: float
    saved_at_step: int | None = None  # an intermediate save (a checkpoint); None: the end


def _prefixes(pipe: Any, spec: TrainingSpec) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [("lora_unet", pipe.unet)]
    if spec.train_text_encoder:
        if getattr(pipe, "text_encoder_2", None) is not None:
            pairs += [("lora_te1", pipe.text_encoder), ("lora_te2", pipe.text_encoder_2)]
        else:
            pairs.append(("lora_te", pipe.text_encoder))
    return pairs


def kohya_state_dict(pipe: Any, spec: TrainingSpec) -> dict[str, torch.Tensor]:
    """`lora_unet_<path>.lora_down.weight` / `.lora_up.weight` / `.alpha` for every module."""
    out: dict[str, torch.Tensor] = {}
    for prefix, model in _prefixes(pipe, spec):
        for key, value in get_peft_model_state_dict(model).items():
            module, kind = key.rsplit(".lora_", 1)
            if prefix != "lora_unet" and not module.startswith("text_model."):
                module = "text_model." + module  # transformers 5 dropped the wrapper kohya names
            name = f"{prefix}_{module.replace('.', '_')}"
            part = "lora_down" if kind.startswith("A") else "lora_up"
            out[f"{name}.{part}.weight"] = value.detach().float().cpu().contiguous()
            out[f"{name}.alpha"] = torch.tensor(float(spec.alpha))
    return out


def kohya_metadata(spec: TrainingSpec, facts: RunFacts) -> dict[str, str]:
    """Safetensors metadata under kohya's (and modelspec's) key names; all values strings."""
    return {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(spec.rank),
        "ss_network_alpha": str(spec.alpha),
        "ss_base_model_version": _KOHYA_BASE_VERSION[spec.family],
        "ss_max_train_steps": str(facts.steps),
        "ss_steps": str(facts.steps if facts.saved_at_step is None else facts.saved_at_step),
        "ss_num_train_images": str(facts.num_images),
        "ss_resolution": f"({spec.resolution}, {spec.resolution})",
        "ss_learning_rate": str(spec.learning_rate),
        "ss_lr_scheduler": spec.lr_scheduler,
        "ss_seed": str(spec.seed),
        "ss_mixed_precision": spec.mixed_precision,
        "ss_noise_offset": str(spec.noise_offset),
        "ss_min_snr_gamma": str(spec.snr_gamma),
        "ss_caption_dropout_rate": str(spec.caption_dropout),
        "ss_text_encoder_lr": str(spec.learning_rate if spec.train_text_encoder else 0.0),
        "ss_network_train_unet_only": str(not spec.train_text_encoder),
        "ss_tag_frequency": json.dumps({"dataset": facts.tag_frequency}),
        "ss_training_started_at": str(facts.started_at),
        "ss_training_finished_at": str(facts.finished_at),
        "ss_output_name": spec.output_name,
        "ss_trigger_word": spec.trigger_word,
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": _MODELSPEC_ARCH[spec.family],
        "modelspec.implementation": "diffusers",
        "modelspec.title": spec.output_name,
        "modelspec.trigger_phrase": spec.trigger_word,
        "modelspec.resolution": f"{spec.resolution}x{spec.resolution}",
    }


def save_kohya(pipe: Any, spec: TrainingSpec, facts: RunFacts, path: Path) -> Path:
    """Write the kohya-format file; returns its path."""
    save_file(kohya_state_dict(pipe, spec), str(path), metadata=kohya_metadata(spec, facts))
    return path
