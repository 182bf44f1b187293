"""Per-family presets (fast / balanced / quality) used by the CLI; torch-free."""

from __future__ import annotations

from typing import Any

from core.training.spec import TrainingSpec

PRESET_NAMES = ("fast", "balanced", "quality")

_COMMON: dict[str, dict[str, Any]] = {
    "fast": {"steps": 500, "rank": 8, "alpha": 8.0, "learning_rate": 2e-4},
    "balanced": {"steps": 1200, "rank": 16, "alpha": 16.0, "learning_rate": 1e-4},
    "quality": {
        "steps": 2500,
        "rank": 32,
        "alpha": 32.0,
        "learning_rate": 1e-4,
        "lr_scheduler": "cosine",
        "lr_warmup_steps": 100,
        "snr_gamma": 5.0,
    },
}

_FAMILY: dict[str, dict[str, Any]] = {
    "sd15": {"resolution": 512, "batch_size": 1},
    "sdxl": {"resolution": 1024, "batch_size": 1},
}


def preset_fields(family: str, preset: str) -> dict[str, Any]:
    """The spec fields a preset sets for a family."""
    if family not in _FAMILY:
        raise ValueError(f"unknown family {family!r}")
    if preset not in PRESET_NAMES:
        raise ValueError(f"unknown preset {preset!r}; choose from {PRESET_NAMES}")
    return {"family": family, **_FAMILY[family], **_COMMON[preset]}


def spec_from_preset(family: str, preset: str, **overrides: Any) -> TrainingSpec:
    """A TrainingSpec from a preset, with non-None overrides applied."""
    fields = preset_fields(family, preset)
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return TrainingSpec(**fields)
