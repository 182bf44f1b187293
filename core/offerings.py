"""The offerings registry, from TOML: trainable kinds with their presets, bounds and prices,
the price and bounds of generating with their LoRAs, and the captioner."""

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.breakdown import Breakdown, ExactPart, apportion
from core.captioning.locations import check_captioner_location
from core.config_files import ids_from_keys, load_toml
from core.errors import InvalidInput, NotFound
from core.training.locations import builtin_family, is_builtin

Family = Literal["sd15", "sdxl", "flux", "tiny"]
RANGED = ("steps", "rank", "alpha", "learning_rate", "batch_size", "resolution")
OVERRIDABLE = (*RANGED, "train_text_encoder", "text_encoder_lr")


T = TypeVar("T")


def _one_of(choices: Mapping[str, T], key: str, missing: str, *, code: str) -> T:
    """`choices[key]`; else NotFound saying what is `missing` and listing the known keys."""
    if key not in choices:
        raise NotFound(f"{missing}; choose from {sorted(choices)}", code=code)
    return choices[key]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Preset(_Strict):
    """Training parameters of one preset (the fields a user may override, plus schedule)."""

    steps: int = Field(gt=0)
    rank: int = Field(gt=0)
    alpha: float = Field(gt=0)
    learning_rate: float = Field(gt=0)
    batch_size: int = Field(1, gt=0)
    resolution: int = Field(gt=0, multiple_of=8)
    lr_scheduler: str = "constant"
    lr_warmup_steps: int = Field(0, ge=0)
    snr_gamma: float | None = None
    sample_steps: int = Field(20, gt=0, description="Inference steps per sample image.")
    # Memory and recipe options a real FLUX.1 run needs (TrainingSpec fields of the same names).
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    use_8bit_adam: bool = False
    weighting_scheme: Literal["none", "sigma_sqrt", "logit_normal", "mode", "cosmap"] = "none"
    train_text_encoder: bool = Field(False, description="Also train LoRA on the text encoders.")
    text_encoder_lr: float | None = Field(
        None, gt=0, description="The text encoders' learning rate; None: learning_rate."
    )


class IntRange(_Strict):
    min: int
    max: int


class FloatRange(_Strict):
    min: float
    max: float


class Bounds(_Strict):
    """The inclusive range each overridable field must stay within."""

    steps: IntRange
    rank: IntRange
    alpha: FloatRange
    learning_rate: FloatRange
    batch_size: IntRange
    resolution: IntRange
    text_encoder_lr: FloatRange | None = Field(
        None, description="Absent: the offering does not train text encoders."
    )

    def violations(self, params: dict[str, float | int]) -> list[str]:
        """Messages for each field of `params` outside its range."""
        found = []
        for name in RANGED:
            limits: IntRange | FloatRange = getattr(self, name)
            value = params[name]
            if not limits.min <= value <= limits.max:
                found.append(f"{name}={value} is outside {limits.min}..{limits.max}")
        if params.get("train_text_encoder") and self.text_encoder_lr is None:
            found.append("train_text_encoder is not offered here")
        text_lr = params.get("text_encoder_lr")
        limits = self.text_encoder_lr
        if text_lr is not None and limits and not limits.min <= text_lr <= limits.max:
            found.append(f"text_encoder_lr={text_lr} is outside {limits.min}..{limits.max}")
        return found


class Pricing(_Strict):
    """How cost and duration follow from the parameters."""

    points_per_gpu_second: float = Field(gt=0)
    seconds_per_step: float = Field(gt=0, description="At the offering's resolution, batch 1.")
    base_seconds: float = Field(0, ge=0, description="Fixed overhead: loading, caching, saving.")
    vram_gb: float = Field(gt=0, description="Peak VRAM at the offering's resolution, batch 1.")
    text_encoder_step_share: float = Field(
        0,
        ge=0,
        description="Extra time of a step that trains the text encoders too (their forward "
        "and backward pass, no cached embeddings), as a share of seconds_per_step.",
    )
    text_encoder_vram_gb: float = Field(
        0, ge=0, description="Extra VRAM of text-encoder training (its activations, grads)."
    )


class GenerationBounds(_Strict):
    """The inclusive ranges of a generation request."""

    steps: IntRange
    images: IntRange
    resolution: IntRange


