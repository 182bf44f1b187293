"""Did it learn? Train on a small concept with lorabot and the reference recipe, then measure.

    .venv/bin/python benchmarks/bench_quality.py                 # 128 px, 150 steps
    .venv/bin/python benchmarks/bench_quality.py --clock cpu --resolution 64 --steps 40 \
        --images 4 --seeds 2 --timesteps 6 --learning-rate 1e-3   # the small run of the README

A few images of one shape and colour (a red triangle, placed and sized differently, on
white), each captioned with the trigger word alone. `lorabot train` trains first; the
reference recipe (benchmarks/baseline_lora.py: the official example's per-step work) then gets
the same wall time (ours' `train()` seconds, samples included; `--clock cpu`: the same process
CPU time, which a loaded machine disturbs far less). Reported:

- the denoising loss on the training images at fixed noise and timesteps, prompted with the
  trigger word: base model, with our LoRA, with the reference LoRA;
- the image-space check: the same seeds and prompt, with and without each LoRA, and the RMS
  pixel distance of each image to the nearest training image and to all of them on average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_trainer import REPO, bench_model, run_child  # noqa: E402

TRIGGER = "sks"
# (centre y, half width) as fractions of the side: centred left-right so a flip changes nothing.
PLACES = [(0.50, 0.30), (0.40, 0.22), (0.60, 0.25), (0.45, 0.35), (0.55, 0.18), (0.50, 0.40)]


def draw_concept(folder: Path, count: int, side: int) -> list[Path]:
    """Red triangles on white, one per place, captioned with the trigger word alone."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (cy, half) in enumerate(PLACES[:count]):
        image = Image.new("RGB", (side, side), "white")
        top, bottom = (cy - half) * side, (cy + half) * side
        left, right = (0.5 - half) * side, (0.5 + half) * side
        ImageDraw.Draw(image).polygon([(side / 2, top), (right, bottom), (left, bottom)], "red")
        path = folder / f"triangle{i}.png"
        image.save(path)
        path.with_suffix(".txt").write_text(TRIGGER)
        paths.append(path)
    return paths


def train_ours(args: argparse.Namespace, model: Path, images: Path, out: Path) -> dict:
    """`lorabot train` as a user runs it; its training.json, with `cpu_seconds` added."""
    env = {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "LORABOT_DATA_DIR": str(out / "data")}
    argv = [
        sys.executable, "-m", "core.cli", "train", str(images), "--base", str(model),
        "--out", str(out / "ours"), "--steps", str(args.steps),
        "--resolution", str(args.resolution), "--batch-size", str(args.batch_size),
        "--learning-rate", str(args.learning_rate), "--rank", str(args.rank),
        "--alpha", str(args.rank), "--seed", "0", "--trigger", TRIGGER, "--sample-steps", "4",
    ]  # fmt: skip
    _, _, cpu = run_child(argv, {**_base_env(), **env}, out / "ours.log")
    return {**json.loads((out / "ours" / "training.json").read_text()), "cpu_seconds": cpu}


def train_reference(args: argparse.Namespace, model: Path, paths: list[Path], out: Path,
                    seconds: float) -> dict:  # fmt: skip
    """baseline_lora.py with the same settings, stopped after `seconds` of `args.clock`."""
    folder = out / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model": str(model), "resolution": args.resolution, "steps": 100_000,
        "seconds": seconds, "clock": args.clock, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "rank": args.rank, "alpha": float(args.rank),
        "seed": 0, "out": str(folder),
        "images": [(str(p), TRIGGER) for p in paths],
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    argv = [sys.executable, str(HERE / "baseline_lora.py"), str(folder / "config.json")]
    run_child(argv, {**_base_env(), "PYTHONPATH": str(REPO)}, out / "reference.log")
    return json.loads((folder / "result.json").read_text())


def _base_env() -> dict[str, str]:
    return dict(os.environ)


def save_sheet(rows: dict[str, Any], path: Path) -> Path:
    """One row of images per entry ([N, 3, H, W] in [0, 1]), left-aligned, no labels."""
    side = next(iter(rows.values())).shape[-1]
    width = max(len(images) for images in rows.values()) * side
    sheet = Image.new("RGB", (width, side * len(rows)), "white")
    for r, images in enumerate(rows.values()):
        for c, image in enumerate(images):
            array = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
            sheet.paste(Image.fromarray(array), (c * side, r * side))
    sheet.save(path)
    return path


def pixels_of(paths: list[Path]) -> Any:
    """The training images as a [N, 3, H, W] tensor in [0, 1]."""
    import numpy as np
    import torch

    arrays = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 for p in paths]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)


