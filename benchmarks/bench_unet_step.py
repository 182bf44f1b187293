"""One LoRA training step of the bench UNet under each setting the speed work tried.

    .venv/bin/python benchmarks/bench_unet_step.py [--rounds 6] [--steps 3] [--resolution 256]

Builds the `bench` model (SD-1.5's block structure scaled down) in memory, adds the trainer's
LoRA (rank 4 on the attention projections), and times a forward, backward and AdamW step at
batch 2 for: fp32 (the default), bf16 weights with CPU autocast, a `channels_last` UNet, and
the math SDPA kernel instead of the flash one. The settings are interleaved round by round in
one process, so a load change slows them alike; the table gives medians and ratios to fp32.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from peft import LoraConfig
from torch.nn.attention import SDPBackend, sdpa_kernel

from core.training.tiny_model import build_tiny_pipeline

TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def make_step(setting: str, resolution: int) -> Callable[[], None]:
    """A fresh UNet with its LoRA and optimizer, placed as `setting` asks; one step per call."""
    torch.manual_seed(0)
    unet = build_tiny_pipeline("sd15", "bench").unet
    unet.requires_grad_(False)
    dtype = torch.bfloat16 if setting == "bf16" else torch.float32
    if dtype != torch.float32:
        unet.to(dtype=dtype)
    if setting == "channels_last":
        unet.to(memory_format=torch.channels_last)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                target_modules=TARGETS))  # fmt: skip
    params = [p for p in unet.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()  # trainable LoRA weights stay fp32, as the trainer keeps them
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    side = resolution // 8
    latents = torch.randn(2, 4, side, side)
    if setting == "channels_last":
        latents = latents.to(memory_format=torch.channels_last)
    hidden = torch.randn(2, 77, unet.config.cross_attention_dim)
    timesteps = torch.tensor([500, 300])

    def step() -> None:
        with _placement(setting):
            out = unet(latents.to(dtype), timesteps, hidden.to(dtype)).sample
        torch.nn.functional.mse_loss(out.float(), latents.float()).backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


@contextlib.contextmanager
def _placement(setting: str) -> Iterator[None]:
    if setting == "bf16":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    elif setting == "sdpa_math":
        with sdpa_kernel(SDPBackend.MATH):
            yield
    else:
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=3, help="steps per setting per round")
    parser.add_argument("--resolution", type=int, default=256)
    args = parser.parse_args()
    settings = ["fp32", "bf16", "channels_last", "sdpa_math"]
    steps = {name: make_step(name, args.resolution) for name in settings}
    for step in steps.values():  # warm-up: first calls allocate and pick kernels
        step()
    walls: dict[str, list[float]] = {name: [] for name in settings}
    cpus: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                step()
            walls[name].append((time.perf_counter() - wall) / args.steps)
            cpus[name].append((time.process_time() - cpu) / args.steps)
    base = statistics.median(walls["fp32"])
    print(f"bench UNet + LoRA r4, {args.resolution}px, batch 2, {args.rounds} rounds x "
          f"{args.steps} steps, {torch.get_num_threads()} threads")  # fmt: skip
    print(f"{'setting':<15}{'wall s/step':>12}{'x fp32':>8}{'CPU s/step':>12}")
    for name in settings:
        wall = statistics.median(walls[name])
        print(f"{name:<15}{wall:>12.3f}{wall / base:>8.2f}{statistics.median(cpus[name]):>12.3f}")


if __name__ == "__main__":
    main()
