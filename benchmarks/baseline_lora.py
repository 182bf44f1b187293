"""Baseline: what diffusers' `train_text_to_image_lora.py` does per step, without accelerate.

Random crop/flip in PIL, tokenize, VAE-encode and text-encode every step, square crops at the
resolution (no bucketing), AdamW with torch's default implementation. Run as a child process
by `bench_trainer.py`; writes a JSON result.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import cast_training_params
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from PIL import Image
from transformers import CLIPTextModel, CLIPTokenizer

sys.path.insert(0, str(Path(__file__).parent))
import pil_transforms as transforms  # noqa: E402


def main(config_path: str) -> None:
    """Train per the JSON config and write `result.json` beside the outputs.

    With `seconds` in the config, no step starts once that many seconds have passed since this
    function began, or with `"clock": "cpu"` once the process has used that much CPU time
    (bench_quality.py's equal time budget); `steps` is then an upper bound.
    """
    cfg = json.loads(Path(config_path).read_text())
    clock = time.process_time if cfg.get("clock") == "cpu" else time.perf_counter
    deadline = (0.0 if clock is time.process_time else clock()) + cfg.get("seconds", float("inf"))
    random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    model = cfg["model"]
    tokenizer = CLIPTokenizer.from_pretrained(model, subfolder="tokenizer")
    text_encoder = CLIPTextModel.from_pretrained(model, subfolder="text_encoder")
    vae = AutoencoderKL.from_pretrained(model, subfolder="vae")
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    noise_scheduler = DDPMScheduler.from_pretrained(model, subfolder="scheduler")
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(
            r=cfg["rank"], lora_alpha=cfg["alpha"], init_lora_weights="gaussian",
            target_modules=["to_k", "to_q", "to_v", "to_out.0"],
        )
    )  # fmt: skip
    cast_training_params(unet, dtype=torch.float32)
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg["learning_rate"], weight_decay=1e-2)
    lr_scheduler = get_scheduler("constant", optimizer=optimizer, num_training_steps=cfg["steps"])
    train_transforms = transforms.Compose([
        transforms.Resize(cfg["resolution"], interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomCrop(cfg["resolution"]),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.5], [0.5]),
    ])  # fmt: skip
    items = [(Path(p), c) for p, c in cfg["images"]]
    losses: list[float] = []
    unet.train()
    began = time.perf_counter()
    for _ in range(cfg["steps"]):
        if clock() >= deadline:
            break
        batch = random.sample(items, cfg["batch_size"])
        pixels = torch.stack([train_transforms(Image.open(p).convert("RGB")) for p, _ in batch])
        input_ids = tokenizer(
            [c for _, c in batch], max_length=tokenizer.model_max_length, padding="max_length",
            truncation=True, return_tensors="pt",
        ).input_ids  # fmt: skip
        latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(batch),))
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        hidden = text_encoder(input_ids, return_dict=False)[0]
        pred = unet(noisy, timesteps, hidden, return_dict=False)[0]
        loss = F.mse_loss(pred.float(), noise.float(), reduction="mean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    loop_seconds = time.perf_counter() - began
    out = Path(cfg["out"])
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(
        out, unet_lora_layers=layers, safe_serialization=True
    )
    result = {"losses": losses, "loop_seconds": loop_seconds, "steps": len(losses)}
    (out / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
