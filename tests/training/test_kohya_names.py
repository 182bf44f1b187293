"""kohya files name every LoRA module as kohya, ComfyUI and A1111 find it in the base model.

The key map the files are checked against is built here from the base model's own state dict
(the slots of its resnets and samplers, as ComfyUI's `unet_to_diffusers` and kohya's SDXL UNet
number them), not from `core.training.kohya_names`, so a wrong numbering cannot hide itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from core.training.base_models import ensure_base_model, load_pipeline
from core.training.export_kohya import kohya_state_dict
from core.training.kohya_names import sdxl_block_map
from core.training.lora import attach_lora
from core.training.spec import TrainingSpec

_SUFFIXES = (".lora_down.weight", ".lora_up.weight", ".alpha")


def test_sdxl_block_map_of_the_real_sdxl_unet() -> None:
    config = SimpleNamespace(  # stabilityai/stable-diffusion-xl-base-1.0 unet/config.json
        block_out_channels=[320, 640, 1280],
        layers_per_block=2,
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        mid_block_type="UNetMidBlock2DCrossAttn",
        up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    )
    assert sdxl_block_map(config) == {
        "down_blocks.1.attentions.0": "input_blocks.4.1",
        "down_blocks.1.attentions.1": "input_blocks.5.1",
        "down_blocks.2.attentions.0": "input_blocks.7.1",
        "down_blocks.2.attentions.1": "input_blocks.8.1",
        "mid_block.attentions.0": "middle_block.1",
        **{f"up_blocks.0.attentions.{i}": f"output_blocks.{i}.1" for i in range(3)},
        **{f"up_blocks.1.attentions.{i}": f"output_blocks.{3 + i}.1" for i in range(3)},
    }


def _count(keys: list[str], pattern: str) -> int:
    found = {int(m.group(1)) for k in keys if (m := re.match(pattern, k))}
    return max(found) + 1 if found else 0


def _ldm_blocks_from_state_dict(keys: list[str]) -> dict[str, str]:
    """diffusers block → ldm block, by walking the UNet's weights as Stability's UNet lays out."""
    blocks = {"mid_block.attentions.0": "middle_block.1"}
    slot = 1  # input_blocks.0: conv_in
    for level in range(_count(keys, r"down_blocks\.(\d+)\.")):
        for i in range(_count(keys, rf"down_blocks\.{level}\.resnets\.(\d+)\.")):
            blocks[f"down_blocks.{level}.attentions.{i}"] = f"input_blocks.{slot}.1"
            slot += 1
        if any(k.startswith(f"down_blocks.{level}.downsamplers.0.") for k in keys):
            slot += 1
    slot = 0
    for level in range(_count(keys, r"up_blocks\.(\d+)\.")):
        for i in range(_count(keys, rf"up_blocks\.{level}\.resnets\.(\d+)\.")):
            blocks[f"up_blocks.{level}.attentions.{i}"] = f"output_blocks.{slot}.1"
            slot += 1
    return blocks


def _unet_key_map(unet: Any, family: str) -> dict[str, tuple[str, torch.Size]]:
    state = unet.state_dict()
    keys = [k for k in state if k.endswith(".weight") and "lora_" not in k]
    keys = [k.replace(".base_layer", "") for k in keys]
    blocks = _ldm_blocks_from_state_dict(keys) if family == "sdxl" else {}
    found = {}
    for key in keys:
        module = key.removesuffix(".weight")
        for diffusers, ldm in blocks.items():
            if module.startswith(diffusers + "."):
                module = ldm + module[len(diffusers) :]
        shape = state.get(key, state.get(key.replace(".weight", ".base_layer.weight")))
        found["lora_unet_" + module.replace(".", "_")] = (key, shape.shape)
    return found


def _text_key_map(prefix: str, encoder: Any) -> dict[str, tuple[str, torch.Size]]:
    found = {}
    for key, value in encoder.state_dict().items():
        if not key.endswith(".weight") or "lora_" in key:
            continue
        clean = key.replace(".base_layer", "")
        path = clean if clean.startswith("text_model.") else "text_model." + clean
        found[f"{prefix}_{path.removesuffix('.weight').replace('.', '_')}"] = (clean, value.shape)
    return found


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_every_kohya_key_maps_to_a_base_weight(family: str, data_dir: Path) -> None:
    model = ensure_base_model(f"builtin:tiny-{family}", data_dir)
    pipe = load_pipeline(model, family)
    spec = TrainingSpec(family=family, base_model=str(model), rank=2, train_text_encoder=True)
    attach_lora(pipe, spec)
    key_map = _unet_key_map(pipe.unet, family)
    if family == "sdxl":
        key_map |= _text_key_map("lora_te1", pipe.text_encoder)
        key_map |= _text_key_map("lora_te2", pipe.text_encoder_2)
    else:
        key_map |= _text_key_map("lora_te", pipe.text_encoder)
    state = kohya_state_dict(pipe, spec)
    names = {next(k.removesuffix(s) for s in _SUFFIXES if k.endswith(s)) for k in state}
    assert len(state) == 3 * len(names)
    left_over = sorted(n for n in names if n not in key_map)
    assert left_over == []
    for name in names:
        out_features, in_features = key_map[name][1]
        assert state[f"{name}.lora_down.weight"].shape == (2, in_features), name
        assert state[f"{name}.lora_up.weight"].shape == (out_features, 2), name
    unet_blocks = {_BLOCK.match(n).group(1) for n in names if n.startswith("lora_unet_")}  # type: ignore[union-attr]
    assert unet_blocks == _FAMILY_BLOCKS[family]


_BLOCK = re.compile(
    r"lora_unet_(input_blocks|middle_block|output_blocks|down_blocks|mid_block|up_blocks)_"
)
_FAMILY_BLOCKS = {
    "sd15": {"down_blocks", "mid_block", "up_blocks"},  # kohya's SD-1 UNet has diffusers' names
    "sdxl": {"input_blocks", "middle_block", "output_blocks"},
}
