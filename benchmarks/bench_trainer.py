"""Benchmark `lorabot train` against diffusers' official LoRA example, whole process each.

    .venv/bin/python benchmarks/bench_trainer.py --reference /path/to/train_text_to_image_lora.py
    .venv/bin/python benchmarks/bench_trainer.py --steps 30     # against baseline_lora.py

Each job is a fresh process on the `--size bench` model: the reference script (or, without
`--reference`, the per-step baseline), `lorabot train` on a first job (empty latent cache) and
on a second job (same images, warm cache). `--rounds N` interleaves N rounds of the three and
reports medians, so a loaded machine slows every job alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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
REFERENCE, BASELINE = "diffusers example", "baseline (per-step)"
FIRST, SECOND = "lorabot first job", "lorabot second job"


@dataclass
class JobResult:
    """One child process's figures."""

    wall: float
    cpu: float
    step_seconds: float
    max_rss_mb: float
    final_loss: float | None
    cuda_peak_mb: float | None = None


@dataclass
class Jobs:
    """Every round's results per job name."""

    results: dict[str, list[JobResult]] = field(default_factory=dict)

    def add(self, name: str, result: JobResult) -> None:
        self.results.setdefault(name, []).append(result)
        print(f"  {name:<22} {result.wall:7.1f} s wall, {result.cpu:7.1f} s CPU",
              file=sys.stderr, flush=True)  # fmt: skip


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
        caption = f"a {colour} circle"
        path.with_suffix(".txt").write_text(caption)
        items.append((str(path), caption))
    lines = [json.dumps({"file_name": Path(p).name, "text": f"sks, {c}"}) for p, c in items]
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return items


