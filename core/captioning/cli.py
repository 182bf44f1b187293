"""`lorabot make-tiny-captioner OUT`; torch loads only when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_make_tiny_captioner_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `make-tiny-captioner OUT [--seed N]`."""
    parser = subparsers.add_parser(
        "make-tiny-captioner",
        help="build the tiny offline BLIP captioner (the layout of a real BLIP folder)",
    )
    parser.add_argument("out", type=Path, help="folder to write the BLIP checkpoint to")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run_make_tiny_captioner)
    return parser


def run_make_tiny_captioner(args: argparse.Namespace) -> int:
    """Build and save the tiny captioner; list the files it wrote."""
    from core.training.tiny_captioner import build_tiny_captioner

    out = build_tiny_captioner(args.out, seed=args.seed)
    print(f"wrote the tiny BLIP captioner to {out}:")
    for path in sorted(out.iterdir()):
        print(f"  {path.name} ({path.stat().st_size:,} bytes)")
    return 0
