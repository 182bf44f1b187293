"""Base model locations, resolved without importing torch (used by the daemon's preflight)."""

from __future__ import annotations

from pathlib import Path

BUILTIN_PREFIX = "builtin:"
BUILTIN_MODELS = {"tiny-sd15": "sd15", "tiny-sdxl": "sdxl", "tiny-flux": "flux"}


def is_builtin(location: str) -> bool:
    """Whether the location names a model that is built on first use."""
    return location.startswith(BUILTIN_PREFIX)


def builtin_family(location: str) -> str:
    """The family of a builtin location; ValueError when the name is unknown."""
    name = location.removeprefix(BUILTIN_PREFIX)
    if name not in BUILTIN_MODELS:
        raise ValueError(f"unknown builtin base model {location!r}; known: {list(BUILTIN_MODELS)}")
    return BUILTIN_MODELS[name]


def builtin_dir(location: str, data_dir: Path) -> Path:
    """Where a builtin model is (or will be) stored."""
    builtin_family(location)
    return Path(data_dir) / "base-models" / location.removeprefix(BUILTIN_PREFIX)


def base_model_available(location: str, data_dir: Path) -> bool:
    """Whether training can load this base model offline (builtins are always available)."""
    if is_builtin(location):
        return location.removeprefix(BUILTIN_PREFIX) in BUILTIN_MODELS
    path = Path(location).expanduser()
    if path.is_dir():
        return (path / "model_index.json").is_file()
    return path.is_file() and path.suffix in (".safetensors", ".ckpt")
