"""Captioner locations, resolved without importing torch (used by the daemon's preflight)."""

from __future__ import annotations

from pathlib import Path

from core.training.locations import BUILTIN_PREFIX, is_builtin

BUILTIN_CAPTIONERS = ("tiny-blip",)
# What `from_pretrained` needs of a BLIP folder: the model's config, the processor's (the
# image processor's own file, or the combined one newer transformers write) and weights.
CONFIG_FILE = "config.json"
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def check_captioner_location(location: str) -> None:
    """ValueError when a `builtin:` location names no builtin captioner."""
    if is_builtin(location) and location.removeprefix(BUILTIN_PREFIX) not in BUILTIN_CAPTIONERS:
        raise ValueError(
            f"unknown builtin captioner {location!r}; known: "
            f"{[BUILTIN_PREFIX + name for name in BUILTIN_CAPTIONERS]}"
        )


def builtin_captioner_dir(location: str, data_dir: Path) -> Path:
    """Where a builtin captioner is (or will be) stored: beside the builtin base models."""
    check_captioner_location(location)
    return Path(data_dir) / "base-models" / location.removeprefix(BUILTIN_PREFIX)


def is_captioner_folder(path: Path) -> bool:
    """Whether a folder has what loading a BLIP checkpoint needs."""
    return (
        (path / CONFIG_FILE).is_file()
        and any((path / name).is_file() for name in PROCESSOR_FILES)
        and any((path / name).is_file() for name in WEIGHT_FILES)
    )


def captioner_available(location: str) -> bool:
    """Whether a worker can load this captioner offline (builtins are built on first use)."""
    if is_builtin(location):
        return location.removeprefix(BUILTIN_PREFIX) in BUILTIN_CAPTIONERS
    return is_captioner_folder(Path(location).expanduser())
