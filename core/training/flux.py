"""FLUX.1 LoRA training pieces: frozen placement, cached conditioning, the flow-matching loss.

The recipe is diffusers' `examples/dreambooth/train_dreambooth_lora_flux.py`: CLIP's pooled
output and T5's sequence condition the transformer (text ids are zeros), VAE latents are
shifted and scaled then packed into 2×2 patches with their latent image ids, timesteps are
drawn by `compute_density_for_timestep_sampling` and the loss is weighted by
`compute_loss_weighting_for_sd3`, with the target `noise - latents` (rectified flow).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline
from diffusers.training_utils import (
    cast_training_params,
    compute_density_for_timestep_sampling,
    compute_loss_weighting_for_sd3,
)
from peft import LoraConfig

from core.training.base_models import component_identity
from core.training.buckets import Bucket
from core.training.data import TrainingImage, _load_latents
from core.training.latent_cache import LatentCache
from core.training.loop import _autocast, make_optimizer
from core.training.lora import Precision
from core.training.spec import TrainingSpec

log = logging.getLogger(__name__)

_MAX_T5_TOKENS = 512  # FluxPipeline refuses longer T5 sequences
# The SD3 paper's defaults for the logit-normal and mode schemes, as the FLUX example uses.
_LOGIT_MEAN, _LOGIT_STD, _MODE_SCALE = 0.0, 1.0, 1.29


@dataclass
class FluxData:
    """What a FLUX step reads: latent distributions and cached text conditioning."""

    means: list[torch.Tensor]
    stds: list[torch.Tensor]
    buckets: list[Bucket]
    caption_index: list[int]
    captions: list[str]  # captions[0] is the empty prompt (caption dropout)
    t5: torch.Tensor  # [n_captions, tokens, joint_attention_dim]
    pooled: torch.Tensor  # [n_captions, pooled_projection_dim]


def t5_tokens(pipe: Any) -> int:
    """T5 tokens per prompt: the tokenizer's length, at most what FluxPipeline accepts."""
    return min(_MAX_T5_TOKENS, int(pipe.tokenizer_2.model_max_length))


def place_frozen(pipe: Any, precision: Precision) -> None:
    """Freeze every base weight; transformer and text encoders in the weight dtype, VAE fp32."""
    for name in ("transformer", "vae", "text_encoder", "text_encoder_2"):
        model = getattr(pipe, name)
        model.requires_grad_(False)
        model.to(precision.device)
        if name != "vae" and precision.weight_dtype != torch.float32:
            model.to(dtype=precision.weight_dtype)


def open_cache(model_path: Path, data_dir: Path, pipe: Any, precision: Precision) -> LatentCache:
    """The shared latent cache, with FLUX's text key (both encoders, dtype, T5 length)."""
    parts = [component_identity(model_path, c)[:12] for c in ("text_encoder", "text_encoder_2")]
    text_key = "-".join(parts) + f"-{str(precision.weight_dtype)[6:]}-t5x{t5_tokens(pipe)}"
    return LatentCache(
        Path(data_dir) / "cache" / "latents", component_identity(model_path, "vae"), text_key
    )


@torch.no_grad()
def encode_prompts(pipe: Any, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """T5 sequence and CLIP pooled embedding of each prompt, as FluxPipeline.encode_prompt."""
    t5, pooled, _ids = pipe.encode_prompt(
        prompts, prompt_2=None, device=pipe.text_encoder.device,
        max_sequence_length=t5_tokens(pipe),
    )  # fmt: skip
    return t5, pooled


def _text(pipe: Any, captions: list[str], cache: LatentCache) -> tuple[torch.Tensor, torch.Tensor]:
    cached = [cache.get_text(caption) for caption in captions]
    missing = [i for i, entry in enumerate(cached) if entry is None]
    if missing:
        t5, pooled = encode_prompts(pipe, [captions[i] for i in missing])
        cache.stats.text_encodes += len(missing)
        for row, i in enumerate(missing):
            entry = {"hidden": t5[row].float().cpu(), "pooled": pooled[row].float().cpu()}
            cache.put_text(captions[i], entry)
            cached[i] = entry
    entries = [entry for entry in cached if entry is not None]
    return torch.stack([e["hidden"] for e in entries]), torch.stack([e["pooled"] for e in entries])


def prepare_flux_data(
    images: list[TrainingImage],
    captions: list[str],
    buckets: list[Bucket],
    pipe: Any,
    cache: LatentCache,
) -> FluxData:
    """Latents and text conditioning of every image, from the cache wherever possible."""
    latents, _time_ids = _load_latents(images, buckets, pipe.vae, cache)
    unique = ["", *sorted(set(captions) - {""})]
    t5, pooled = _text(pipe, unique, cache)
    return FluxData(
        means=[lat["mean"] for lat in latents],
        stds=[lat["std"] for lat in latents],
        buckets=buckets,
        caption_index=[unique.index(c) for c in captions],
        captions=unique,
        t5=t5,
        pooled=pooled,
    )


def attach_flux_lora(pipe: Any, spec: TrainingSpec) -> list[torch.nn.Parameter]:
    """A peft LoRA on the transformer (fp32 trainable weights); gradient checkpointing on ask."""
    torch.manual_seed(spec.seed)
    config = LoraConfig(
        r=spec.rank,
        lora_alpha=spec.alpha,
        init_lora_weights="gaussian",
        target_modules=spec.target_modules,
    )
    pipe.transformer.add_adapter(config)
    cast_training_params([pipe.transformer], dtype=torch.float32)
    if spec.gradient_checkpointing:
        pipe.transformer.enable_gradient_checkpointing()
    return [p for p in pipe.transformer.parameters() if p.requires_grad]


def make_flux_optimizer(
    params: list[torch.nn.Parameter], spec: TrainingSpec
) -> tuple[torch.optim.Optimizer, str]:
    """bitsandbytes' AdamW8bit where asked and possible, else the trainer's AdamW; its name."""
    if spec.use_8bit_adam:
        try:
            import bitsandbytes as bnb
        except ImportError:
            bnb = None
        if bnb is not None and torch.cuda.is_available():
            return bnb.optim.AdamW8bit(
                params, lr=spec.learning_rate, weight_decay=1e-2
            ), "AdamW8bit"
        log.warning(
            "use_8bit_adam needs bitsandbytes and a CUDA device (bitsandbytes %s, CUDA %s); "
            "training with plain AdamW",
            "present" if bnb is not None else "missing",
            "present" if torch.cuda.is_available() else "missing",
        )
    return make_optimizer(params, spec), "AdamW"


def training_scheduler(pipe: Any) -> FlowMatchEulerDiscreteScheduler:
    """A copy of the model's flow-matching scheduler whose sigmas the loss samples from."""
    return FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config)


