"""The training loop: one deterministic step per call, driven by the spec."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from diffusers.optimization import get_scheduler
from diffusers.training_utils import compute_snr

from core.training.data import BatchOrder, PreparedData
from core.training.lora import Precision
from core.training.progress import Progress, TrainingCancelled
from core.training.spec import TrainingSpec
from core.training.text_encoding import TextEncoders


@dataclass
class LoopContext:
    """Everything a step touches."""

    spec: TrainingSpec
    pipe: Any
    data: PreparedData
    order: BatchOrder
    noise_scheduler: DDPMScheduler
    optimizer: torch.optim.Optimizer
    lr_scheduler: Any
    params: list[torch.nn.Parameter]
    precision: Precision


def make_optimizer(params: list[dict[str, Any]], spec: TrainingSpec) -> torch.optim.Optimizer:
    """AdamW over param groups, fused (single-kernel) where torch offers it, else foreach."""
    kwargs: dict[str, Any] = {"lr": spec.learning_rate, "weight_decay": 1e-2}
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, foreach=True, **kwargs)


def make_lr_scheduler(optimizer: torch.optim.Optimizer, spec: TrainingSpec) -> Any:
    """The diffusers learning-rate schedule named in the spec."""
    return get_scheduler(
        spec.lr_scheduler,
        optimizer=optimizer,
        num_warmup_steps=spec.lr_warmup_steps,
        num_training_steps=spec.steps,
    )


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator that depends only on (seed, step), so a resumed run draws the same noise."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919) % (2**63))


def _autocast(precision: Precision) -> contextlib.AbstractContextManager:
    if precision.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(precision.device.type, dtype=precision.autocast_dtype)


def _conditioning(
    ctx: LoopContext, indices: list[int], gen: torch.Generator
) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    data = ctx.data
    rows = torch.tensor([data.caption_index[i] for i in indices])
    if ctx.spec.caption_dropout > 0:
        dropped = torch.rand(len(indices), generator=gen) < ctx.spec.caption_dropout
        rows = torch.where(dropped, torch.zeros_like(rows), rows)
    if data.hidden is not None:
        hidden, pooled = data.hidden[rows], data.pooled[rows] if data.pooled is not None else None
    else:
        text = TextEncoders.from_pipeline(ctx.pipe)
        hidden, pooled = text.encode_ids([ids[rows] for ids in data.token_ids])
    device = ctx.precision.device
    if pooled is None:
        return hidden.to(device), None
    time_ids = torch.stack([data.time_ids[i] for i in indices]).to(device, hidden.dtype)
    return hidden.to(device), {"text_embeds": pooled.to(device), "time_ids": time_ids}


def _loss(ctx: LoopContext, indices: list[int], gen: torch.Generator) -> torch.Tensor:
    spec, data, sched = ctx.spec, ctx.data, ctx.noise_scheduler
    mean = torch.stack([data.means[i] for i in indices])
    std = torch.stack([data.stds[i] for i in indices])
    vae_config = ctx.pipe.vae.config
    latents = mean + std * torch.randn(mean.shape, generator=gen)
    latents = (
        latents - (getattr(vae_config, "shift_factor", None) or 0.0)
    ) * vae_config.scaling_factor
    noise = torch.randn(latents.shape, generator=gen)
    if spec.noise_offset:
        noise += spec.noise_offset * torch.randn((*latents.shape[:2], 1, 1), generator=gen)
    timesteps = torch.randint(0, sched.config.num_train_timesteps, (len(indices),), generator=gen)
    noisy = sched.add_noise(latents, noise, timesteps)
    if sched.config.prediction_type == "v_prediction":
        target = sched.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    hidden, added = _conditioning(ctx, indices, gen)
    device, dtype = ctx.precision.device, ctx.precision.weight_dtype
    with _autocast(ctx.precision):
        pred = ctx.pipe.unet(
            noisy.to(device, dtype), timesteps.to(device), hidden.to(dtype),
            added_cond_kwargs=added, return_dict=False,
        )[0]  # fmt: skip
    if spec.snr_gamma is None:
        return F.mse_loss(pred.float(), target.to(device).float())
    snr = compute_snr(sched, timesteps)
    weights = torch.clamp(snr, max=spec.snr_gamma) / snr
    if sched.config.prediction_type == "v_prediction":
        weights = torch.clamp(snr, max=spec.snr_gamma) / (snr + 1)
    per_sample = F.mse_loss(pred.float(), target.to(device).float(), reduction="none")
    return (per_sample.mean(dim=(1, 2, 3)) * weights.to(device)).mean()


def train_step(ctx: LoopContext, step: int) -> float:
    """Run optimizer step `step` (0-based) and return its loss."""
    gen = step_generator(ctx.spec.seed, step)
    loss = _loss(ctx, ctx.order.batch(step), gen)
    loss.backward()
    if ctx.spec.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(ctx.params, ctx.spec.max_grad_norm, foreach=True)
    ctx.optimizer.step()
    ctx.lr_scheduler.step()
    ctx.optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def ema(losses: list[float], beta: float = 0.9) -> float | None:
    """Bias-corrected exponential moving average of the losses."""
    value, weight = 0.0, 0.0
    for loss in losses:
        value = beta * value + (1 - beta) * loss
        weight = beta * weight + (1 - beta)
    return value / weight if weight else None


def run_loop(
    ctx: LoopContext,
    losses: list[float],
    report: Callable[[Progress], None],
    should_cancel: Callable[[], bool],
    on_step_done: Callable[[int], None],
) -> float:
    """Train from step len(losses) to spec.steps, appending to `losses`; the seconds it took."""
    start, total = len(losses), ctx.spec.steps
    began = time.perf_counter()
    for step in _steps(start, total, should_cancel):
        losses.append(train_step(ctx, step))
        done = step + 1
        speed = (done - start) / max(time.perf_counter() - began, 1e-9)
        lr = ctx.lr_scheduler.get_last_lr()[0]
        report(
            Progress(
                stage="training",
                step=done,
                total_steps=total,
                loss=ema(losses[-50:]),
                lr=lr,
                steps_per_second=speed,
                eta_seconds=(total - done) / speed,
            )
        )
        on_step_done(done)
    return time.perf_counter() - began


def _steps(start: int, total: int, should_cancel: Callable[[], bool]) -> Iterator[int]:
    for step in range(start, total):
        if should_cancel():
            raise TrainingCancelled(step)
        yield step
