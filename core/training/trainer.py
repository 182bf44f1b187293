"""`train()`: turn a dataset into a LoRA, the entry point of the worker process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from diffusers import DDPMScheduler

from core.training.base_models import component_identity, ensure_base_model, load_pipeline
from core.training.buckets import bucket_step
from core.training.checkpoint import (
    ResumeState,
    clear_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from core.training.data import (
    BatchOrder,
    PreparedData,
    TrainingImage,
    image_buckets,
    prepare_data,
)
from core.training.export_kohya import RunFacts, save_kohya, tag_frequency
from core.training.latent_cache import LatentCache
from core.training.loop import LoopContext, ema, make_lr_scheduler, make_optimizer, run_loop
from core.training.lora import (
    Precision,
    attach_lora,
    freeze_and_place,
    optimizer_groups,
    resolve_precision,
)
from core.training.outputs import (
    plot_run_loss,
    render_samples,
    save_diffusers_lora,
    staged_output,
    write_summary,
)
from core.training.progress import Progress, TrainingCancelled
from core.training.saved_steps import SavedStep, save_step, saved_or_save
from core.training.spec import TrainingSpec

__all__ = ["SavedStep", "TrainingCancelled", "TrainingImage", "TrainingResult", "train"]


@dataclass
class TrainingResult:
    """What a finished training produced."""

    out_dir: Path
    files: dict[str, Path]  # lora_diffusers, lora_kohya, loss_curve, samples, summary
    final_loss: float | None
    steps: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)  # cache counters, resume step


def _never() -> bool:
    return False


def _ignore(_saved: SavedStep) -> None:
    return None


def _open_cache(model_path: Path, data_dir: Path, precision: Precision) -> LatentCache:
    text_parts = [component_identity(model_path, "text_encoder")]
    if (model_path / "text_encoder_2").is_dir():
        text_parts.append(component_identity(model_path, "text_encoder_2"))
    text_key = "-".join(p[:12] for p in text_parts) + f"-{str(precision.weight_dtype)[6:]}"
    return LatentCache(
        Path(data_dir) / "cache" / "latents",
        component_identity(model_path, "vae"),
        text_key,
        model_key=component_identity(model_path, ""),  # the whole model: keys its base samples
    )


def _prepare(
    spec: TrainingSpec, images: list[TrainingImage], data_dir: Path
) -> tuple[Any, Precision, PreparedData, LatentCache]:
    """Load and freeze the base model, then cache latents and text embeddings."""
    if spec.num_threads > 0:
        torch.set_num_threads(spec.num_threads)
    model_path = ensure_base_model(spec.base_model, data_dir)
    pipe = load_pipeline(model_path, spec.family, spec.base_model_config)
    precision = resolve_precision(spec)
    freeze_and_place(pipe, precision)
    cache = _open_cache(model_path, data_dir, precision)
    step = bucket_step(pipe.vae_scale_factor, len(pipe.unet.config.block_out_channels))
    buckets = image_buckets(images, spec.resolution, step)
    captions = [spec.captioned(image.caption) for image in images]
    data = prepare_data(images, captions, buckets, pipe, cache, not spec.train_text_encoder)
    return pipe, precision, data, cache


def _build_loop(
    spec: TrainingSpec, pipe: Any, precision: Precision, data: PreparedData
) -> LoopContext:
    params = attach_lora(pipe, spec)
    pipe.unet.train()
    optimizer = make_optimizer(optimizer_groups(pipe, spec), spec)
    return LoopContext(
        spec=spec,
        pipe=pipe,
        data=data,
        order=BatchOrder(data.buckets, spec.batch_size, spec.seed),
        noise_scheduler=DDPMScheduler.from_config(pipe.scheduler.config),
        optimizer=optimizer,
        lr_scheduler=make_lr_scheduler(optimizer, spec),
        params=params,
        precision=precision,
    )


def _resume(
    ctx: LoopContext,
    checkpoint_dir: Path | None,
    facts: RunFacts,
    on_checkpoint: Callable[[SavedStep], None],
) -> ResumeState:
    found = latest_checkpoint(checkpoint_dir)
    if checkpoint_dir is None or found is None:
        return ResumeState()
    state = load_checkpoint(found, ctx.spec, ctx.pipe, ctx.optimizer, ctx.lr_scheduler)
    # Told again: the news of the step resumed from may have died with the last attempt.
    on_checkpoint(saved_or_save(ctx.pipe, ctx.spec, facts, checkpoint_dir, found, state.step))
    return state


def _checkpointer(
    ctx: LoopContext,
    checkpoint_dir: Path | None,
    losses: list[float],
    facts: RunFacts,
    on_checkpoint: Callable[[SavedStep], None],
) -> Callable[[int], None]:
    interval = ctx.spec.checkpoint_interval

    def after_step(done: int) -> None:
        if checkpoint_dir is None or interval <= 0 or done % interval or done >= ctx.spec.steps:
            return
        state = ResumeState(step=done, losses=list(losses))
        path = save_checkpoint(
            checkpoint_dir, ctx.spec, ctx.pipe, ctx.optimizer, ctx.lr_scheduler, state
        )
        on_checkpoint(save_step(ctx.pipe, ctx.spec, facts, checkpoint_dir, path, done))

    return after_step


def train(
    spec: TrainingSpec,
    images: list[TrainingImage],
    out_dir: Path,
    *,
    data_dir: Path,
    checkpoint_dir: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[SavedStep], None] | None = None,
) -> TrainingResult:
    """Train a LoRA on `images` and write its files to `out_dir` (atomically, at the end).

    With a `checkpoint_dir` and `spec.checkpoint_interval`, every interval leaves a resumable
    checkpoint and that step's LoRA files and sample (`core.training.saved_steps`), each told
    to `on_checkpoint`; a resumed run tells the step it resumed from again.
    """
    if not images:
        raise ValueError("no training images")
    started = time.time()
    report = on_progress or (lambda _progress: None)
    cancel = should_cancel or _never
    report(
        Progress(
            stage="preparing",
            total_steps=spec.steps,
            message="loading base model and caching",
        )
    )
    saved = on_checkpoint or _ignore
    if spec.family == "flux":
        from core.training.flux_trainer import train_flux

        files, losses, stats = train_flux(
            spec, images, Path(out_dir), data_dir=Path(data_dir),
            checkpoint_dir=checkpoint_dir, report=report, cancel=cancel, saved=saved,
        )  # fmt: skip
        return TrainingResult(
            Path(out_dir), files, ema(losses[-50:]), spec.steps, time.time() - started, stats
        )
    pipe, precision, data, cache = _prepare(spec, images, Path(data_dir))
    ctx = _build_loop(spec, pipe, precision, data)
    tags = tag_frequency(
        [image.path.parent.name for image in images], [spec.captioned(i.caption) for i in images]
    )
    facts = RunFacts(spec.steps, len(images), tags, started, 0.0)
    resumed = _resume(ctx, checkpoint_dir, facts, saved)
    losses = resumed.losses
    if cancel():
        raise TrainingCancelled(resumed.step)
    after_step = _checkpointer(ctx, checkpoint_dir, losses, facts, saved)
    loop_seconds = run_loop(ctx, losses, report, cancel, after_step)
    report(
        Progress(
            stage="finishing",
            step=spec.steps,
            total_steps=spec.steps,
            loss=ema(losses[-50:]),
            message="saving",
        )
    )
    stats = {
        **cache.stats.to_dict(),
        "resumed_from_step": resumed.step,
        "loop_seconds": loop_seconds,
    }
    files = _write_outputs(ctx, losses, facts, stats, Path(out_dir), cancel, cache)
    clear_checkpoints(checkpoint_dir)
    return TrainingResult(
        out_dir=Path(out_dir),
        files=files,
        final_loss=ema(losses[-50:]),
        steps=spec.steps,
        seconds=time.time() - started,
        stats=stats,
    )


def _write_outputs(
    ctx: LoopContext,
    losses: list[float],
    facts: RunFacts,
    stats: dict[str, Any],
    out_dir: Path,
    cancel: Callable[[], bool],
    cache: LatentCache,
) -> dict[str, Path]:
    spec = ctx.spec
    names = {
        "lora_diffusers": "pytorch_lora_weights.safetensors",
        "lora_kohya": f"{spec.output_name}.safetensors",
        "loss_curve": "loss.png",
        "samples": "samples.png",
        "summary": "training.json",
    }
    with staged_output(out_dir) as tmp:
        save_diffusers_lora(ctx.pipe, spec, tmp)
        finished = replace(facts, finished_at=time.time())
        save_kohya(ctx.pipe, spec, finished, tmp / names["lora_kohya"])
        plot_run_loss(losses, tmp / names["loss_curve"])
        if cancel():
            raise TrainingCancelled(spec.steps)
        render_samples(ctx.pipe, spec, tmp / names["samples"], cache.samples_folder())
        write_summary(spec, losses, finished, stats, names, tmp / names["summary"])
    return {key: out_dir / name for key, name in names.items()}