def run_child(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """Run one job as a fresh process; (wall seconds, peak RSS MB, CPU seconds) from wait4."""
    began = time.perf_counter()
    with log.open("wb") as stderr:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=stderr, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{argv[:3]} failed:\n{tail}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def wrapped(figures: Path, *target: str) -> list[str]:
    return [sys.executable, str(HERE / "child_figures.py"), str(figures), *target]


def cuda_peak(figures: Path) -> float | None:
    return json.loads(figures.read_text()).get("cuda_peak_mb") if figures.is_file() else None


def lorabot_job(cfg: dict, data_dir: Path, out: Path, env: dict[str, str]) -> JobResult:
    """`lorabot train` on the images folder, the data dir holding (or not) the latent cache."""
    argv = [
        "--module", "core.cli", "train", cfg["images_dir"], "--base", cfg["model"],
        "--family", "sd15", "--out", str(out), "--steps", str(cfg["steps"]),
        "--resolution", str(cfg["resolution"]), "--batch-size", str(cfg["batch_size"]),
        "--learning-rate", str(cfg["learning_rate"]), "--rank", str(cfg["rank"]),
        "--alpha", str(cfg["rank"]), "--seed", str(cfg["seed"]), "--trigger", "sks",
        "--sample-steps", str(cfg["sample_steps"]), "--mixed-precision", cfg["precision"],
    ]  # fmt: skip
    figures = out.with_suffix(".figures.json")
    job_env = {**env, "LORABOT_DATA_DIR": str(data_dir)}
    wall, rss, cpu = run_child(wrapped(figures, *argv), job_env, out.with_suffix(".log"))
    summary = json.loads((out / "training.json").read_text())
    losses = summary["losses"]
    step_seconds = summary["stats"]["loop_seconds"] / summary["steps"]
    loss = statistics.fmean(losses[-10:])
    return JobResult(wall, cpu, step_seconds, rss, loss, cuda_peak(figures))


def baseline_job(cfg: dict, out: Path, env: dict[str, str]) -> JobResult:
    """The per-step baseline (benchmarks/baseline_lora.py)."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.json"
    images = [(p, f"sks, {c}") for p, c in cfg["images"]]
    job = {**cfg, "alpha": float(cfg["rank"]), "images": images, "out": str(out)}
    config.write_text(json.dumps(job))
    wall, rss, cpu = run_child([sys.executable, str(HERE / "baseline_lora.py"), str(config)], env,
                          out / "log.txt")  # fmt: skip
    data = json.loads((out / "result.json").read_text())
    loss = statistics.fmean(data["losses"][-10:])
    return JobResult(wall, cpu, data["loop_seconds"] / data["steps"], rss, loss)


_SWAPS = {
    "from torchvision import transforms\n": "import pil_transforms as transforms\n",
    "import datasets\n": "import imagefolder_shim as datasets\n",
    "from datasets import load_dataset\n": "from imagefolder_shim import load_dataset\n",
}


def patched_reference(script: str, tmp: Path) -> str:
    """A copy of the official script with its torchvision and datasets imports swapped.

    Both are swapped in the script's own text rather than shadowed on `sys.path`: a package
    named `torchvision` there makes transformers import parts of the real one.
    """
    text = Path(script).read_text(encoding="utf-8")
    for old, new in _SWAPS.items():
        if old not in text:
            raise SystemExit(f"{script}: expected the line {old.strip()!r}")
        text = text.replace(old, new, 1)
    folder = tmp / "reference-script"
    folder.mkdir(parents=True, exist_ok=True)
    for shim in ("pil_transforms.py", "imagefolder_shim.py"):
        shutil.copy(HERE / shim, folder / shim)
    patched = folder / Path(script).name
    patched.write_text(text, encoding="utf-8")
    return str(patched)


_RATE = re.compile(r"(\d+)/(\d+) \[[\d:]+<[\d:]+, +([\d.]+)(s/it|it/s)")


def reference_job(script: str, cfg: dict, out: Path, env: dict[str, str]) -> JobResult:
    """The official script as its README runs it, on the same images and settings."""
    argv = [
        script, "--pretrained_model_name_or_path", cfg["model"],
        "--train_data_dir", cfg["images_dir"], "--caption_column", "text",
        "--resolution", str(cfg["resolution"]), "--random_flip",
        "--train_batch_size", str(cfg["batch_size"]), "--max_train_steps", str(cfg["steps"]),
        "--learning_rate", str(cfg["learning_rate"]), "--lr_scheduler", "constant",
        "--rank", str(cfg["rank"]), "--seed", str(cfg["seed"]), "--output_dir", str(out),
        "--dataloader_num_workers", "0", "--lr_warmup_steps", "0",
        "--mixed_precision", cfg["precision"], "--report_to", "tensorboard",
    ]  # fmt: skip
    figures, log = out.with_suffix(".figures.json"), out.with_suffix(".log")
    wall, rss, cpu = run_child(wrapped(figures, *argv), env, log)
    # The tqdm bar's last rate is the loop's own speed; the whole-process time is `wall`.
    rates = [m for m in _RATE.findall(log.read_text(errors="replace")) if m[0] == m[1]]
    step = wall / cfg["steps"]
    if rates:
        value = float(rates[-1][2])
        step = value if rates[-1][3] == "s/it" else 1 / value
    return JobResult(wall, cpu, step, rss, None, cuda_peak(figures))


def run_rounds(args: argparse.Namespace, cfg: dict, tmp: Path, env: dict[str, str]) -> Jobs:
    """Interleave the jobs round by round; each round's first job starts on an empty cache."""
    jobs = Jobs()
    script = patched_reference(args.reference, tmp) if args.reference else ""
    for index in range(args.rounds):
        run = tmp / f"round{index}"
        run.mkdir()
        print(f"round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)

        def ours(run: Path = run) -> None:
            jobs.add(FIRST, lorabot_job(cfg, run / "data", run / "first", env))
            jobs.add(SECOND, lorabot_job(cfg, run / "data", run / "second", env))

        def theirs(run: Path = run) -> None:
            if args.reference:
                jobs.add(REFERENCE, reference_job(script, cfg, run / "reference", env))
            else:
                jobs.add(BASELINE, baseline_job(cfg, run / "baseline", env))

        for part in (theirs, ours) if index % 2 == 0 else (ours, theirs):
            part()
    return jobs


def _median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(jobs: Jobs, against: str) -> None:
    """Medians per job, with ratios to the reference (or baseline) job of the same runs.

    CPU s is the process's user + system time: on a shared machine it moves far less than
    the wall time does.
    """
    base = jobs.results[against]
    medians = {key: _median([getattr(r, key) for r in base]) for key in _COLUMNS}
    print(f"{'job':<22}{'wall s':>8}{'×ref':>6}{'range s':>10}{'CPU s':>8}{'×ref':>6}"
          f"{'s/step':>8}{'×ref':>6}{'peak MB':>8}{'GPU MB':>8}{'loss(last10)':>13}")  # fmt: skip
    for name in (against, FIRST, SECOND):
        rows = jobs.results[name]
        mine = {key: _median([getattr(r, key) for r in rows]) for key in _COLUMNS}
        ratio = {key: mine[key] / medians[key] for key in _COLUMNS}
        span = f"{min(r.wall for r in rows):.0f}–{max(r.wall for r in rows):.0f}"
        losses = [r.final_loss for r in rows if r.final_loss is not None]
        loss = f"{_median(losses):.4f}" if losses else "n/a"
        gpu = [r.cuda_peak_mb for r in rows if r.cuda_peak_mb is not None]
        gpu_text = f"{_median(gpu):.0f}" if gpu else "-"
        print(f"{name:<22}{mine['wall']:>8.1f}{ratio['wall']:>6.2f}{span:>10}"
              f"{mine['cpu']:>8.1f}{ratio['cpu']:>6.2f}{mine['step_seconds']:>8.3f}"
              f"{ratio['step_seconds']:>6.2f}{mine['max_rss_mb']:>8.0f}{gpu_text:>8}"
              f"{loss:>13}")  # fmt: skip


_COLUMNS = ("wall", "cpu", "step_seconds", "max_rss_mb")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="path to diffusers' train_text_to_image_lora.py")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (medians)")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--sample-steps", type=int, default=4, help="ours: steps per sample")
    parser.add_argument("--mixed-precision", choices=("no", "bf16", "fp16"), default="no")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    return parser.parse_args(argv)