class Generation(_Strict):
    """Generating with a LoRA trained on this offering's base model: price and bounds.

    cost = ceil(points_per_image × images × (resolution / offering resolution)² × steps /
    default_steps); a strength sheet counts one image per strength.
    """

    points_per_image: float = Field(gt=0, description="At default_steps, offering resolution.")
    seconds_per_image: float = Field(gt=0, description="At default_steps, offering resolution.")
    base_seconds: float = Field(0, ge=0, description="Fixed overhead of a warm worker.")
    default_steps: int = Field(gt=0)
    bounds: GenerationBounds

    def _images(self, resolution0: int, images: int, steps: int, resolution: int) -> float:
        return images * (resolution / resolution0) ** 2 * steps / self.default_steps

    def breakdown(
        self, resolution0: int, *, images: int, steps: int, resolution: int
    ) -> Breakdown:
        """The price of a generation's compute, by part (its total is the charge)."""
        scaled = self._images(resolution0, images, steps, resolution)
        detail = (
            f"{images} image(s) × ({resolution}/{resolution0})² × {steps}/{self.default_steps} "
            f"steps = {round(scaled, 3)} image(s) at {self.points_per_image} points each"
        )
        rate = {"points_per_image": self.points_per_image, "default_steps": self.default_steps}
        return apportion([ExactPart("rendering", scaled * self.points_per_image, detail)], rate)

    def cost(self, resolution0: int, *, images: int, steps: int, resolution: int) -> int:
        """Points charged for a generation (rounded up)."""
        sizes = {"images": images, "steps": steps, "resolution": resolution}
        return self.breakdown(resolution0, **sizes).total

    def estimated_seconds(
        self, resolution0: int, *, images: int, steps: int, resolution: int
    ) -> float:
        """GPU-seconds a generation should take on a warm worker."""
        scaled = self._images(resolution0, images, steps, resolution)
        return round(self.base_seconds + scaled * self.seconds_per_image, 1)


class Captioner(_Strict):
    """The vision-language model that captions datasets, and its price per image."""

    title: str
    model: str = Field(
        min_length=1, description="`builtin:tiny-blip` or a local folder of a BLIP checkpoint."
    )
    enabled: bool = True
    points_per_image: float = Field(gt=0)
    seconds_per_image: float = Field(gt=0)
    base_seconds: float = Field(0, ge=0, description="Loading the captioner.")
    max_new_tokens: int = Field(40, gt=0, le=200)

    @model_validator(mode="after")
    def _known_builtin(self) -> Self:
        check_captioner_location(self.model)  # unknown builtin names fail here, at load
        return self

    def breakdown(self, images: int) -> Breakdown:
        """The price of captioning `images` images, by part (its total is the charge)."""
        detail = f"{images} image(s) at {self.points_per_image} points each"
        part = ExactPart("captioning", images * self.points_per_image, detail)
        return apportion([part], {"points_per_image": self.points_per_image})

    def cost(self, images: int) -> int:
        """Points charged for captioning `images` images (rounded up)."""
        return self.breakdown(images).total

    def estimated_seconds(self, images: int) -> float:
        """GPU-seconds a caption job of `images` images should take."""
        return round(self.base_seconds + images * self.seconds_per_image, 1)


