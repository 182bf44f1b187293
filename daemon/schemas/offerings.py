"""The trainable offerings with their presets and bounds."""

from typing import TYPE_CHECKING, Self

from pydantic import Field

from daemon.schemas.common import Answer

if TYPE_CHECKING:
    from core.offerings import Offering


class PresetOut(Answer):
    steps: int
    rank: int
    alpha: float
    learning_rate: float
    batch_size: int
    resolution: int
    train_text_encoder: bool
    text_encoder_lr: float | None


class GenerationOut(Answer):
    """Generating with this offering's LoRAs: the price rule and the bounds of a request."""

    points_per_image: float
    default_steps: int
    bounds: dict[str, dict[str, int]]


class OfferingOut(Answer):
    id: str
    title: str
    description: str
    family: str
    enabled: bool
    base_model: str
    base_model_available: bool
    resolution: int
    min_images: int
    max_images: int
    presets: dict[str, PresetOut]
    bounds: dict[str, dict[str, float]]
    pricing: dict[str, float]
    generation: GenerationOut | None = None

    @classmethod
    def of(cls, offering: "Offering", *, available: bool) -> Self:
        """An offering as clients see it; `available`: its base model is installed here."""
        shown = set(cls.model_fields) - {"presets", "base_model_available", "generation"}
        return cls(
            **offering.model_dump(include=shown, exclude_none=True),
            presets={
                name: PresetOut.model_validate(preset) for name, preset in offering.presets.items()
            },
            base_model_available=available,
            generation=None
            if offering.generation is None
            else GenerationOut.model_validate(offering.generation.model_dump()),
        )


class CaptionerOut(Answer):
    """Automatic captions of a dataset's images: the price per image."""

    title: str
    points_per_image: float
    enabled: bool
    available: bool = Field(description="The captioner is installed here (or built on first use).")


class OfferingsOut(Answer):
    offerings: list[OfferingOut]
    captioner: CaptionerOut | None = Field(None, description="null: no captions offered.")
