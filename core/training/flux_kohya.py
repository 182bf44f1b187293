"""FLUX LoRAs in the kohya / ComfyUI format: Black Forest Labs' module names, fused qkv.

kohya's `networks/lora_flux.py` names modules after BFL's reference FLUX code
(`lora_unet_double_blocks_{i}_img_attn_qkv`, `lora_unet_single_blocks_{i}_linear1`, …), which is
what ComfyUI's `comfy/lora.py` maps onto its model and what diffusers'
`_convert_kohya_flux_lora_to_diffusers` reads back. Where BFL fuses several diffusers linears
into one (q, k, v — and the MLP input in the single blocks), the LoRA is written as kohya's
`split_qkv` network saves it: the parts' down weights stacked (rank × parts) and a
block-diagonal up weight, so up @ down equals the parts' updates side by side. The alpha is
scaled by the number of parts, because every reader divides it by the stacked rank.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

from core.training.export_kohya import RunFacts, kohya_metadata
from core.training.spec import TrainingSpec

PREFIX = "lora_unet_"
# diffusers module (within a block) → (BFL module, the fused parts in BFL's order).
_DOUBLE: dict[str, tuple[str, tuple[str, ...]]] = {}
for _stream, _attn, _ff, _norm in (
    ("img", ("to_q", "to_k", "to_v"), "ff", "norm1"),
    ("txt", ("add_q_proj", "add_k_proj", "add_v_proj"), "ff_context", "norm1_context"),
):
    for _part in _attn:
        _DOUBLE[f"attn.{_part}"] = (f"{_stream}_attn_qkv", tuple(f"attn.{p}" for p in _attn))
    _DOUBLE[f"{_ff}.net.0.proj"] = (f"{_stream}_mlp_0", (f"{_ff}.net.0.proj",))
    _DOUBLE[f"{_ff}.net.2"] = (f"{_stream}_mlp_2", (f"{_ff}.net.2",))
    _DOUBLE[f"{_norm}.linear"] = (f"{_stream}_mod_lin", (f"{_norm}.linear",))
_DOUBLE["attn.to_out.0"] = ("img_attn_proj", ("attn.to_out.0",))
_DOUBLE["attn.to_add_out"] = ("txt_attn_proj", ("attn.to_add_out",))
_LINEAR1 = ("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp")
_SINGLE: dict[str, tuple[str, tuple[str, ...]]] = {
    **dict.fromkeys(_LINEAR1, ("linear1", _LINEAR1)),
    "proj_out": ("linear2", ("proj_out",)),
    "norm.linear": ("modulation_lin", ("norm.linear",)),
}
_TOP = {
    "x_embedder": "img_in",
    "context_embedder": "txt_in",
    "time_text_embed.timestep_embedder.linear_1": "time_in_in_layer",
    "time_text_embed.timestep_embedder.linear_2": "time_in_out_layer",
    "time_text_embed.text_embedder.linear_1": "vector_in_in_layer",
    "time_text_embed.text_embedder.linear_2": "vector_in_out_layer",
    "time_text_embed.guidance_embedder.linear_1": "guidance_in_in_layer",
    "time_text_embed.guidance_embedder.linear_2": "guidance_in_out_layer",
    "proj_out": "final_layer_linear",
}
_BLOCK = re.compile(r"^(transformer_blocks|single_transformer_blocks)\.(\d+)\.(.+)$")


def bfl_module(module: str) -> tuple[str, list[str]]:
    """The kohya name of a diffusers FLUX module and the diffusers modules fused into it."""
    match = _BLOCK.match(module)
    if match is None:
        if module not in _TOP:
            raise ValueError(f"no kohya FLUX name for transformer module {module!r}")
        return PREFIX + _TOP[module], [module]
    kind, index, inner = match.groups()
    double = kind == "transformer_blocks"
    table, bfl = (_DOUBLE, "double_blocks") if double else (_SINGLE, "single_blocks")
    if inner not in table:
        raise ValueError(f"no kohya FLUX name for transformer module {module!r}")
    name, parts = table[inner]
    return f"{PREFIX}{bfl}_{index}_{name}", [f"{kind}.{index}.{p}" for p in parts]


def _pairs(transformer: Any) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(down, up) of every adapted module, by diffusers module name."""
    state = get_peft_model_state_dict(transformer)
    return {
        key.removesuffix(".lora_A.weight"): (
            value.detach().float().cpu(),
            state[key.replace(".lora_A.", ".lora_B.")].detach().float().cpu(),
        )
        for key, value in state.items()
        if key.endswith(".lora_A.weight")
    }


def flux_kohya_state_dict(transformer: Any, spec: TrainingSpec) -> dict[str, torch.Tensor]:
    """`lora_unet_<BFL name>.lora_down.weight` / `.lora_up.weight` / `.alpha` per BFL module."""
    pairs = _pairs(transformer)
    modules = dict(transformer.named_modules())
    out: dict[str, torch.Tensor] = {}
    for module in sorted(pairs):
        name, parts = bfl_module(module)
        if f"{name}.alpha" in out:
            continue  # written with an earlier part of the same fused module
        downs, ups = [], []
        for part in parts:
            linear = modules[part].base_layer if part in pairs else modules[part]
            down, up = pairs.get(part, (None, None))
            # A part the LoRA does not adapt contributes zeros: its update is nothing.
            downs.append(down if down is not None else torch.zeros(spec.rank, linear.in_features))
            ups.append(up if up is not None else torch.zeros(linear.out_features, spec.rank))
        out[f"{name}.lora_down.weight"] = torch.cat(downs).contiguous()
        out[f"{name}.lora_up.weight"] = torch.block_diag(*ups).contiguous()
        out[f"{name}.alpha"] = torch.tensor(float(spec.alpha) * len(parts))
    return out


def flux_kohya_metadata(spec: TrainingSpec, facts: RunFacts) -> dict[str, str]:
    """kohya's metadata keys, with what kohya's FLUX trainer adds."""
    return {
        **kohya_metadata(spec, facts),
        "ss_network_module": "networks.lora_flux",
        "ss_guidance_scale": str(spec.guidance_scale),
        "ss_weighting_scheme": spec.weighting_scheme,
    }


def save_flux_kohya(transformer: Any, spec: TrainingSpec, facts: RunFacts, path: Path) -> Path:
    """Write the kohya-format FLUX file; returns its path."""
    state = flux_kohya_state_dict(transformer, spec)
    save_file(state, str(path), metadata=flux_kohya_metadata(spec, facts))
    return path
