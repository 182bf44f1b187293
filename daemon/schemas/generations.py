"""Generations: what a person asks to render with a model, its price, and its images."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from core.enums import JobStatus
from core.generation.spec import MAX_STRENGTH, SHEET_SIZES
from core.naming import has_control_chars
from daemon.schemas.common import BODY_ID, KEY, Answer, Body
from daemon.schemas.jobs import (
    MAX_RESOLUTION,
    BreakdownOut,
    IssueOut,
    ProgressOut,
    QuoteOut,
)

if TYPE_CHECKING:
    from core.db.models import Job, Quote
    from core.generations import GenerationEstimate
    from core.jobs import JobStanding

MAX_PROMPT_CHARS = 1000
# Hard caps far past every offering's bounds (within them a request is priced and refused as
# BOUNDS_EXCEEDED with the offering's own limits).
MAX_COUNT = 64
MAX_GENERATION_STEPS = 10_000
MAX_SEED = 2**32 - 1

Strength = Annotated[float, Field(strict=True, ge=0, le=MAX_STRENGTH)]


def file_url(generation_id: int, name: str) -> str:
    """Where one image of a generation is downloaded."""
    return f"/v1/generations/{generation_id}/files/{name}"


class GenerationIn(Body):
    model_id: int = BODY_ID
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    negative_prompt: str = Field("", max_length=MAX_PROMPT_CHARS)
    count: int = Field(1, strict=True, ge=1, le=MAX_COUNT, description="Images, seeds seed+i.")
    seed: int | None = Field(
        None, strict=True, ge=0, le=MAX_SEED, description="Null: the daemon picks one."
    )
    steps: int | None = Field(
        None, strict=True, ge=1, le=MAX_GENERATION_STEPS, description="Null: the default."
    )
    resolution: int | None = Field(
        None, strict=True, ge=8, le=MAX_RESOLUTION, description="Null: the offering's."
    )
    strength: Strength = Field(1.0, description="The LoRA's weight; 0 renders without it.")
    strengths: list[Strength] | None = Field(
        None,
        min_length=SHEET_SIZES[0],
        max_length=SHEET_SIZES[1],
        description="A strength sheet: the same seed at each weight, one tile each (count 1).",
    )

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if has_control_chars(value, allow="\n\t"):
            raise ValueError("a prompt cannot hold control characters")
        return value

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a prompt needs more than white space")
        return value

    @model_validator(mode="after")
    def _sheet_of_one(self) -> Self:
        if self.strengths is not None and self.count != 1:
            raise ValueError("a strength sheet renders one image per strength: count must be 1")
        return self


class GenerationJobIn(GenerationIn):
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


class GenerationEstimateOut(Answer):
    ok: bool
    cost: int = Field(description="Compute plus the model's price per use (others' models).")
    price_per_use: int = Field(description="The part of the cost its owner is paid for.")
    estimated_seconds: float
    image_count: int = Field(description="Images rendered (a sheet: one per strength).")
    params: dict[str, Any]
    errors: list[IssueOut]
    warnings: list[IssueOut]
    quote: QuoteOut | None = Field(
        description="The price held for a generation of exactly this request (null when not ok)."
    )
    breakdown: BreakdownOut

    @classmethod
    def of(cls, result: "GenerationEstimate", quote: "Quote | None" = None) -> Self:
        """A generation's preflight answer, with its quote."""
        return cls(
            ok=result.ok,
            cost=result.cost,
            price_per_use=result.price_per_use,
            estimated_seconds=result.estimated_seconds,
            image_count=result.image_count,
            params=result.params,
            errors=[IssueOut.model_validate(issue) for issue in result.errors],
            warnings=[IssueOut.model_validate(issue) for issue in result.warnings],
            quote=None if quote is None else QuoteOut.model_validate(quote),
            breakdown=BreakdownOut.of(result.breakdown),
        )


class GenerationFileOut(Answer):
    name: str
    width: int
    height: int
    size: int
    url: str


class GenerationImageOut(GenerationFileOut):
    seed: int
    strength: float


class GenerationOut(Answer):
    id: int = Field(description="The job's id (cancel it with POST /v1/jobs/{id}/cancel).")
    status: JobStatus
    stage: str | None
    cost: int
    refunded: int
    model_id: int
    prompt: str
    negative_prompt: str
    count: int
    seed: int
    steps: int
    resolution: int
    strength: float
    strengths: list[float] | None
    images: list[GenerationImageOut] = Field(description="Once completed; a sheet's tiles.")
    sheet: GenerationFileOut | None = Field(description="A strength sheet, once completed.")
    queue_position: int | None
    progress: ProgressOut
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: "Job", standing: "JobStanding") -> Self:
        """A generation job with its images and where it stands in the queue."""
        params, result = job.params, job.result
        keys = ("model_id", "prompt", "negative_prompt", "count", "seed", "steps", "resolution")
        sheet = result.get("sheet")
        return cls(
            id=job.id,
            status=job.status,
            stage=job.stage,
            cost=job.cost,
            refunded=job.refunded,
            **{key: params[key] for key in keys},
            strength=params["strength"],
            strengths=params["strengths"],
            images=[
                GenerationImageOut(
                    **_file(job.id, entry), seed=entry["seed"], strength=entry["strength"]
                )
                for entry in result.get("images", [])
            ],  # fmt: skip
            sheet=None if sheet is None else GenerationFileOut(**_file(job.id, sheet)),
            queue_position=standing.queue_position,
            progress=ProgressOut(
                step=job.step,
                total_steps=job.total_steps,
                loss=None,
                eta_seconds=standing.eta_seconds,
            ),
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


def _file(generation_id: int, entry: dict[str, Any]) -> dict[str, Any]:
    fields = {name: entry[name] for name in ("name", "width", "height", "size")}
    return {**fields, "url": file_url(generation_id, entry["name"])}


class GenerationsQuery(Body):
    limit: int = Field(50, ge=1, le=500)


class GenerationsOut(Answer):
    generations: list[GenerationOut]
