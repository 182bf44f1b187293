"""Benchmark lorabot's trainer against a per-step baseline of diffusers' LoRA example.

Each job runs as a fresh process on the `--size bench` model; the table shows whole-process
wall time, time per step, peak memory (the child's ru_maxrss) and final loss.

    .venv/bin/python benchmarks/bench_trainer.py --steps 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIZES = [
    (320, 256),
    (256, 320),
    (288, 288),
    (384, 256),
    (256, 256),
    (300, 260),
    (260, 300),
    (320, 320),
]


@dataclass
class JobResult:
    """One child process's figures."""

    name: str
    wall: float
    step_seconds: float
    max_rss_mb: float
    final_loss: float | None


def draw_dataset(folder: Path, count: int) -> list[tuple[str, str]]:
    """Coloured shapes at assorted sizes, with .txt captions and a datasets metadata.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    items, colours = [], ["red", "blue", "green", "orange"]
    for i in range(count):
        width, height = SIZES[i % len(SIZES)]
        image = Image.new("RGB", (width, height), "white")
        draw, colour = ImageDraw.Draw(image), colours[i % len(colours)]
        draw.ellipse((width // 5, height // 5, width * 4 // 5, height * 4 // 5), fill=colour)
        path = folder / f"shape{i:02d}.png"
        image.save(path)
        caption = f"sks, a {colour} circle"
        path.with_suffix(".txt").write_text(caption)
        items.append((str(path), caption))
    lines = [json.dumps({"file_name": Path(p).name, "text": c}) for p, c in items]
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return items


def run_child(name: str, argv: list[str], env: dict[str, str], result: Path | None) -> JobResult:
    """Run one job as a fresh process; wall time and ru_maxrss come from wait4."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    step_seconds, loss = float("nan"), None
    if result is not None and result.is_file():
        data = json.loads(result.read_text())
        step_seconds = data["loop_seconds"] / data["steps"]
        loss = sum(data["losses"][-10:]) / len(data["losses"][-10:])
    return JobResult(name, wall, step_seconds, usage.ru_maxrss / 1024, loss)


def child_lorabot(config: dict) -> None:
    """Train with `core.training.train` and write the loop figures as JSON."""
    from core.training.progress import Progress
    from core.training.spec import TrainingSpec
    from core.training.trainer import TrainingImage, train

    marks: dict[str, float] = {}

    def on_progress(progress: Progress) -> None:
        if progress.stage == "training" and progress.step == 1:
            marks["first"] = time.perf_counter()
        elif progress.stage == "training" and progress.step == progress.total_steps:
            marks["last"] = time.perf_counter()

    spec = TrainingSpec(
        family="sd15", base_model=config["model"], resolution=config["resolution"],
        steps=config["steps"], batch_size=config["batch_size"],
        learning_rate=config["learning_rate"], rank=config["rank"], alpha=config["alpha"],
        seed=config["seed"], trigger_word="sks", sample_steps=4,
    )  # fmt: skip
    images = [TrainingImage(Path(p), c) for p, c in config["images"]]
    result = train(
        spec, images, Path(config["out"]), data_dir=Path(config["data_dir"]),
        on_progress=on_progress,
    )  # fmt: skip
    losses = json.loads(result.files["summary"].read_text())["losses"]
    loop = (marks["last"] - marks["first"]) * spec.steps / max(1, spec.steps - 1)
    figures = {"losses": losses, "loop_seconds": loop, "steps": spec.steps}
    (Path(config["out"]) / "result.json").write_text(json.dumps(figures))


def child_make_model(out: str) -> None:
    from core.training.tiny_model import build_tiny_model

    build_tiny_model(Path(out), family="sd15", size="bench")


def reference_shim(tmp: Path) -> Path:
    """A `torchvision` package whose `transforms` is our PIL module (for the official script)."""
    package = tmp / "shim" / "torchvision"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "pil_transforms.py", package / "transforms.py")
    (package / "__init__.py").write_text("from . import transforms\n__version__ = '0.0-shim'\n")
    return package.parent


