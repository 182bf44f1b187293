"""Freeze the base model, attach LoRA adapters with peft, and read them back out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from diffusers.training_utils import cast_training_params
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from core.training.spec import TrainingSpec


@dataclass(frozen=True)
class Precision:
    """Where mixed precision applies on this machine."""

    device: torch.device
    weight_dtype: torch.dtype
    autocast_dtype: torch.dtype | None


def resolve_precision(spec: TrainingSpec) -> Precision:
    """Pick device and dtypes: fp16 only on CUDA, bf16 where the device supports it."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda and spec.allow_tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    dtype: torch.dtype | None = None
    if spec.mixed_precision == "fp16" and cuda:
        dtype = torch.float16
    elif spec.mixed_precision == "bf16" and (not cuda or torch.cuda.is_bf16_supported()):
        dtype = torch.bfloat16
    return Precision(device, dtype or torch.float32, dtype)


def freeze_and_place(pipe: Any, precision: Precision) -> None:
    """Freeze every base weight and move the models to the device in the weight dtype."""
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        model = getattr(pipe, name, None)
        if model is None:
            continue
        model.requires_grad_(False)
        # The VAE stays fp32: it runs once per image (cached) and fp16 VAEs overflow.
        dtype = torch.float32 if name == "vae" else precision.weight_dtype
        model.to(precision.device)
        if dtype != torch.float32:
            model.to(dtype=dtype)


def _config(spec: TrainingSpec, targets: list[str]) -> LoraConfig:
    return LoraConfig(
        r=spec.rank,
        lora_alpha=spec.alpha,
        init_lora_weights="gaussian",
        target_modules=targets,
    )


def attach_lora(pipe: Any, spec: TrainingSpec) -> list[torch.nn.Parameter]:
    """Add LoRA adapters (UNet, optionally text encoders); returns the fp32 trainable params."""
    torch.manual_seed(spec.seed)
    models = [pipe.unet]
    pipe.unet.add_adapter(_config(spec, spec.target_modules))
    if spec.train_text_encoder:
        for encoder in text_encoders(pipe):
            encoder.add_adapter(_config(spec, spec.text_encoder_target_modules))
            models.append(encoder)
    cast_training_params(models, dtype=torch.float32)
    if spec.gradient_checkpointing:
        pipe.unet.enable_gradient_checkpointing()
    return [p for model in models for p in model.parameters() if p.requires_grad]


def optimizer_groups(pipe: Any, spec: TrainingSpec) -> list[dict[str, Any]]:
    """Trainable params as optimizer groups: the UNet's, then the text encoders' at their lr."""
    groups = [{"params": _trainable(pipe.unet), "lr": spec.learning_rate}]
    encoder_params = [p for encoder in text_encoders(pipe) for p in _trainable(encoder)]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": spec.effective_text_encoder_lr})
    return groups


def _trainable(model: Any) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def text_encoders(pipe: Any) -> list[Any]:
    """The pipeline's text encoders (one for SD-1.5, two for SDXL)."""
    names = ("text_encoder", "text_encoder_2")
    return [getattr(pipe, n) for n in names if getattr(pipe, n, None) is not None]


def trainable_state(pipe: Any) -> dict[str, torch.Tensor]:
    """All LoRA parameters by qualified name (for checkpoints)."""
    state: dict[str, torch.Tensor] = {}
    for prefix in ("unet", "transformer", "text_encoder", "text_encoder_2"):
        model = getattr(pipe, prefix, None)
        if model is None:
            continue
        for name, param in model.named_parameters():
            if param.requires_grad:
                state[f"{prefix}.{name}"] = param.detach().cpu().clone()
    return state


@torch.no_grad()
def load_trainable_state(pipe: Any, state: dict[str, torch.Tensor]) -> None:
    """Copy checkpointed LoRA parameters back into the live models."""
    for key, value in state.items():
        prefix, name = key.split(".", 1)
        param = dict(getattr(pipe, prefix).named_parameters())[name]
        param.copy_(value.to(param.device, param.dtype))


def lora_layers(pipe: Any, spec: TrainingSpec) -> dict[str, dict[str, torch.Tensor]]:
    """Diffusers-format LoRA state dicts per component, as `save_lora_weights` expects."""
    layers = {"unet": convert_state_dict_to_diffusers(get_peft_model_state_dict(pipe.unet))}
    if spec.train_text_encoder:
        for name in ("text_encoder", "text_encoder_2"):
            model = getattr(pipe, name, None)
            if model is not None:
                state = get_peft_model_state_dict(model)
                layers[name] = convert_state_dict_to_diffusers(state)
    return layers


def adapter_metadata(model: Any) -> dict[str, Any]:
    """The peft config of a model's adapter, stored so loaders see the real alpha."""
    return model.peft_config["default"].to_dict()