def denoising_loss(pipe: Any, targets: Any, timesteps: list[int]) -> float:
    """MSE of the noise prediction on the images' latents, fixed noise and timesteps."""
    import torch
    import torch.nn.functional as F
    from diffusers import DDPMScheduler

    sched = DDPMScheduler.from_config(pipe.scheduler.config)  # the training noise schedule
    with torch.no_grad():
        latents = pipe.vae.encode(targets * 2 - 1).latent_dist.mean
        latents = latents * pipe.vae.config.scaling_factor
        latents = latents.repeat_interleave(len(timesteps), 0)
        steps = torch.tensor(timesteps).repeat(len(targets))
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(1234))
        noisy = sched.add_noise(latents, noise, steps)
        hidden = pipe.encode_prompt(TRIGGER, "cpu", 1, False)[0]
        losses = []
        for start in range(0, len(latents), 12):
            chunk = slice(start, start + 12)
            batch_hidden = hidden.expand(len(latents[chunk]), -1, -1)
            pred = pipe.unet(noisy[chunk], steps[chunk], batch_hidden, return_dict=False)[0]
            losses.append(F.mse_loss(pred, noise[chunk], reduction="sum").item())
        return sum(losses) / noise.numel()


def render(pipe: Any, side: int, seeds: list[int]) -> Any:
    """The trigger word rendered at each seed, [S, 3, H, W] in [0, 1]."""
    import torch

    images = [
        pipe(TRIGGER, num_inference_steps=20, height=side, width=side,
             generator=torch.Generator().manual_seed(seed), output_type="pt").images[0]
        for seed in seeds
    ]  # fmt: skip
    return torch.stack(images)


def distances(rendered: Any, targets: Any) -> tuple[float, float]:
    """(mean over renders of the RMS distance to the nearest target, to all targets)."""
    rms = ((rendered[:, None] - targets[None]) ** 2).mean(dim=(2, 3, 4)).sqrt()
    return rms.min(dim=1).values.mean().item(), rms.mean().item()


def measure(args: argparse.Namespace, model: Path, paths: list[Path], loras: dict) -> dict:
    """Loss and image distances for the base model and each LoRA; saves a contact sheet."""
    import torch
    from diffusers import StableDiffusionPipeline

    torch.manual_seed(0)
    pipe = StableDiffusionPipeline.from_pretrained(str(model), safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    targets = pixels_of(paths)
    timesteps = [int(t) for t in torch.linspace(50, 950, args.timesteps).round()]
    seeds = list(range(args.seeds))
    figures, rows = {}, {"training images": targets}
    for name, weights in {"no LoRA": None, **loras}.items():
        if weights is not None:
            pipe.load_lora_weights(str(weights.parent), weight_name=weights.name)
        rendered = render(pipe, args.resolution, seeds)
        nearest, mean = distances(rendered, targets)
        figures[name] = {"loss": denoising_loss(pipe, targets, timesteps),
                         "nearest": nearest, "mean": mean}  # fmt: skip
        rows[name] = rendered
        pipe.unload_lora_weights()
    save_sheet(rows, args.work / "quality-sheet.png")
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="our steps")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=10, help="fixed timesteps per image")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the image check")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="equal wall time (quiet machine) or equal process CPU time (a shared one)",
    )  # fmt: skip
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = bench_model(args.work, {**_base_env(), "PYTHONPATH": str(REPO)})
    run = args.work / "quality"
    paths = draw_concept(run / "images", args.images, args.resolution)
    ours = train_ours(args, model, run / "images", run)
    budget = ours["cpu_seconds"] if args.clock == "cpu" else ours["seconds"]
    reference = train_reference(args, model, paths, run, budget)
    loras = {
        "lorabot": run / "ours" / "pytorch_lora_weights.safetensors",
        "reference": run / "reference" / "pytorch_lora_weights.safetensors",
    }
    figures = measure(args, model, paths, loras)
    print(f"bench model, {args.resolution}px, {args.images} images, batch {args.batch_size}, "
          f"lr {args.learning_rate}, rank {args.rank}, equal {args.clock} time {budget:.0f} s: "
          f"lorabot {ours['steps']} steps, reference {reference['steps']} steps")  # fmt: skip
    print(f"{'':<12}{'denoising loss':>16}{'×no LoRA':>10}{'RMS nearest':>13}{'RMS mean':>10}")
    base = figures["no LoRA"]["loss"]
    for name, row in figures.items():
        print(f"{name:<12}{row['loss']:>16.4f}{row['loss'] / base:>10.3f}"
              f"{row['nearest']:>13.4f}{row['mean']:>10.4f}")  # fmt: skip
    losses = {"lorabot": ours["losses"], "reference": reference["losses"]}
    for name, values in losses.items():
        print(f"{name} training loss, mean of the last 10 steps: "
              f"{statistics.fmean(values[-10:]):.4f}")  # fmt: skip
    print(f"images: {args.work / 'quality-sheet.png'}")


if __name__ == "__main__":
    main()
