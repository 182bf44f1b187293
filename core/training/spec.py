"""The training spec: every knob of one LoRA training, JSON-serialisable and torch-free."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("sd15", "sdxl", "flux")
MIXED_PRECISIONS = ("no", "bf16", "fp16")
LR_SCHEDULERS = (
    "constant",
    "constant_with_warmup",
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
)
UNET_ATTENTION_MODULES = ["to_q", "to_k", "to_v", "to_out.0"]
TEXT_ENCODER_ATTENTION_MODULES = ["q_proj", "k_proj", "v_proj", "out_proj"]
# What diffusers' examples/dreambooth/train_dreambooth_lora_flux.py adapts by default: the
# attention projections of the double blocks (image and text streams; the single blocks'
# attn.to_q/k/v match too) and the double blocks' feed-forwards.
FLUX_TARGET_MODULES = [
    "attn.to_k", "attn.to_q", "attn.to_v", "attn.to_out.0",
    "attn.add_k_proj", "attn.add_q_proj", "attn.add_v_proj", "attn.to_add_out",
    "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj", "ff_context.net.2",
]  # fmt: skip
# diffusers.training_utils.compute_density_for_timestep_sampling's schemes (SD3 paper, §3.1).
WEIGHTING_SCHEMES = ("none", "sigma_sqrt", "logit_normal", "mode", "cosmap")


@dataclass
class TrainingSpec:
    """Everything one LoRA training needs to know, in the style of peft's `LoraConfig`.

    The daemon builds and stores it as JSON (`to_dict` / `from_dict`); the worker hands it to
    `core.training.trainer.train`.
    """

    family: str = field(
        default="sd15", metadata={"help": "Base model family: 'sd15', 'sdxl' or 'flux'."}
    )
    base_model: str = field(
        default="builtin:tiny-sd15",
        metadata={
            "help": "Where the base model lives: 'builtin:tiny-sd15' / 'builtin:tiny-sdxl' (built "
            "on first use), a local diffusers folder, or a local single-file .safetensors."
        },
    )
    base_model_config: str = field(
        default="",
        metadata={
            "help": "For a single-file checkpoint: a local diffusers folder whose configs "
            "describe it (needed offline; diffusers would otherwise fetch them from the Hub)."
        },
    )
    resolution: int = field(
        default=512,
        metadata={"help": "Training side length; buckets keep about resolution² pixels."},
    )
    steps: int = field(default=1000, metadata={"help": "Number of optimizer steps."})
    batch_size: int = field(default=1, metadata={"help": "Images per optimizer step."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate."})
    lr_scheduler: str = field(
        default="constant",
        metadata={"help": f"Learning-rate schedule, one of {', '.join(LR_SCHEDULERS)}."},
    )
    lr_warmup_steps: int = field(
        default=0, metadata={"help": "Steps of linear warm-up at the start of the schedule."}
    )
    rank: int = field(default=4, metadata={"help": "LoRA rank (dimension of the update)."})
    alpha: float = field(
        default=4.0, metadata={"help": "LoRA alpha; the update is scaled by alpha / rank."}
    )
    target_modules: list[str] = field(
        default_factory=lambda: list(UNET_ATTENTION_MODULES),
        metadata={
            "help": "UNet (or FLUX transformer) module names that receive LoRA layers; for "
            "flux the UNet default is replaced by FLUX_TARGET_MODULES."
        },
    )
    train_text_encoder: bool = field(
        default=False,
        metadata={
            "help": "Also train LoRA layers on the text encoder(s); disables the text cache."
        },
    )
    text_encoder_lr: float | None = field(
        default=None,
        metadata={
            "help": "AdamW learning rate of the text-encoder LoRA layers; None: learning_rate. "
            "kohya's recipes train text encoders at a fraction of the UNet's rate."
        },
    )
    text_encoder_target_modules: list[str] = field(
        default_factory=lambda: list(TEXT_ENCODER_ATTENTION_MODULES),
        metadata={"help": "Text encoder module names that receive LoRA layers."},
    )
    caption_dropout: float = field(
        default=0.0,
        metadata={"help": "Probability of training a sample on the empty caption."},
    )
    trigger_word: str = field(
        default="", metadata={"help": "Word put first in every caption and sample prompt."}
    )
    noise_offset: float = field(
        default=0.0, metadata={"help": "Offset noise strength (0 disables it)."}
    )
    snr_gamma: float | None = field(
        default=None,
        metadata={"help": "Min-SNR loss weighting gamma (5.0 is usual); None disables it."},
    )
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "Gradient clipping norm (0 disables clipping)."}
    )
    seed: int = field(default=0, metadata={"help": "Seed for LoRA init, data order and noise."})
    mixed_precision: str = field(
        default="no",
        metadata={
            "help": "'no', 'bf16' or 'fp16'. Frozen weights are cast and autocast is used only "
            "where the device supports it; fp16 is CUDA-only and falls back to fp32 elsewhere."
        },
    )
    allow_tf32: bool = field(
        default=False, metadata={"help": "Allow TF32 matmuls (CUDA only; ignored elsewhere)."}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Trade compute for memory in the UNet / transformer."}
    )
    use_8bit_adam: bool = field(
        default=False,
        metadata={
            "help": "bitsandbytes' 8-bit AdamW (needs bitsandbytes and CUDA; otherwise a warning "
            "and plain AdamW)."
        },
    )
    guidance_scale: float = field(
        default=3.5,
        metadata={
            "help": "flux: the guidance embedding's value in training, for guidance-distilled "
            "models such as FLUX.1-dev (ignored when the transformer has no guidance_embeds)."
        },
    )
    weighting_scheme: str = field(
        default="none",
        metadata={
            "help": f"flux: timestep sampling / loss weighting, one of {WEIGHTING_SCHEMES}."
        },
    )
    checkpoint_interval: int = field(
        default=0,
        metadata={"help": "Write a resumable checkpoint every N steps (0 disables it)."},
    )
    sample_prompts: list[str] = field(
        default_factory=list,
        metadata={"help": "Prompts for samples.png; empty means the trigger word alone."},
    )
    sample_steps: int = field(default=20, metadata={"help": "Inference steps per sample image."})
    num_threads: int = field(
        default=0, metadata={"help": "CPU threads for torch (0 keeps torch's default)."}
    )
    output_name: str = field(
        default="lora", metadata={"help": "File stem of the kohya-format output."}
    )

    def __post_init__(self) -> None:
        if self.family == "flux" and self.target_modules == UNET_ATTENTION_MODULES:
            self.target_modules = list(FLUX_TARGET_MODULES)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError when a field is out of range."""
        checks = [
            (self.family in FAMILIES, f"family must be one of {FAMILIES}"),
            (self.mixed_precision in MIXED_PRECISIONS, f"mixed_precision in {MIXED_PRECISIONS}"),
            (self.lr_scheduler in LR_SCHEDULERS, f"lr_scheduler must be in {LR_SCHEDULERS}"),
            (self.resolution >= 8 and self.resolution % 8 == 0, "resolution: multiple of 8"),
            (self.steps >= 1, "steps must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (self.text_encoder_lr is None or self.text_encoder_lr > 0, "text_encoder_lr > 0"),
            (self.rank >= 1, "rank must be >= 1"),
            (self.alpha > 0, "alpha must be > 0"),
            (0.0 <= self.caption_dropout < 1.0, "caption_dropout must be in [0, 1)"),
            (self.checkpoint_interval >= 0, "checkpoint_interval must be >= 0"),
            (bool(self.target_modules), "target_modules must not be empty"),
            (
                self.weighting_scheme in WEIGHTING_SCHEMES,
                f"weighting_scheme in {WEIGHTING_SCHEMES}",
            ),
            (
                not (self.family == "flux" and self.train_text_encoder),
                "train_text_encoder is not supported for flux (its text encoders stay frozen)",
            ),
            (bool(self.output_name.strip()), "output_name must not be empty"),
            ("/" not in self.output_name, "output_name must be a file stem"),
        ]
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise ValueError("invalid TrainingSpec: " + "; ".join(errors))

    @property
    def effective_text_encoder_lr(self) -> float:
        """The learning rate the text-encoder LoRA layers train at."""
        return self.learning_rate if self.text_encoder_lr is None else self.text_encoder_lr

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of all fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSpec:
        """Build a spec from `to_dict` output; unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainingSpec fields: {unknown}")
        return cls(**data)

    def captioned(self, caption: str) -> str:
        """The caption with the trigger word put first (once)."""
        caption = caption.strip()
        trigger = self.trigger_word.strip()
        if not trigger:
            return caption
        if caption == trigger or caption.startswith(trigger + ","):
            return caption
        return f"{trigger}, {caption}" if caption else trigger
