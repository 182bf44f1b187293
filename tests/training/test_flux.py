"""FLUX.1 LoRAs on the tiny FLUX: training, both files, and the kohya names mapped back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from core.training.data import TrainingImage
from core.training.spec import FLUX_TARGET_MODULES, TrainingSpec
from core.training.trainer import TrainingResult, train

pytestmark = pytest.mark.slow


def _spec(**overrides: Any) -> TrainingSpec:
    fields: dict[str, Any] = {
        "family": "flux", "base_model": "builtin:tiny-flux", "resolution": 32, "steps": 6,
        "rank": 4, "alpha": 8.0, "learning_rate": 5e-3, "sample_steps": 2,
        "trigger_word": "sks", "output_name": "red-circle", "weighting_scheme": "logit_normal",
    }  # fmt: skip
    return TrainingSpec(**{**fields, **overrides})


@pytest.fixture(scope="module")
def flux_run(
    circles: list[TrainingImage], data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> TrainingResult:
    """One tiny FLUX training shared by the module."""
    return train(_spec(), circles, tmp_path_factory.mktemp("flux-out") / "out", data_dir=data_dir)


def _pipe(data_dir: Path) -> Any:
    from core.training.base_models import ensure_base_model, load_pipeline

    pipe = load_pipeline(ensure_base_model("builtin:tiny-flux", data_dir), "flux")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(pipe: Any) -> np.ndarray:
    out = pipe(
        "sks, a red circle", num_inference_steps=2, height=32, width=32,
        max_sequence_length=64, generator=torch.Generator().manual_seed(3), output_type="np",
    )  # fmt: skip
    return out.images[0]


def test_tiny_flux_trains_on_cached_conditioning(
    flux_run: TrainingResult, circles: list[TrainingImage], data_dir: Path, tmp_path: Path
) -> None:
    summary = json.loads(flux_run.files["summary"].read_text())
    assert len(summary["losses"]) == 6 and all(np.isfinite(summary["losses"]))
    assert flux_run.stats["optimizer"] == "AdamW"
    assert summary["spec"]["target_modules"] == FLUX_TARGET_MODULES
    for role in ("lora_diffusers", "lora_kohya", "loss_curve", "samples"):
        assert flux_run.files[role].is_file()
    again = train(_spec(steps=1), circles, tmp_path / "again", data_dir=data_dir)
    # A second job on the same images reads latents and T5/CLIP embeddings from the cache.
    assert again.stats["vae_encodes"] == 0 and again.stats["text_encodes"] == 0
    assert again.stats["latent_hits"] == 4 and again.stats["text_hits"] == 2


def test_diffusers_file_loads_changes_and_unloads(
    flux_run: TrainingResult, data_dir: Path
) -> None:
    pipe = _pipe(data_dir)
    base = _image(pipe)
    path = flux_run.files["lora_diffusers"]
    pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="lora")
    with_lora = _image(pipe)
    pipe.unload_lora_weights()
    assert np.abs(with_lora - base).mean() > 1e-3
    assert np.allclose(_image(pipe), base, atol=1e-6)


# BFL's FLUX module → the diffusers modules it fuses, in order, written out here from the BFL
# reference model (as ComfyUI's `comfy/utils.py` `flux_to_diffusers` pairs them), not from the
# exporter's table.
def _bfl_weights(transformer: Any) -> dict[str, list[str]]:
    config = transformer.config
    fused: dict[str, list[str]] = {}
    for i in range(config.num_layers):
        d = f"transformer_blocks.{i}"
        for bfl, parts in {
            "img_attn_qkv": ["attn.to_q", "attn.to_k", "attn.to_v"],
            "txt_attn_qkv": ["attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"],
            "img_attn_proj": ["attn.to_out.0"], "txt_attn_proj": ["attn.to_add_out"],
            "img_mlp_0": ["ff.net.0.proj"], "img_mlp_2": ["ff.net.2"],
            "txt_mlp_0": ["ff_context.net.0.proj"], "txt_mlp_2": ["ff_context.net.2"],
            "img_mod_lin": ["norm1.linear"], "txt_mod_lin": ["norm1_context.linear"],
        }.items():  # fmt: skip
            fused[f"double_blocks.{i}.{bfl}"] = [f"{d}.{p}" for p in parts]
    for i in range(config.num_single_layers):
        s = f"single_transformer_blocks.{i}"
        fused[f"single_blocks.{i}.linear1"] = [
            f"{s}.attn.to_q", f"{s}.attn.to_k", f"{s}.attn.to_v", f"{s}.proj_mlp"
        ]  # fmt: skip
        fused[f"single_blocks.{i}.linear2"] = [f"{s}.proj_out"]
        fused[f"single_blocks.{i}.modulation_lin"] = [f"{s}.norm.linear"]
    state = transformer.state_dict()
    assert all(f"{p}.weight" in state for parts in fused.values() for p in parts)
    return fused


def _deltas(path: Path) -> dict[str, torch.Tensor]:
    """The weight update of each module of a diffusers-format file (alpha from its metadata)."""
    state = load_file(str(path))
    with safe_open(str(path), "pt") as handle:
        config = json.loads(handle.metadata()["lora_adapter_metadata"])
    scale = config["transformer.lora_alpha"] / config["transformer.r"]
    return {
        key.removeprefix("transformer.").removesuffix(".lora_A.weight"): scale
        * (state[key.replace("lora_A", "lora_B")] @ value)
        for key, value in state.items()
        if key.endswith(".lora_A.weight")
    }


def test_every_kohya_key_maps_to_a_fused_transformer_weight(
    flux_run: TrainingResult, data_dir: Path
) -> None:
    transformer = _pipe(data_dir).transformer
    fused = _bfl_weights(transformer)
    weights = dict(transformer.state_dict())
    kohya = load_file(str(flux_run.files["lora_kohya"]))
    diffusers = _deltas(flux_run.files["lora_diffusers"])
    names = {key.split(".")[0] for key in kohya}
    assert names <= {"lora_unet_" + bfl.replace(".", "_") for bfl in fused}
    covered: set[str] = set()
    for bfl, parts in fused.items():
        name = "lora_unet_" + bfl.replace(".", "_")
        if name not in names:
            assert not any(p in diffusers for p in parts)
            continue
        down, up = kohya.pop(f"{name}.lora_down.weight"), kohya.pop(f"{name}.lora_up.weight")
        delta = kohya.pop(f"{name}.alpha") / down.shape[0] * (up @ down)
        base = torch.cat([weights[f"{p}.weight"] for p in parts])
        assert delta.shape == base.shape  # what ComfyUI adds to BFL's fused weight
        expected = [diffusers.get(p, torch.zeros_like(weights[f"{p}.weight"])) for p in parts]
        assert torch.allclose(delta, torch.cat(expected), atol=1e-6)
        covered.update(p for p in parts if p in diffusers)
    assert kohya == {}  # no key left over
    assert covered == set(diffusers)
    assert any(n.startswith("lora_unet_single_blocks_1_linear1") for n in names)
    assert "lora_unet_double_blocks_0_txt_attn_qkv" in names


def test_diffusers_reads_the_kohya_file_back_at_flux1_widths(tmp_path: Path) -> None:
    """diffusers' `_convert_kohya_flux_lora_to_diffusers` hard-codes FLUX.1's widths
    (3072, MLP 12288) for single_blocks linear1, so it is checked on a FLUX.1-wide transformer
    (one double and one single block, weights on the meta device, real LoRA tensors)."""
    from diffusers import FluxPipeline, FluxTransformer2DModel
    from peft import LoraConfig

    from core.training.export_kohya import RunFacts
    from core.training.flux_kohya import save_flux_kohya

    with torch.device("meta"):
        transformer = FluxTransformer2DModel(num_layers=1, num_single_layers=1)
    spec = _spec(rank=4, alpha=2.0)
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=2.0, target_modules=spec.target_modules))
    gen = torch.Generator().manual_seed(0)
    ours: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for name, module in transformer.named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            a, b = module.lora_A["default"], module.lora_B["default"]
            a.weight = torch.nn.Parameter(torch.randn(a.weight.shape, generator=gen))
            b.weight = torch.nn.Parameter(torch.randn(b.weight.shape, generator=gen))
            ours[name] = (a.weight.detach(), b.weight.detach())
    path = save_flux_kohya(transformer, spec, RunFacts(1, 1, {}, 0.0, 0.0), tmp_path / "k.st")
    loaded = FluxPipeline.lora_state_dict(str(path))
    for name, (a, b) in ours.items():
        key = f"transformer.{name}"
        back = loaded[f"{key}.lora_B.weight"] @ loaded[f"{key}.lora_A.weight"]
        assert torch.allclose(back, 0.5 * (b @ a), rtol=1e-4, atol=1e-3), name
    mlp = "transformer.single_transformer_blocks.0.proj_mlp"
    assert not loaded[f"{mlp}.lora_B.weight"].any()  # not trained: a zero update


def test_generation_renders_with_the_flux_lora(flux_run: TrainingResult, data_dir: Path) -> None:
    from core.generation.spec import GenerationSpec
    from core.training.generation import generate, load_base

    job = GenerationSpec(
        base_model="builtin:tiny-flux", family="flux", prompt="sks, a red circle", seed=5,
        steps=2, resolution=32, strengths=[0.0, 1.0],
    )  # fmt: skip
    pipe = load_base(job, data_dir)
    steps: list[int] = []
    out = generate(
        pipe, job, flux_run.files["lora_diffusers"], data_dir / "gen",
        on_step=steps.append, should_cancel=lambda: False,
    )  # fmt: skip
    off, on = (np.asarray(Image.open(out.files[f"image-{i}"]), float) for i in (0, 1))
    assert steps == [1, 2, 3, 4] and "sheet" in out.files
    assert np.abs(on - off).mean() > 0.1  # strength 1 differs from the base model's image
    assert not getattr(pipe.transformer, "peft_config", None)  # gone after the job
