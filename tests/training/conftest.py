"""Shared fixtures: one tiny base model per session and small Pillow-drawn datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from core.training.data import TrainingImage

REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: trains or samples a tiny model (seconds each)")


def draw_circles(folder: Path, count: int = 4) -> list[TrainingImage]:
    """Red circles on white, two aspect ratios, each with a `.txt` caption sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(count):
        image = Image.new("RGB", (32 + 8 * (i % 2), 32), "white")
        ImageDraw.Draw(image).ellipse((4 + i, 4, 24 + i, 24), fill="red")
        path = folder / f"circle{i}.png"
        image.save(path)
        path.with_suffix(".txt").write_text("a red circle", encoding="utf-8")
        images.append(TrainingImage(path, "a red circle"))
    return images


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LORABOT data dir shared by the session (base models and the latent cache)."""
    return tmp_path_factory.mktemp("lorabot-data")


@pytest.fixture(scope="session")
def tiny_sd15(data_dir: Path) -> Path:
    """The builtin tiny SD-1.5 model, built once."""
    from core.training.base_models import ensure_base_model

    return ensure_base_model("builtin:tiny-sd15", data_dir)


@pytest.fixture(scope="session")
def circles(tmp_path_factory: pytest.TempPathFactory) -> list[TrainingImage]:
    """Four images of one simple shape."""
    return draw_circles(tmp_path_factory.mktemp("circles"))
