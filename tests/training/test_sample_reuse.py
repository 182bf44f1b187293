"""The samples grid's base-model row is rendered once per base model and sampling settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from core.training.data import TrainingImage
from core.training.spec import TrainingSpec
from core.training.trainer import train

pytestmark = pytest.mark.slow


def _spec(**changes: Any) -> TrainingSpec:
    fields: dict[str, Any] = {
        "base_model": "builtin:tiny-sd15", "resolution": 32, "steps": 2, "batch_size": 2,
        "learning_rate": 1e-2, "rank": 4, "alpha": 4.0, "trigger_word": "sks",
        "sample_steps": 3,
    }  # fmt: skip
    return TrainingSpec(**{**fields, **changes})


def _rows(path: Path) -> tuple[np.ndarray, np.ndarray]:
    grid = np.asarray(Image.open(path).convert("RGB"))
    half = grid.shape[0] // 2
    return grid[:half], grid[half:]


@pytest.fixture
def counted_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    from diffusers import StableDiffusionPipeline

    calls = {"pipeline": 0}
    original = StableDiffusionPipeline.__call__

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["pipeline"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionPipeline, "__call__", counting)
    return calls


def test_a_second_training_reads_the_base_row_back_with_the_same_pixels(
    tiny_sd15: Path,
    circles: list[TrainingImage],
    tmp_path: Path,
    counted_calls: dict[str, int],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "base-models").symlink_to(tiny_sd15.parent, target_is_directory=True)
    first = train(_spec(), circles, tmp_path / "first", data_dir=data)
    assert counted_calls["pipeline"] == 2  # base row and LoRA row
    second = train(_spec(steps=3, learning_rate=5e-3), circles, tmp_path / "b", data_dir=data)
    assert counted_calls["pipeline"] == 3  # the LoRA row only
    first_base, first_lora = _rows(first.files["samples"])
    second_base, second_lora = _rows(second.files["samples"])
    assert np.array_equal(first_base, second_base)
    assert not np.array_equal(second_base, second_lora)  # the LoRA row is still its own

    train(_spec(sample_steps=2), circles, tmp_path / "c", data_dir=data)
    assert counted_calls["pipeline"] == 5  # other sampling settings: the base row again
