"""The trainable offerings with their presets and bounds."""

from typing import TYPE_CHECKING, Self

from pydantic import Field

from daemon.schemas.common import Answer
from daemon.schemas.jobs import IssueOut

if TYPE_CHECKING:
    from core.estimate import Issue
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
    available: bool = Field(
        description="It can train on this install: enabled, and its base model is installed "
        "(or a `builtin:` one, built on first use)."
    )
    unavailable_reason: IssueOut | None = Field(
        None,
        description="Why not, when not available: OFFERING_DISABLED or BASE_MODEL_MISSING, "
        "the same error an estimate or a job of it gets.",
    )
    resolution: int
    min_images: int
    max_images: int
    presets: dict[str, PresetOut]
    bounds: dict[str, dict[str, float]]
    pricing: dict[str, float]
    generation: GenerationOut | None = None

    @classmethod
    def of(cls, offering: "Offering", *, base_model: bool, unavailable: "Issue | None") -> Self:
        """An offering as clients see it; `base_model`: its base model is installed here;
        `unavailable`: why it cannot train here (None: it can)."""
        computed = {"presets", "base_model_available", "available", "unavailable_reason"}
        shown = set(cls.model_fields) - computed - {"generation"}
        return cls(
            **offering.model_dump(include=shown, exclude_none=True),
            presets={
                name: PresetOut.model_validate(preset) for name, preset in offering.presets.items()
            },
            base_model_available=base_model,
            available=unavailable is None,
            unavailable_reason=None
            if unavailable is None
            else IssueOut.model_validate(unavailable),
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
