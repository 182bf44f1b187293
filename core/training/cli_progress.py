"""The `lorabot train` run itself: a rich progress bar around `train()`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from core.training.cli import data_dir_from_env
from core.training.progress import Progress as TrainingProgress
from core.training.spec import TrainingSpec


def train_with_progress(
    spec: TrainingSpec, args: argparse.Namespace, found: list[tuple[Path, str]], console: Console
) -> int:
    """Run a training in this process, drawing its progress; returns the exit code."""
    from core.training.trainer import TrainingImage, train

    images = [TrainingImage(path, caption) for path, caption in found]
    columns = (
        TextColumn("[bold]{task.fields[stage]:<10}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("train", total=spec.steps, stage="preparing", loss="-")

        def on_progress(progress: TrainingProgress) -> None:
            loss = f"{progress.loss:.4f}" if progress.loss is not None else "-"
            bar.update(task, completed=progress.step, stage=progress.stage, loss=loss)

        try:
            result = train(
                spec,
                images,
                args.out,
                data_dir=data_dir_from_env(),
                checkpoint_dir=args.checkpoint_dir,
                on_progress=on_progress,
            )
        except KeyboardInterrupt:
            console.print("[yellow]interrupted; no outputs written[/yellow]")
            return 130
    console.print(f"done in {result.seconds:.1f}s, final loss {result.final_loss:.4f}")
    for name, path in result.files.items():
        console.print(f"  {name:<15} {path}")
    return 0
