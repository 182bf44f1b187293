"""Each checkpoint keeps that step's LoRA files and a sample; none of it changes the training."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from core.training.data import TrainingImage
from core.training.progress import TrainingCancelled
from core.training.saved_steps import SavedStep, step_dir
from core.training.spec import TrainingSpec
from core.training.trainer import TrainingResult, train

pytestmark = pytest.mark.slow

STEPS, INTERVAL = 12, 4
DIFFUSERS = "pytorch_lora_weights.safetensors"


def spec(**changes: object) -> TrainingSpec:
    fields: dict[str, object] = {
        "resolution": 32, "steps": STEPS, "batch_size": 2, "learning_rate": 5e-3,
        "rank": 4, "alpha": 4.0, "trigger_word": "sks", "checkpoint_interval": INTERVAL,
        "sample_steps": 2, "caption_dropout": 0.2, "noise_offset": 0.05,
        "output_name": "circles",
    }  # fmt: skip
    return TrainingSpec(**{**fields, **changes})  # type: ignore[arg-type]


@dataclass
class Run:
    result: TrainingResult
    saved: list[SavedStep]
    checkpoint_dir: Path | None


def _train(
    images: list[TrainingImage],
    root: Path,
    data_dir: Path,
    *,
    checkpoints: bool,
    training: TrainingSpec | None = None,
    stop_after: int | None = None,
) -> Run:
    saved: list[SavedStep] = []
    done: list[int] = []
    ckpt = root / "ckpt" if checkpoints else None
    result = train(
        training or spec(),
        images,
        root / "out",
        data_dir=data_dir,
        checkpoint_dir=ckpt,
        on_progress=lambda p: done.append(p.step) if p.stage == "training" else None,
        should_cancel=lambda: stop_after is not None and bool(done) and done[-1] >= stop_after,
        on_checkpoint=saved.append,
    )
    return Run(result, saved, ckpt)


@pytest.fixture(scope="module")
def with_samples(
    circles: list[TrainingImage],
    data_dir: Path,
    tiny_sd15: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    return _train(circles, tmp_path_factory.mktemp("with"), data_dir, checkpoints=True)


@pytest.fixture(scope="module")
def without_checkpoints(
    circles: list[TrainingImage],
    data_dir: Path,
    tiny_sd15: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    return _train(circles, tmp_path_factory.mktemp("without"), data_dir, checkpoints=False)


def _assert_same_training(a: TrainingResult, b: TrainingResult, *, tolerance: float) -> None:
    expected, got = load_file(a.files["lora_diffusers"]), load_file(b.files["lora_diffusers"])
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert (value - got[key]).abs().max() <= tolerance, key
    losses = [json.loads(r.files["summary"].read_text())["losses"] for r in (a, b)]
    assert len(losses[0]) == STEPS
    assert losses[1] == pytest.approx(losses[0], abs=tolerance)


def test_each_checkpoint_keeps_its_lora_files_and_a_sample(with_samples: Run) -> None:
    assert [s.step for s in with_samples.saved] == [4, 8]  # not the last step: that is the end
    assert with_samples.checkpoint_dir is not None
    for saved in with_samples.saved:
        folder = step_dir(with_samples.checkpoint_dir, saved.step)
        assert saved.files == {
            "lora_kohya": folder / f"circles-{saved.step:06d}.safetensors",
            "lora_diffusers": folder / DIFFUSERS,
        }
        assert saved.sample == folder / f"sample-{saved.step:06d}.png"
        with Image.open(saved.sample) as image:
            assert (image.format, image.size) == ("PNG", (32, 32))
        with safe_open(saved.files["lora_kohya"], "pt") as f:
            meta = f.metadata()
            assert any(k.startswith("lora_unet_") for k in f.keys())  # noqa: SIM118
        assert (meta["ss_steps"], meta["ss_max_train_steps"]) == (str(saved.step), str(STEPS))
        assert meta["ss_output_name"] == "circles"
        assert load_file(saved.files["lora_diffusers"])
    # The resumable checkpoint is cleared after success; the kept step folders stay.
    assert not list(with_samples.checkpoint_dir.glob("step-*"))


def test_samples_in_between_leave_the_training_unchanged(
    with_samples: Run, without_checkpoints: Run
) -> None:
    assert without_checkpoints.saved == []
    _assert_same_training(without_checkpoints.result, with_samples.result, tolerance=0.0)
    first = with_samples.saved[0].files["lora_kohya"]
    second = with_samples.saved[1].files["lora_kohya"]
    assert load_file(first).keys() == load_file(second).keys()
    assert any(not torch.equal(v, load_file(second)[k]) for k, v in load_file(first).items())


def test_a_step_file_holds_the_weights_of_that_step(
    with_samples: Run, circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    """Step 8 of the 12-step run equals the end of an 8-step run (constant learning rate)."""
    short = _train(
        circles, tmp_path, data_dir, checkpoints=False, training=spec(steps=8)
    ).result.files["lora_kohya"]
    at_eight = with_samples.saved[1].files["lora_kohya"]
    expected, got = load_file(short), load_file(at_eight)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key


def test_a_resumed_run_tells_the_step_it_resumed_from_and_ends_the_same(
    with_samples: Run, circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingCancelled):
        _train(circles, tmp_path, data_dir, checkpoints=True, stop_after=6)
    ckpt = tmp_path / "ckpt"
    assert [p.name for p in ckpt.glob("step-*")] == ["step-00000004"]
    shutil.rmtree(step_dir(ckpt, 4))  # as if the last attempt died before writing it
    resumed = _train(circles, tmp_path, data_dir, checkpoints=True)
    assert [s.step for s in resumed.saved] == [4, 8]
    assert resumed.result.stats["resumed_from_step"] == 4
    _assert_same_training(with_samples.result, resumed.result, tolerance=1e-6)
    for ours, theirs in zip(resumed.saved, with_samples.saved, strict=True):
        a, b = load_file(ours.files["lora_kohya"]), load_file(theirs.files["lora_kohya"])
        assert all((v - b[k]).abs().max() <= 1e-6 for k, v in a.items())