def _sample_sigmas(
    spec: TrainingSpec, sched: Any, batch: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    u = compute_density_for_timestep_sampling(
        weighting_scheme=spec.weighting_scheme, batch_size=batch, logit_mean=_LOGIT_MEAN,
        logit_std=_LOGIT_STD, mode_scale=_MODE_SCALE, generator=gen,
    )  # fmt: skip
    indices = (u * sched.config.num_train_timesteps).long()
    # The example looks the sigma of each drawn timestep up; sigmas[i] belongs to timesteps[i].
    return sched.timesteps[indices], sched.sigmas[indices]


def flux_loss(
    spec: TrainingSpec,
    pipe: Any,
    sched: Any,
    data: FluxData,
    precision: Precision,
    indices: list[int],
    gen: torch.Generator,
) -> torch.Tensor:
    """The weighted flow-matching loss of one batch (all of one bucket)."""
    mean = torch.stack([data.means[i] for i in indices])
    std = torch.stack([data.stds[i] for i in indices])
    vae = pipe.vae.config
    latents = (mean + std * torch.randn(mean.shape, generator=gen) - vae.shift_factor) * (
        vae.scaling_factor
    )
    noise = torch.randn(latents.shape, generator=gen)
    batch, channels, height, width = latents.shape
    timesteps, sigmas = _sample_sigmas(spec, sched, batch, gen)
    sigmas = sigmas.view(-1, 1, 1, 1)
    noisy = (1.0 - sigmas) * latents + sigmas * noise
    rows = torch.tensor([data.caption_index[i] for i in indices])
    if spec.caption_dropout > 0:
        dropped = torch.rand(batch, generator=gen) < spec.caption_dropout
        rows = torch.where(dropped, torch.zeros_like(rows), rows)
    device, dtype = precision.device, precision.weight_dtype
    transformer = pipe.transformer
    guidance = None
    if transformer.config.guidance_embeds:
        guidance = torch.full((batch,), spec.guidance_scale, device=device)
    t5 = data.t5[rows].to(device, dtype)
    packed = FluxPipeline._pack_latents(noisy, batch, channels, height, width)
    with _autocast(precision):
        pred = transformer(
            hidden_states=packed.to(device, dtype),
            timestep=(timesteps / 1000).to(device),  # the model multiplies by 1000 again
            guidance=guidance,
            pooled_projections=data.pooled[rows].to(device, dtype),
            encoder_hidden_states=t5,
            txt_ids=torch.zeros(t5.shape[1], 3, device=device, dtype=dtype),
            img_ids=FluxPipeline._prepare_latent_image_ids(
                batch, height // 2, width // 2, device, dtype
            ),
            return_dict=False,
        )[0]
    scale = 2 ** (len(vae.block_out_channels) - 1)
    pred = FluxPipeline._unpack_latents(pred, height * scale, width * scale, scale)
    weighting = compute_loss_weighting_for_sd3(spec.weighting_scheme, sigmas).to(device)
    target = (noise - latents).to(device)
    per_sample = (weighting.float() * (pred.float() - target.float()) ** 2).reshape(batch, -1)
    return per_sample.mean(dim=1).mean()