def bench_model(work: Path, env: dict[str, str]) -> Path:
    """The `--size bench` model, built once into `work`."""
    model = work / "bench-sd15"
    if not (model / "model_index.json").is_file():
        work.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "core.cli", "make-tiny-model", str(model), "--size", "bench"]
        run_child(argv, env, work / "make-model.log")
    return model


def main(argv: list[str] | None = None) -> Jobs:
    """Run the rounds and print the table; the results for callers (gpu_check.py)."""
    args = parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    model = bench_model(args.work, env)
    with tempfile.TemporaryDirectory(prefix="lorabot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cfg = {
            "model": str(model), "resolution": args.resolution, "steps": args.steps,
            "batch_size": args.batch_size, "learning_rate": 1e-4, "rank": 4, "seed": 0,
            "images": draw_dataset(tmp / "images", args.images),
            "images_dir": str(tmp / "images"), "sample_steps": args.sample_steps,
            "precision": args.mixed_precision,
        }  # fmt: skip
        jobs = run_rounds(args, cfg, tmp, env)
    print(f"bench model, {args.resolution}px, batch {args.batch_size}, {args.steps} steps, "
          f"rank 4, lr 1e-4, seed 0, {args.images} images, precision {args.mixed_precision}, "
          f"ours with {args.sample_steps}-step samples, {args.rounds} round(s), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print_table(jobs, REFERENCE if args.reference else BASELINE)
    return jobs


if __name__ == "__main__":
    main()