class Offering(_Strict):
    """A trainable kind, e.g. `sd15-lora`."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    description: str = ""
    family: Family
    enabled: bool = True
    base_model: str = Field(min_length=1)
    base_model_config: str = ""
    resolution: int = Field(gt=0, multiple_of=8)
    min_images: int = Field(ge=1)
    max_images: int = Field(ge=1)
    presets: dict[str, Preset] = Field(min_length=1)
    bounds: Bounds
    pricing: Pricing
    generation: Generation | None = Field(
        None, description="Generating with this offering's LoRAs; absent: not offered."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_images > self.max_images:
            raise ValueError("min_images must not exceed max_images")
        if self.family == "tiny" and not is_builtin(self.base_model):
            raise ValueError("a tiny offering needs a builtin: base model")
        if is_builtin(self.base_model):
            builtin_family(self.base_model)  # unknown builtin names fail here, at load
        for name, preset in self.presets.items():
            problems = self.bounds.violations(preset.model_dump())
            if problems:
                raise ValueError(f"preset {name!r} breaks the bounds: {'; '.join(problems)}")
        return self

    @property
    def spec_family(self) -> str:
        """The trainer's family (`TrainingSpec.family`) of this offering's base model."""
        if is_builtin(self.base_model):
            return builtin_family(self.base_model)
        return self.family

    def preset(self, name: str) -> Preset:
        """A preset by name; NotFound lists the known ones."""
        missing = f"offering {self.id!r} has no preset {name!r}"
        return _one_of(self.presets, name, missing, code="UNKNOWN_PRESET")

    def _seconds_per_step(self, params: dict[str, float | int]) -> float:
        scale = (params["resolution"] / self.resolution) ** 2
        return self.pricing.seconds_per_step * params["batch_size"] * scale

    def _text_encoder_seconds(self, params: dict[str, float | int]) -> float:
        if not params.get("train_text_encoder"):
            return 0.0
        share = self.pricing.text_encoder_step_share
        return params["steps"] * self._seconds_per_step(params) * share

    def _gpu_seconds(self, params: dict[str, float | int]) -> float:
        steps = params["steps"] * self._seconds_per_step(params)
        return self.pricing.base_seconds + steps + self._text_encoder_seconds(params)

    def estimated_seconds(self, params: dict[str, float | int]) -> float:
        """GPU-seconds a training with these parameters is expected to take (0.1 s steps)."""
        return round(self._gpu_seconds(params), 1)

    def breakdown(self, params: dict[str, float | int]) -> Breakdown:
        """The price of a training by part: the steps' GPU time and the fixed overhead."""
        pricing = self.pricing
        per_step = self._seconds_per_step(params)
        steps_seconds = params["steps"] * per_step
        steps = ExactPart(
            "gpu_time",
            steps_seconds * pricing.points_per_gpu_second,
            f"{params['steps']} steps × {round(per_step, 4)} GPU-s (batch "
            f"{params['batch_size']}, {params['resolution']}px) = {round(steps_seconds, 1)} GPU-s",
        )
        overhead = ExactPart(
            "overhead",
            pricing.base_seconds * pricing.points_per_gpu_second,
            f"{pricing.base_seconds} GPU-s loading the base model, caching and saving",
        )
        rate = {
            "points_per_gpu_second": pricing.points_per_gpu_second,
            "seconds_per_step": round(per_step, 6),
        }
        points_per_step = round(per_step * pricing.points_per_gpu_second, 6)
        return apportion(
            [steps, overhead, *self._text_encoder_part(params)], rate, points_per_step
        )

    def _text_encoder_part(self, params: dict[str, float | int]) -> list[ExactPart]:
        seconds = self._text_encoder_seconds(params)
        if not params.get("train_text_encoder"):
            return []
        share = self.pricing.text_encoder_step_share
        detail = (
            f"training the text encoders too: +{round(share * 100)}% per step = "
            f"{round(seconds, 1)} GPU-s"
        )
        return [ExactPart("text_encoder", seconds * self.pricing.points_per_gpu_second, detail)]

    def cost(self, params: dict[str, float | int]) -> int:
        """Points charged for a training: GPU-seconds times the price, rounded up."""
        return self.breakdown(params).total

    def vram_gb(self, params: dict[str, float | int]) -> float:
        """Peak VRAM estimate; activations grow with batch size and pixels."""
        scale = (params["resolution"] / self.resolution) ** 2
        extra = self.pricing.text_encoder_vram_gb if params.get("train_text_encoder") else 0.0
        return round(self.pricing.vram_gb * (0.6 + 0.4 * params["batch_size"] * scale) + extra, 1)


class OfferingsFile(_Strict):
    offerings: dict[str, Offering]
    captioner: Captioner | None = None

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: object) -> object:
        return ids_from_keys(data, "offerings")

    @model_validator(mode="after")
    def _keys_match_ids(self) -> Self:
        for key, offering in self.offerings.items():
            if key != offering.id:
                raise ValueError(f"offerings.{key} has id {offering.id!r}; they must match")
        return self


class OfferingRegistry:
    """The offerings an operator configured, by id."""

    def __init__(self, offerings: dict[str, Offering], captioner: Captioner | None = None) -> None:
        self._offerings = dict(offerings)
        self.captioner = captioner
        """The captioner of caption jobs; None when the operator configured none."""

    @classmethod
    def load(cls, path: Path) -> "OfferingRegistry":
        """Read and validate a TOML file; ConfigFileError says what and where is wrong."""
        parsed = load_toml(path, OfferingsFile, "offerings")
        return cls(parsed.offerings, parsed.captioner)

    def get(self, offering_id: str) -> Offering:
        """An offering by id; NotFound lists the known ones."""
        missing = f"unknown offering {offering_id!r}"
        return _one_of(self._offerings, offering_id, missing, code="UNKNOWN_OFFERING")

    def all(self) -> list[Offering]:
        """Every offering, in file order."""
        return list(self._offerings.values())


def merged_params(offering: Offering, preset: str, overrides: dict[str, object]) -> dict:
    """The preset's parameters with the user's overrides (unknown fields refused)."""
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise InvalidInput(
            f"cannot override {unknown}; overridable: {list(OVERRIDABLE)}", fields=unknown
        )
    params = offering.preset(preset).model_dump()
    params.update({k: v for k, v in overrides.items() if v is not None})
    return params
