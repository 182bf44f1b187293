"""Resolve, build on first use, and load base models, strictly offline."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from filelock import FileLock

from core.training.locations import builtin_dir, builtin_family, is_builtin

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# transformers warns about optional image backends (torchvision) the trainer never uses.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def ensure_base_model(location: str, data_dir: Path) -> Path:
    """The local path of a base model; builtin models are built on first use."""
    if not is_builtin(location):
        path = Path(location).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"base model not found: {path}")
        return path
    target = builtin_dir(location, data_dir)
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "model_index.json").is_file():
            return target  # another process built it while we waited
        from core.training.tiny_model import build_tiny_model

        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        build_tiny_model(tmp, family=builtin_family(location), size="tiny")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return target


def pipeline_class(family: str) -> Any:
    """The diffusers pipeline class for a family."""
    from diffusers import FluxPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

    classes = {"sdxl": StableDiffusionXLPipeline, "flux": FluxPipeline}
    return classes.get(family, StableDiffusionPipeline)


def load_pipeline(path: Path, family: str, config: str = "") -> Any:
    """Load a pipeline from a diffusers folder or a single-file checkpoint, offline, in fp32."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # Their per-component bars would interleave with our own progress (CLI) and worker logs.
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    cls = pipeline_class(family)
    extra: dict[str, Any] = {}
    if family == "sd15":
        extra = {"safety_checker": None, "requires_safety_checker": False}
    if path.is_dir():
        return cls.from_pretrained(path, local_files_only=True, **extra)
    kwargs: dict[str, Any] = {"local_files_only": True, **extra}
    if config:
        kwargs["config"] = str(Path(config).expanduser())
    return cls.from_single_file(str(path), **kwargs)


def _identity_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def component_identity(path: Path, component: str) -> str:
    """A short key that changes whenever a component's weights or config change."""
    if path.is_file():
        return _identity_of([path]) + f"-{component}"
    folder = path / component
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"component {component!r} missing in {path}")
    return _identity_of(files) + f"-{component}"
