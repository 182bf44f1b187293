"""Write a LoRA in kohya-ss format (the one most UIs load) with kohya's metadata keys."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

from core.training.kohya_names import (
    TEXT_ENCODER_PREFIXES,
    text_encoder_module_name,
    unet_blocks,
    unet_module_name,
)
from core.training.lora import text_encoders
from core.training.spec import TrainingSpec

_KOHYA_BASE_VERSION = {"sd15": "sd_v1", "sdxl": "sdxl_base_v1-0", "flux": "flux1"}
_MODELSPEC_ARCH = {
    "sd15": "stable-diffusion-v1/lora",
    "sdxl": "stable-diffusion-xl-v1-base/lora",
    "flux": "flux-1-dev/lora",
}
# What kohya's `library/sai_model_spec.py` writes (IMPL_STABILITY_AI, IMPL_FLUX).
_MODELSPEC_IMPLEMENTATION = {
    "sd15": "https://github.com/Stability-AI/generative-models",
    "sdxl": "https://github.com/Stability-AI/generative-models",
    "flux": "https://github.com/black-forest-labs/flux",
}


@dataclass(frozen=True)
class RunFacts:
    """What happened in a training, for the metadata block."""

    steps: int
    num_images: int
    tag_frequency: dict[str, dict[str, int]]  # dataset folder → tag → images carrying it
    started_at: float
    finished_at: float
    saved_at_step: int | None = None  # an intermediate save (a checkpoint); None: the end


def tag_frequency(folders: list[str], captions: list[str]) -> dict[str, dict[str, int]]:
    """kohya's `ss_tag_frequency`: per dataset folder, how many images carry each tag.

    As kohya's `set_tag_frequency` counts them: comma-separated, trimmed, lower-cased, and
    a tag named twice in one caption is one image.
    """
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for folder, caption in zip(folders, captions, strict=True):
        tags = {tag.strip().lower() for tag in caption.split(",")} - {""}
        for tag in sorted(tags):
            counts[folder][tag] = counts[folder].get(tag, 0) + 1
    return dict(counts)


def _lora_modules(model: Any) -> dict[str, dict[str, torch.Tensor]]:
    """peft's adapter state by module path: {"A": down, "B": up}."""
    modules: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)
    for key, value in get_peft_model_state_dict(model).items():
        module, kind = key.rsplit(".lora_", 1)
        modules[module][kind[0]] = value
    return modules


def _named_modules(pipe: Any, spec: TrainingSpec) -> list[tuple[str, dict[str, torch.Tensor]]]:
    blocks = unet_blocks(pipe.unet, spec.family)
    named = [(unet_module_name(m, blocks), w) for m, w in _lora_modules(pipe.unet).items()]
    if spec.train_text_encoder:
        encoders = text_encoders(pipe)
        for prefix, encoder in zip(TEXT_ENCODER_PREFIXES[len(encoders)], encoders, strict=True):
            for module, weights in _lora_modules(encoder).items():
                named.append((text_encoder_module_name(prefix, module), weights))
    return named


def kohya_state_dict(pipe: Any, spec: TrainingSpec) -> dict[str, torch.Tensor]:
    """`<kohya name>.lora_down.weight` / `.lora_up.weight` / `.alpha` for every LoRA module."""
    out: dict[str, torch.Tensor] = {}
    for name, weights in _named_modules(pipe, spec):
        out[f"{name}.lora_down.weight"] = weights["A"].detach().float().cpu().contiguous()
        out[f"{name}.lora_up.weight"] = weights["B"].detach().float().cpu().contiguous()
        out[f"{name}.alpha"] = torch.tensor(float(spec.alpha))
    return out


def kohya_metadata(spec: TrainingSpec, facts: RunFacts) -> dict[str, str]:
    """Safetensors metadata under kohya's (and modelspec's) key names; all values strings."""
    text_lr = spec.effective_text_encoder_lr if spec.train_text_encoder else 0.0
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
        "ss_unet_lr": str(spec.learning_rate),
        "ss_text_encoder_lr": str(text_lr),
        "ss_lr_scheduler": spec.lr_scheduler,
        "ss_seed": str(spec.seed),
        "ss_mixed_precision": spec.mixed_precision,
        "ss_noise_offset": str(spec.noise_offset),
        "ss_min_snr_gamma": str(spec.snr_gamma),
        "ss_caption_dropout_rate": str(spec.caption_dropout),
        "ss_network_train_unet_only": str(not spec.train_text_encoder),
        "ss_tag_frequency": json.dumps(facts.tag_frequency),
        "ss_training_started_at": str(facts.started_at),
        "ss_training_finished_at": str(facts.finished_at),
        "ss_output_name": spec.output_name,
        "ss_trigger_word": spec.trigger_word,
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": _MODELSPEC_ARCH[spec.family],
        "modelspec.implementation": _MODELSPEC_IMPLEMENTATION[spec.family],
        "modelspec.title": spec.output_name,
        "modelspec.date": datetime.fromtimestamp(facts.finished_at, UTC).isoformat(
            timespec="seconds"
        ),
        "modelspec.trigger_phrase": spec.trigger_word,
        "modelspec.resolution": f"{spec.resolution}x{spec.resolution}",
    }


def save_kohya(pipe: Any, spec: TrainingSpec, facts: RunFacts, path: Path) -> Path:
    """Write the kohya-format file; returns its path."""
    save_file(kohya_state_dict(pipe, spec), str(path), metadata=kohya_metadata(spec, facts))
    return path
