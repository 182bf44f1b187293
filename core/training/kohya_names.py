"""kohya-ss module names of LoRA layers: `lora_unet_…`, `lora_te…_…`, as kohya's loaders expect.

SD-1.5 files keep diffusers' UNet paths (`lora_unet_down_blocks_0_attentions_0_…`): kohya's SD-1
UNet (`library/original_unet.py`) is built with diffusers' module names. SDXL files use the
SAI/ldm paths of Stability's `generative-models` UNet (`lora_unet_input_blocks_4_1_…`), which
kohya's SDXL UNet (`library/sdxl_original_unet.py`) and `sdxl_merge_lora.py` look for. The block
numbering follows ComfyUI's `comfy/utils.py` `unet_to_diffusers`: every resnet (and every
down/upsampler) of a level takes one `input_blocks`/`output_blocks` slot, and a level's
attention sits at index 1 of the resnet's slot.
"""

from __future__ import annotations

from typing import Any

UNET_PREFIX = "lora_unet"
# kohya's `networks/lora.py`: one encoder is `lora_te`, SDXL's two are `lora_te1` / `lora_te2`.
TEXT_ENCODER_PREFIXES = {1: ("lora_te",), 2: ("lora_te1", "lora_te2")}


def _layers_per_level(config: Any) -> list[int]:
    levels = len(config.block_out_channels)
    layers = config.layers_per_block
    return [int(layers)] * levels if isinstance(layers, int) else [int(n) for n in layers]


def sdxl_block_map(config: Any) -> dict[str, str]:
    """diffusers attention-block paths of a UNet → their SAI/ldm paths, from its config."""
    layers = _layers_per_level(config)
    blocks: dict[str, str] = {}
    slot = 1  # input_blocks.0 is conv_in
    for level, kind in enumerate(config.down_block_types):
        for i in range(layers[level]):
            if "CrossAttn" in kind:
                blocks[f"down_blocks.{level}.attentions.{i}"] = f"input_blocks.{slot + i}.1"
        slot += layers[level] + 1  # the level's resnets, then its downsampler
    if "CrossAttn" in (config.mid_block_type or ""):
        blocks["mid_block.attentions.0"] = "middle_block.1"  # between middle_block.0/.2 resnets
    slot = 0
    up_layers = [n + 1 for n in reversed(layers)]  # an up level has one resnet more
    for level, kind in enumerate(config.up_block_types):
        for i in range(up_layers[level]):
            if "CrossAttn" in kind:
                blocks[f"up_blocks.{level}.attentions.{i}"] = f"output_blocks.{slot + i}.1"
        slot += up_layers[level]
    return blocks


def _ldm_path(module: str, blocks: dict[str, str]) -> str:
    for diffusers_path, ldm_path in blocks.items():
        if module.startswith(diffusers_path + "."):
            # Inside a transformer block ldm and diffusers share names (attn1.to_q, to_out.0).
            return ldm_path + module[len(diffusers_path) :]
    raise ValueError(f"no SAI/ldm name for UNet module {module!r}: only attention blocks map")


def unet_blocks(unet: Any, family: str) -> dict[str, str] | None:
    """The block map a family's kohya names need: SDXL's ldm blocks, None for diffusers paths."""
    return sdxl_block_map(unet.config) if family == "sdxl" else None


def unet_module_name(module: str, blocks: dict[str, str] | None) -> str:
    """A UNet module path (diffusers) → its kohya name (`lora_unet_…`, no weight suffix)."""
    path = module if blocks is None else _ldm_path(module, blocks)
    return f"{UNET_PREFIX}_{path.replace('.', '_')}"


def text_encoder_module_name(prefix: str, module: str) -> str:
    """A text-encoder module path → its kohya name (`lora_te1_text_model_encoder_…`)."""
    if not module.startswith("text_model."):
        module = "text_model." + module  # transformers 5 dropped the wrapper kohya names
    return f"{prefix}_{module.replace('.', '_')}"
