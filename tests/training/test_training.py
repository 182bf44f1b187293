"""End-to-end training on the tiny model: outputs, loss, cache reuse, loading, cancel."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors import safe_open

from core.training.data import TrainingImage
from core.training.export_kohya import tag_frequency
from core.training.progress import Progress, TrainingCancelled
from core.training.spec import TrainingSpec
from core.training.trainer import TrainingResult, train

pytestmark = pytest.mark.slow


def overfit_spec(**changes: Any) -> TrainingSpec:
    fields: dict[str, Any] = {
        "base_model": "builtin:tiny-sd15",
        "resolution": 32,
        "steps": 80,
        "batch_size": 4,
        "learning_rate": 1e-2,
        "rank": 8,
        "alpha": 8.0,
        "trigger_word": "sks",
        "sample_steps": 3,
        "output_name": "circles",
    }
    return TrainingSpec(**{**fields, **changes})


@pytest.fixture(scope="session")
def cold_data_dir(tiny_sd15: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with an empty latent cache that shares the session's built base models."""
    fresh = tmp_path_factory.mktemp("cold-data")
    (fresh / "base-models").symlink_to(tiny_sd15.parent, target_is_directory=True)
    return fresh


@pytest.fixture(scope="session")
def first_run(
    circles: list[TrainingImage], cold_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainingResult, list[Progress]]:
    reports: list[Progress] = []
    out = tmp_path_factory.mktemp("first") / "out"
    result = train(
        overfit_spec(), circles, out, data_dir=cold_data_dir, on_progress=reports.append
    )
    return result, reports


def test_outputs_are_written(first_run: tuple[TrainingResult, list[Progress]]) -> None:
    result, reports = first_run
    assert set(result.files) == {
        "lora_diffusers",
        "lora_kohya",
        "loss_curve",
        "samples",
        "summary",
    }
    for path in result.files.values():
        assert path.is_file() and path.stat().st_size > 0
    assert result.files["lora_kohya"].name == "circles.safetensors"
    assert [p.stage for p in (reports[0], reports[1], reports[-1])] == [
        "preparing", "training", "finishing",
    ]  # fmt: skip
    assert reports[-2].step == reports[-2].total_steps == 80
    assert reports[-2].eta_seconds == 0 and reports[-2].steps_per_second > 0
    assert not list(result.out_dir.parent.glob(".*tmp*"))


def test_training_loss_falls(first_run: tuple[TrainingResult, list[Progress]]) -> None:
    losses = json.loads(first_run[0].files["summary"].read_text())["losses"]
    assert len(losses) == 80
    assert np.mean(losses[-20:]) < 0.88 * np.mean(losses[:20])


def test_kohya_file_has_kohya_keys_and_metadata(
    first_run: tuple[TrainingResult, list[Progress]], circles: list[TrainingImage]
) -> None:
    with safe_open(first_run[0].files["lora_kohya"], "pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
        alpha = f.get_tensor(next(k for k in keys if k.endswith(".alpha")))
    name = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    assert {f"{name}.lora_down.weight", f"{name}.lora_up.weight", f"{name}.alpha"} <= keys
    assert all(k.startswith("lora_unet_") for k in keys)
    assert float(alpha) == 8.0
    assert (meta["ss_network_dim"], meta["ss_network_alpha"]) == ("8", "8.0")
    assert meta["ss_base_model_version"] == "sd_v1"
    assert (meta["ss_max_train_steps"], meta["ss_num_train_images"]) == ("80", "4")
    folder = circles[0].path.parent.name  # kohya keys the counts by the images' folder
    assert json.loads(meta["ss_tag_frequency"]) == {folder: {"sks": 4, "a red circle": 4}}
    assert meta["ss_output_name"] == meta["modelspec.title"] == "circles"
    assert meta["modelspec.implementation"] == "https://github.com/Stability-AI/generative-models"
    dated = datetime.fromisoformat(meta["modelspec.date"]).timestamp()
    assert abs(dated - float(meta["ss_training_finished_at"])) < 1.0
    assert (meta["ss_text_encoder_lr"], meta["ss_network_train_unet_only"]) == ("0.0", "True")
    assert meta["ss_trigger_word"] == meta["modelspec.trigger_phrase"] == "sks"
    assert float(meta["ss_training_finished_at"]) >= float(meta["ss_training_started_at"])


def test_tag_frequency_counts_images_per_folder_like_kohya() -> None:
    captions = ["sks, Red, red, circle", "sks, blue circle", "sks,, circle ", "sks"]
    counts = tag_frequency(["a", "a", "a", "b"], captions)
    assert counts == {
        "a": {"sks": 3, "red": 1, "circle": 2, "blue circle": 1},
        "b": {"sks": 1},
    }


def test_second_training_does_no_vae_or_text_work(
    first_run: tuple[TrainingResult, list[Progress]],
    circles: list[TrainingImage],
    cold_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from diffusers import AutoencoderKL

    calls = {"encode": 0}
    original = AutoencoderKL.encode

    def counting_encode(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["encode"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AutoencoderKL, "encode", counting_encode)
    assert first_run[0].stats["vae_encodes"] == 4
    spec = overfit_spec(steps=2, seed=1)
    result = train(spec, circles, tmp_path / "out", data_dir=cold_data_dir)
    assert calls["encode"] == 0
    assert result.stats["vae_encodes"] == result.stats["text_encodes"] == 0
    assert result.stats["latent_hits"] == 4


def test_cancel_stops_within_one_step_and_leaves_nothing(
    circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    steps_seen: list[int] = []

    def on_progress(progress: Progress) -> None:
        if progress.stage == "training":
            steps_seen.append(progress.step)

    out = tmp_path / "job" / "out"
    with pytest.raises(TrainingCancelled) as info:
        train(
            overfit_spec(steps=50),
            circles,
            out,
            data_dir=data_dir,
            on_progress=on_progress,
            should_cancel=lambda: len(steps_seen) >= 3,
        )
    assert info.value.step == 3 and steps_seen == [1, 2, 3]
    assert not out.exists()
    assert list(out.parent.iterdir()) == [] if out.parent.exists() else True
