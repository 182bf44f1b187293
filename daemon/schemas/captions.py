"""Caption jobs: what a person asks to caption, its price, and what the job wrote."""

from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import Field

from daemon.schemas.common import KEY, Answer, Body
from daemon.schemas.jobs import BreakdownOut, IssueOut, QuoteOut

if TYPE_CHECKING:
    from core.captions import CaptionEstimate
    from core.db.models import Quote


class CaptionIn(Body):
    images: Literal["uncaptioned", "all"] = Field(
        "uncaptioned", description="Caption the images without a caption, or all of them."
    )
    style: Literal["sentence", "tags"] = Field(
        "sentence", description="A sentence, or comma-separated tags."
    )
    trigger_first: bool = Field(
        True, strict=True, description="Start every caption with the dataset's trigger word."
    )
    overwrite: bool = Field(
        False,
        strict=True,
        description="Replace captions images have when the job ends (else they are kept).",
    )


class CaptionJobIn(CaptionIn):
    idempotency_key: str = KEY
    reply_to: dict[str, Any] = Field(
        default_factory=dict, description="Front-end routing data echoed in notifications."
    )
    quote_id: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="The estimate's quote: charge exactly its cost, or answer 409 "
        "QUOTE_EXPIRED / QUOTE_CHANGED with a fresh quote in `details.quote`.",
    )


class CaptionEstimateOut(Answer):
    ok: bool
    cost: int
    image_count: int = Field(description="Images the job would caption.")
    estimated_seconds: float
    errors: list[IssueOut]
    warnings: list[IssueOut]
    quote: QuoteOut | None = Field(
        description="The price held for a job of exactly this request (null when not ok)."
    )
    breakdown: BreakdownOut

    @classmethod
    def of(cls, result: "CaptionEstimate", quote: "Quote | None" = None) -> Self:
        """A caption preflight's answer with its quote."""
        return cls(
            ok=result.ok,
            cost=result.cost,
            image_count=result.image_count,
            estimated_seconds=result.estimated_seconds,
            errors=[IssueOut.model_validate(issue) for issue in result.errors],
            warnings=[IssueOut.model_validate(issue) for issue in result.warnings],
            quote=None if quote is None else QuoteOut.model_validate(quote),
            breakdown=BreakdownOut.of(result.breakdown),
        )


class CaptionLineOut(Answer):
    image_id: int | None = Field(description="null when the image was deleted meanwhile.")
    caption: str
    written: bool = Field(description="Whether it is now the image's caption.")


class CaptionResultOut(Answer):
    """A completed caption job's `result` (read it from `JobOut.result`)."""

    captions: list[CaptionLineOut]
    written: int
    kept: int = Field(description="Images that had a caption by then, kept (overwrite off).")
    missing: int = Field(description="Images deleted while the job ran.")
