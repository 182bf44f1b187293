"""Build small diffusion pipelines of the real classes from configs, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from core.training.tokenizer_vocab import write_clip_tokenizer_files

SIZES = ("tiny", "bench")
_VOCAB_SIZE = 49408

# Each size: UNet, VAE and text encoder proportions (bench mirrors SD-1.5's block structure).
_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "unet_channels": (16, 32),
        "unet_layers": 1,
        "head_dim": 4,
        "norm_groups": 8,
        "vae_channels": (8, 16),
        "text_hidden": 16,
        "text_layers": 2,
        "text_heads": 2,
        "sample_size": 16,
    },
    "bench": {
        "unet_channels": (64, 128, 256, 256),
        "unet_layers": 2,
        "head_dim": 8,
        "norm_groups": 32,
        "vae_channels": (32, 64, 128, 128),
        "text_hidden": 192,
        "text_layers": 6,
        "text_heads": 3,
        "sample_size": 32,
    },
}


def _text_config(size: dict[str, Any], hidden: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=_VOCAB_SIZE,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=size["text_layers"],
        num_attention_heads=size["text_heads"],
        max_position_embeddings=77,
        projection_dim=hidden,
        hidden_act="quick_gelu",
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )


def _vae(size: dict[str, Any]) -> AutoencoderKL:
    channels = size["vae_channels"]
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=channels,
        layers_per_block=1 if len(channels) == 2 else 2,
        latent_channels=4,
        norm_num_groups=min(32, channels[0]),
        sample_size=size["sample_size"] * 2 ** (len(channels) - 1),
    )


def _unet(size: dict[str, Any], family: str, cross_dim: int, pooled_dim: int) -> Any:
    channels = size["unet_channels"]
    n = len(channels)
    if family == "sd15":
        down = ("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",)
        up = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1)
        extra: dict[str, Any] = {}
    else:
        down = ("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1)
        up = ("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",)
        time_dim = 8
        extra = {
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": time_dim,
            "projection_class_embeddings_input_dim": 6 * time_dim + pooled_dim,
            "use_linear_projection": True,
        }
    return UNet2DConditionModel(
        sample_size=size["sample_size"],
        in_channels=4,
        out_channels=4,
        down_block_types=down,
        up_block_types=up,
        block_out_channels=channels,
        layers_per_block=size["unet_layers"],
        norm_num_groups=size["norm_groups"],
        cross_attention_dim=cross_dim,
        attention_head_dim=size["head_dim"],
        **extra,
    )


def _scheduler() -> EulerDiscreteScheduler:
    return EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        timestep_spacing="leading",
    )


def build_tiny_pipeline(family: str = "sd15", size: str = "tiny", seed: int = 0) -> Any:
    """A randomly initialised pipeline of the real diffusers/transformers classes."""
    if family not in ("sd15", "sdxl") or size not in SIZES:
        raise ValueError(f"unsupported family/size {family!r}/{size!r}")
    dims = _SIZES[size]
    torch.manual_seed(seed)
    hidden = dims["text_hidden"]
    text_encoder = CLIPTextModel(_text_config(dims, hidden))
    vae = _vae(dims)
    if family == "sd15":
        unet = _unet(dims, family, hidden, 0)
        return StableDiffusionPipeline(
            vae=vae, text_encoder=text_encoder, tokenizer=None, unet=unet,
            scheduler=_scheduler(), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False,
        )  # fmt: skip
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(dims, hidden * 2))
    unet = _unet(dims, family, hidden * 3, hidden * 2)
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=None,
        tokenizer_2=None, unet=unet, scheduler=_scheduler(),
    )  # fmt: skip


def build_tiny_model(out: Path, family: str = "sd15", size: str = "tiny", seed: int = 0) -> Path:
    """Build a small pipeline and save it as a diffusers folder loadable by `from_pretrained`."""
    out = Path(out)
    if family == "flux":
        if size != "tiny":
            raise ValueError(f"the flux family has only the tiny size, not {size!r}")
        from core.training.flux_tiny import build_tiny_flux

        return build_tiny_flux(out, seed)
    pipe = build_tiny_pipeline(family, size, seed)
    tokenizer_dir = out / "_tokenizer_src"
    write_clip_tokenizer_files(tokenizer_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, model_max_length=77)
    pipe.tokenizer = tokenizer
    pipe.register_modules(tokenizer=tokenizer)
    if family == "sdxl":
        pipe.register_modules(tokenizer_2=tokenizer)
    pipe.save_pretrained(out, safe_serialization=True)
    for path in tokenizer_dir.iterdir():
        path.unlink()
    tokenizer_dir.rmdir()
    return out
