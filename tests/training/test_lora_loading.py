"""Both output files load into a fresh diffusers pipeline, change its image, and unload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.training.base_models import ensure_base_model, load_pipeline
from core.training.data import TrainingImage
from core.training.spec import TrainingSpec
from core.training.trainer import TrainingResult, train

pytestmark = pytest.mark.slow


def _image(pipe: object, prompt: str) -> np.ndarray:
    generator = torch.Generator().manual_seed(7)
    return pipe(  # type: ignore[operator]
        prompt, num_inference_steps=3, height=32, width=32, generator=generator, output_type="np"
    ).images[0]


def _check_loading(
    result: TrainingResult, model: Path, family: str, text_encoder: bool = False
) -> None:
    pipe = load_pipeline(model, family)
    pipe.set_progress_bar_config(disable=True)
    base = _image(pipe, "sks")
    for key in ("lora_diffusers", "lora_kohya"):
        path = result.files[key]
        pipe.load_lora_weights(path.parent, weight_name=path.name, adapter_name=key)
        with_lora = _image(pipe, "sks")
        assert bool(getattr(pipe.text_encoder, "peft_config", None)) == text_encoder, key
        assert np.abs(with_lora - base).max() > 1e-3, key
        pipe.unload_lora_weights()
        np.testing.assert_allclose(_image(pipe, "sks"), base, atol=1e-5)


def _train(
    family: str, images: list[TrainingImage], data_dir: Path, out: Path, **kw: object
) -> TrainingResult:
    spec = TrainingSpec(
        family=family, base_model=f"builtin:tiny-{family}", resolution=32, steps=20, batch_size=2,
        learning_rate=1e-2, rank=4, alpha=2.0, trigger_word="sks", sample_steps=2, **kw,
    )  # fmt: skip
    return train(spec, images, out, data_dir=data_dir)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_outputs_load_change_and_unload(
    family: str, circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    result = _train(family, circles, data_dir, tmp_path / "out")
    _check_loading(result, ensure_base_model(f"builtin:tiny-{family}", data_dir), family)


def test_text_encoder_lora_loads_too(
    circles: list[TrainingImage], data_dir: Path, tiny_sd15: Path, tmp_path: Path
) -> None:
    result = _train("sd15", circles, data_dir, tmp_path / "out", train_text_encoder=True)
    from safetensors import safe_open

    with safe_open(result.files["lora_kohya"], "pt") as f:
        assert any(k.startswith("lora_te_text_model_encoder_layers_0") for k in f.keys())  # noqa: SIM118
    _check_loading(result, tiny_sd15, "sd15", text_encoder=True)
