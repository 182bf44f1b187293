"""`lorabot train` and `lorabot make-tiny-model`; torch loads only when a command runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.training.presets import PRESET_NAMES

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `train IMAGES_DIR --base PATH --family F --preset P --out DIR [overrides]`."""
    parser = subparsers.add_parser("train", help="train a LoRA on a folder of images")
    parser.add_argument("images_dir", type=Path, help="images, with optional .txt captions")
    parser.add_argument("--base", required=True, help="diffusers folder, .safetensors or builtin:")
    parser.add_argument("--base-config", default="", help="configs for a single-file checkpoint")
    parser.add_argument("--family", choices=("sd15", "sdxl"), default="sd15")
    parser.add_argument("--preset", choices=PRESET_NAMES, default="fast")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="resumable checkpoints go here, and each checkpoint's LoRA files and sample (saved/)",
    )
    parser.add_argument("--checkpoint-interval", type=int, help="steps between checkpoints")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--rank", type=int)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--trigger", help="trigger word put first in every caption")
    parser.add_argument("--mixed-precision", choices=("no", "bf16", "fp16"))
    parser.add_argument("--sample-steps", type=int)
    parser.add_argument("--name", help="file stem of the kohya-format output")
    parser.add_argument(
        "--train-text-encoder",
        action="store_true",
        default=None,
        help="also train LoRA layers on the text encoder(s) (slower: no cached embeddings)",
    )
    parser.add_argument(
        "--text-encoder-lr", type=float, help="text encoders' learning rate (default: lr)"
    )
    parser.set_defaults(func=run_train)
    return parser


def add_make_tiny_model_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `make-tiny-model OUT --family sd15|sdxl|flux [--size tiny|bench]`."""
    parser = subparsers.add_parser("make-tiny-model", help="build a small offline base model")
    parser.add_argument("out", type=Path, help="folder to write the diffusers pipeline to")
    parser.add_argument("--family", choices=("sd15", "sdxl", "flux"), default="sd15")
    parser.add_argument("--size", choices=("tiny", "bench"), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run_make_tiny_model)
    return parser


def data_dir_from_env() -> Path:
    """`LORABOT_DATA_DIR`, defaulting to ./var, where caches and builtin models live."""
    return Path(os.environ.get("LORABOT_DATA_DIR", "var"))


def collect_images(images_dir: Path) -> list[tuple[Path, str]]:
    """Image files of a folder with the caption of their `.txt` sidecar (or none)."""
    found = []
    for path in sorted(images_dir.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            sidecar = path.with_suffix(".txt")
            caption = sidecar.read_text(encoding="utf-8").strip() if sidecar.is_file() else ""
            found.append((path, caption))
    return found


def run_make_tiny_model(args: argparse.Namespace) -> int:
    """Build and save a tiny (or benchmark-sized) base model."""
    from core.training.tiny_model import build_tiny_model

    out = build_tiny_model(args.out, family=args.family, size=args.size, seed=args.seed)
    print(f"wrote {args.family} {args.size} model to {out}")
    return 0


def spec_from_args(args: argparse.Namespace) -> Any:
    """The TrainingSpec of `lorabot train` arguments; ValueError for bad combinations."""
    from core.training.presets import spec_from_preset

    if args.text_encoder_lr is not None and not args.train_text_encoder:
        raise ValueError("--text-encoder-lr needs --train-text-encoder")
    return spec_from_preset(
        args.family,
        args.preset,
        base_model=args.base,
        base_model_config=args.base_config or None,
        steps=args.steps,
        resolution=args.resolution,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        rank=args.rank,
        alpha=args.alpha,
        seed=args.seed,
        trigger_word=args.trigger,
        mixed_precision=args.mixed_precision,
        sample_steps=args.sample_steps,
        output_name=args.name,
        train_text_encoder=args.train_text_encoder,
        text_encoder_lr=args.text_encoder_lr,
        checkpoint_interval=args.checkpoint_interval,
    )


def run_train(args: argparse.Namespace) -> int:
    """Train with a rich progress bar; exit code 0 on success, 1 on bad input, 130 on Ctrl-C."""
    from rich.console import Console

    console = Console(stderr=True)
    try:
        spec = spec_from_args(args)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    if not args.images_dir.is_dir() or not collect_images(args.images_dir):
        console.print(f"[red]no images found in {args.images_dir}[/red]")
        return 1
    from core.training.cli_progress import train_with_progress

    return train_with_progress(spec, args, collect_images(args.images_dir), console)
