"""`train_flux()`: the FLUX.1 branch of `core.training.trainer.train`, the same contract."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from core.training.base_models import ensure_base_model, load_pipeline
from core.training.buckets import bucket_step
from core.training.checkpoint import (
    ResumeState,
    clear_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from core.training.data import BatchOrder, TrainingImage, image_buckets
from core.training.export_kohya import RunFacts, tag_frequency
from core.training.flux import (
    FluxData,
    attach_flux_lora,
    flux_loss,
    make_flux_optimizer,
    open_cache,
    place_frozen,
    prepare_flux_data,
    training_scheduler,
)
from core.training.flux_kohya import save_flux_kohya
from core.training.flux_outputs import render_flux_samples, save_flux_diffusers, save_flux_step
from core.training.loop import ema, make_lr_scheduler, step_generator
from core.training.lora import Precision, resolve_precision
from core.training.outputs import plot_run_loss, staged_output, write_summary
from core.training.progress import Progress, TrainingCancelled
from core.training.saved_steps import SavedStep
from core.training.spec import TrainingSpec


@dataclass
class FluxRun:
    """Everything a FLUX step touches."""

    spec: TrainingSpec
    pipe: Any
    data: FluxData
    precision: Precision
    scheduler: Any  # the flow-matching scheduler the sigmas come from
    order: BatchOrder
    optimizer: torch.optim.Optimizer
    optimizer_name: str
    lr_scheduler: Any
    params: list[torch.nn.Parameter]


def _setup(spec: TrainingSpec, images: list[TrainingImage], data_dir: Path) -> tuple[FluxRun, Any]:
    if spec.num_threads > 0:
        torch.set_num_threads(spec.num_threads)
    model_path = ensure_base_model(spec.base_model, data_dir)
    pipe = load_pipeline(model_path, "flux", spec.base_model_config)
    precision = resolve_precision(spec)
    place_frozen(pipe, precision)
    cache = open_cache(model_path, data_dir, pipe, precision)
    # Packing takes 2×2 latent patches: sides are multiples of twice the VAE's factor.
    buckets = image_buckets(images, spec.resolution, bucket_step(pipe.vae_scale_factor, 2))
    captions = [spec.captioned(image.caption) for image in images]
    data = prepare_flux_data(images, captions, buckets, pipe, cache)
    params = attach_flux_lora(pipe, spec)
    pipe.transformer.train()
    optimizer, name = make_flux_optimizer(params, spec)
    run = FluxRun(
        spec, pipe, data, precision, training_scheduler(pipe),
        BatchOrder(buckets, spec.batch_size, spec.seed), optimizer, name,
        make_lr_scheduler(optimizer, spec), params,
    )  # fmt: skip
    return run, cache


def _step(run: FluxRun, step: int) -> float:
    gen = step_generator(run.spec.seed, step)
    loss = flux_loss(
        run.spec, run.pipe, run.scheduler, run.data, run.precision, run.order.batch(step), gen
    )
    loss.backward()
    if run.spec.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(run.params, run.spec.max_grad_norm, foreach=True)
    run.optimizer.step()
    run.lr_scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def _loop(
    run: FluxRun,
    losses: list[float],
    report: Callable[[Progress], None],
    cancel: Callable[[], bool],
    after_step: Callable[[int], None],
) -> None:
    start, total = len(losses), run.spec.steps
    began = time.perf_counter()
    for step in range(start, total):
        if cancel():
            raise TrainingCancelled(step)
        losses.append(_step(run, step))
        done = step + 1
        speed = (done - start) / max(time.perf_counter() - began, 1e-9)
        report(
            Progress(
                stage="training", step=done, total_steps=total, loss=ema(losses[-50:]),
                lr=run.lr_scheduler.get_last_lr()[0], steps_per_second=speed,
                eta_seconds=(total - done) / speed,
            )
        )  # fmt: skip
        after_step(done)


def _checkpoints(
    run: FluxRun,
    checkpoint_dir: Path | None,
    losses: list[float],
    facts: RunFacts,
    saved: Callable[[SavedStep], None],
) -> tuple[ResumeState, Callable[[int], None]]:
    """Resume from the newest checkpoint (telling its step again) and the per-step saver."""
    spec, pipe = run.spec, run.pipe
    state = ResumeState()
    found = latest_checkpoint(checkpoint_dir)
    if checkpoint_dir is not None and found is not None:
        state = load_checkpoint(found, spec, pipe, run.optimizer, run.lr_scheduler)
        saved(save_flux_step(pipe, spec, facts, checkpoint_dir, found, state.step))

    def after_step(done: int) -> None:
        interval = spec.checkpoint_interval
        if checkpoint_dir is None or interval <= 0 or done % interval or done >= spec.steps:
            return
        resume = ResumeState(step=done, losses=list(losses))
        path = save_checkpoint(checkpoint_dir, spec, pipe, run.optimizer, run.lr_scheduler, resume)
        saved(save_flux_step(pipe, spec, facts, checkpoint_dir, path, done))

    return state, after_step


def train_flux(
    spec: TrainingSpec,
    images: list[TrainingImage],
    out_dir: Path,
    *,
    data_dir: Path,
    checkpoint_dir: Path | None,
    report: Callable[[Progress], None],
    cancel: Callable[[], bool],
    saved: Callable[[SavedStep], None],
) -> tuple[dict[str, Path], list[float], dict[str, Any]]:
    """Train a FLUX LoRA; returns its files, the per-step losses and the run's statistics."""
    started = time.time()
    run, cache = _setup(spec, images, Path(data_dir))
    tags = tag_frequency(
        [image.path.parent.name for image in images], [spec.captioned(i.caption) for i in images]
    )
    facts = RunFacts(spec.steps, len(images), tags, started, 0.0)
    losses: list[float] = []
    resumed, after_step = _checkpoints(run, checkpoint_dir, losses, facts, saved)
    losses.extend(resumed.losses)
    if cancel():
        raise TrainingCancelled(resumed.step)
    _loop(run, losses, report, cancel, after_step)
    report(
        Progress(
            stage="finishing", step=spec.steps, total_steps=spec.steps,
            loss=ema(losses[-50:]), message="saving",
        )
    )  # fmt: skip
    stats = {
        **cache.stats.to_dict(),
        "resumed_from_step": resumed.step,
        "optimizer": run.optimizer_name,
    }
    files = _write(run, losses, facts, stats, Path(out_dir), cancel)
    clear_checkpoints(checkpoint_dir)
    return files, losses, stats


def _write(
    run: FluxRun,
    losses: list[float],
    facts: RunFacts,
    stats: dict[str, Any],
    out_dir: Path,
    cancel: Callable[[], bool],
) -> dict[str, Path]:
    spec = run.spec
    names = {
        "lora_diffusers": "pytorch_lora_weights.safetensors",
        "lora_kohya": f"{spec.output_name}.safetensors",
        "loss_curve": "loss.png",
        "samples": "samples.png",
        "summary": "training.json",
    }
    with staged_output(out_dir) as tmp:
        save_flux_diffusers(run.pipe, tmp)
        finished = replace(facts, finished_at=time.time())
        save_flux_kohya(run.pipe.transformer, spec, finished, tmp / names["lora_kohya"])
        plot_run_loss(losses, tmp / names["loss_curve"])
        if cancel():
            raise TrainingCancelled(spec.steps)
        render_flux_samples(run.pipe, spec, tmp / names["samples"])
        write_summary(spec, losses, finished, stats, names, tmp / names["summary"])
    return {key: out_dir / name for key, name in names.items()}
