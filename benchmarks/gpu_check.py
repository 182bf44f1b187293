"""The GPU check: the bench model at 512 px, bf16, through `lorabot train` and the official script.

    python benchmarks/gpu_check.py --reference var/ref/train_text_to_image_lora.py
    python benchmarks/gpu_check.py --reference ... --dry-run    # CPU: 64 px, 2 steps, minutes

Runs bench_trainer.py's jobs (the reference, our first job, our second job) on CUDA with
`--mixed-precision bf16`; both use PyTorch's SDPA attention, diffusers' default. Prints the
table and, per job, it/s of the training loop, peak GPU memory and the ratios to the reference.
Without CUDA it refuses unless `--dry-run`, which checks the whole path quickly on a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import FIRST, REFERENCE, SECOND  # noqa: E402
from bench_trainer import main as bench


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="train_text_to_image_lora.py")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--dry-run", action="store_true", help="tiny settings, CPU allowed")
    parser.add_argument("--work", default="var/bench")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import torch

    if not torch.cuda.is_available() and not args.dry_run:
        raise SystemExit("no CUDA device: run with --dry-run to check the script on a CPU")
    common = ["--reference", args.reference, "--work", args.work]
    if args.dry_run:
        argv = [*common, "--steps", "2", "--resolution", "64", "--images", "2",
                "--sample-steps", "1"]  # fmt: skip
    else:
        argv = [*common, "--steps", str(args.steps), "--resolution", "512",
                "--mixed-precision", "bf16", "--sample-steps", "20"]  # fmt: skip
    jobs = bench(argv)
    ref = jobs.results[REFERENCE][0]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (dry run)"
    print(f"\n{device}: it/s of the loop, peak GPU memory, ratios to the reference")
    for name in (REFERENCE, FIRST, SECOND):
        row = jobs.results[name][0]
        speed = 1 / row.step_seconds
        gpu = f"{row.cuda_peak_mb:.0f} MB" if row.cuda_peak_mb is not None else "n/a"
        ratio = row.wall / ref.wall
        print(f"{name:<22} {speed:6.2f} it/s ({speed * ref.step_seconds:.2f}× ref)  "
              f"peak {gpu}  wall {row.wall:.1f} s ({ratio:.2f}× ref)")  # fmt: skip


if __name__ == "__main__":
    main()
