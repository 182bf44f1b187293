"""Both output files load into a fresh diffusers pipeline, change its image, and unload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

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
) -> dict[str, np.ndarray]:
    """Each file changes the image, both change it the same way, and unloading restores it."""
    pipe = load_pipeline(model, family)
    pipe.set_progress_bar_config(disable=True)
    base = _image(pipe, "sks")
    images = {"base": base}
    for key in ("lora_diffusers", "lora_kohya"):
        path = result.files[key]
        pipe.load_lora_weights(path.parent, weight_name=path.name, adapter_name=key)
        images[key] = _image(pipe, "sks")
        assert bool(getattr(pipe.text_encoder, "peft_config", None)) == text_encoder, key
        assert np.abs(images[key] - base).max() > 1e-3, key
        pipe.unload_lora_weights()
        np.testing.assert_allclose(_image(pipe, "sks"), base, atol=1e-5)
    # diffusers maps the kohya file (SAI names for SDXL) onto the very parameters it trained.
    np.testing.assert_allclose(images["lora_kohya"], images["lora_diffusers"], atol=1e-5)
    return images


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


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_text_encoder_lora_loads_and_changes_the_image_beyond_the_unet(
    family: str, circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    result = _train(family, circles, data_dir, tmp_path / "out", train_text_encoder=True)
    kohya = load_file(result.files["lora_kohya"])
    prefixes = ("lora_te1_", "lora_te2_") if family == "sdxl" else ("lora_te_",)
    for prefix in prefixes:
        assert any(k.startswith(f"{prefix}text_model_encoder_layers_0") for k in kohya), prefix
    model = ensure_base_model(f"builtin:tiny-{family}", data_dir)
    images = _check_loading(result, model, family, text_encoder=True)
    unet_only = tmp_path / "unet-only.safetensors"
    save_file({k: v for k, v in kohya.items() if k.startswith("lora_unet_")}, str(unet_only))
    pipe = load_pipeline(model, family)
    pipe.set_progress_bar_config(disable=True)
    pipe.load_lora_weights(tmp_path, weight_name=unet_only.name)
    assert not getattr(pipe.text_encoder, "peft_config", None)
    # The text-encoder half of the LoRA moves the image further than its UNet half alone.
    assert np.abs(images["lora_kohya"] - _image(pipe, "sks")).max() > 1e-3