def reference_argv(script: str, cfg: dict, images_dir: Path, out: Path) -> list[str]:
    return [
        sys.executable, script, "--pretrained_model_name_or_path", cfg["model"],
        "--train_data_dir", str(images_dir), "--caption_column", "text",
        "--resolution", str(cfg["resolution"]), "--random_flip",
        "--train_batch_size", str(cfg["batch_size"]), "--max_train_steps", str(cfg["steps"]),
        "--learning_rate", str(cfg["learning_rate"]), "--lr_scheduler", "constant",
        "--rank", str(cfg["rank"]), "--seed", str(cfg["seed"]), "--output_dir", str(out),
        "--dataloader_num_workers", "0", "--lr_warmup_steps", "0",
    ]  # fmt: skip


def print_table(results: list[JobResult], baseline: JobResult) -> None:
    header = f"{'job':<22}{'wall s':>9}{'×base':>8}{'s/step':>9}{'×base':>8}"
    print(header + f"{'peak MB':>10}{'×base':>8}{'loss(last10)':>14}")
    for r in results:
        loss = f"{r.final_loss:.4f}" if r.final_loss is not None else "n/a"
        print(
            f"{r.name:<22}{r.wall:>9.1f}{r.wall / baseline.wall:>8.2f}{r.step_seconds:>9.3f}"
            f"{r.step_seconds / baseline.step_seconds:>8.2f}{r.max_rss_mb:>10.0f}"
            f"{r.max_rss_mb / baseline.max_rss_mb:>8.2f}{loss:>14}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--reference", help="path to diffusers' train_text_to_image_lora.py")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        kind, arg = args.child
        if kind == "model":
            child_make_model(arg)
        else:
            child_lorabot(json.loads(Path(arg).read_text()))
        return
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    me = [sys.executable, str(Path(__file__).resolve())]
    model = args.work / "bench-sd15"
    if not (model / "model_index.json").is_file():
        run_child("make model", [*me, "--child", "model", str(model)], env, None)
    with tempfile.TemporaryDirectory(prefix="lorabot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cfg = {
            "model": str(model), "resolution": args.resolution, "steps": args.steps,
            "batch_size": args.batch_size, "learning_rate": 1e-4, "rank": 4, "alpha": 4.0,
            "seed": 0, "images": draw_dataset(tmp / "images", args.images),
            "data_dir": str(tmp / "data"),
        }  # fmt: skip
        results = []
        for name, script in (("baseline (per-step)", "baseline"), ("lorabot cold cache", "lb"),
                             ("lorabot warm cache", "lb")):  # fmt: skip
            job = {**cfg, "out": str(tmp / name.replace(" ", "_"))}
            Path(job["out"]).mkdir(parents=True, exist_ok=True)
            config = tmp / f"{name.replace(' ', '_')}.json"
            config.write_text(json.dumps(job))
            argv = [sys.executable, str(HERE / "baseline_lora.py"), str(config)]
            if script == "lb":
                argv = [*me, "--child", "lorabot", str(config)]
            results.append(run_child(name, argv, env, Path(job["out"]) / "result.json"))
        if args.reference:
            ref_env = {**env, "PYTHONPATH": f"{reference_shim(tmp)}:{REPO}"}
            argv = reference_argv(args.reference, cfg, tmp / "images", tmp / "reference")
            ref = run_child("diffusers example", argv, ref_env, None)
            ref.step_seconds = ref.wall / args.steps  # upper bound: includes start-up
            results.append(ref)
    print(f"bench model, {args.resolution}px, batch {args.batch_size}, {args.steps} steps, "
          f"{args.images} images, torch threads {os.cpu_count()}")  # fmt: skip
    print_table(results, results[0])


if __name__ == "__main__":
    main()
