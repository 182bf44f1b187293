"""Estimates and jobs: what a person asks to train, and how a job stands."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field

from core.enums import JobKind, JobStatus
from daemon.schemas.common import BODY_ID, KEY, Answer, Body

if TYPE_CHECKING:
    from core.breakdown import Breakdown
    from core.db.models import Job, Quote
    from core.estimate import Estimate
    from core.jobs import JobStanding
    from core.queue_standing import QueueStanding


# Hard caps on overrides, far past every offering's bounds: within them the price arithmetic
# stays finite (an out-of-bounds value is still priced and refused as BOUNDS_EXCEEDED).
MAX_STEPS = 1_000_000
MAX_RANK = 1024
MAX_ALPHA = 100_000.0
MAX_LEARNING_RATE = 1.0
MAX_BATCH_SIZE = 1024
MAX_RESOLUTION = 16_384


class Overrides(Body):
    """Any of the preset's fields; each must stay within the offering's bounds."""

    steps: int | None = Field(None, strict=True, ge=1, le=MAX_STEPS)
    rank: int | None = Field(None, strict=True, ge=1, le=MAX_RANK)
    alpha: float | None = Field(None, strict=True, gt=0, le=MAX_ALPHA)
    learning_rate: float | None = Field(None, strict=True, gt=0, le=MAX_LEARNING_RATE)
    batch_size: int | None = Field(None, strict=True, ge=1, le=MAX_BATCH_SIZE)
    resolution: int | None = Field(None, strict=True, ge=8, le=MAX_RESOLUTION)
    train_text_encoder: bool | None = Field(
        None, strict=True, description="Also train the text encoders (priced as its own part)."
    )
    text_encoder_lr: float | None = Field(None, strict=True, gt=0, le=MAX_LEARNING_RATE)


class EstimateIn(Body):
    dataset_id: int = BODY_ID
    offering_id: str = Field(min_length=1, max_length=64)
    preset: str = Field("balanced", min_length=1, max_length=32)
    overrides: Overrides = Field(default_factory=Overrides)


class IssueOut(Answer):
    code: str
    message: str


class PricePartOut(Answer):
    part: str = Field(
        description="gpu_time, overhead, text_encoder (trainings), captioning, rendering "
        "(generations), price_per_use (another's model)."
    )
    points: int
    detail: str = Field(description="How the part follows from the request and the rate.")


class BreakdownOut(Answer):
    """The cost in its parts, from the offering's price rule; `items` sum to `cost`."""

    items: list[PricePartOut]
    rate: dict[str, float] = Field(
        description="The price rule's rates, e.g. points_per_gpu_second and seconds_per_step "
        "(trainings) or points_per_image."
    )
    per_step: float | None = Field(description="Points per training step (null: not a training).")

    @classmethod
    def of(cls, breakdown: "Breakdown") -> Self:
        """A core breakdown on the wire."""
        return cls(
            items=[PricePartOut.model_validate(item) for item in breakdown.items],
            rate=breakdown.rate,
            per_step=breakdown.per_step,
        )


class QuoteOut(Answer):
    """A price that holds: a job sent with this id before `expires_at` is charged `cost`."""

    id: str
    cost: int
    expires_at: datetime


class EstimateOut(Answer):
    ok: bool
    offering_id: str
    preset: str
    cost: int
    estimated_seconds: float
    vram_gb: float
    image_count: int
    params: dict[str, Any]
    errors: list[IssueOut]
    warnings: list[IssueOut]
    queue_ahead: int = Field(description="Jobs waiting now that a new job would queue behind.")
    starts_in_seconds: float = Field(description="Seconds until a slot should take a new job.")
    quote: QuoteOut | None = Field(
        description="The price held for a job of exactly this request (null when not ok)."
    )
    breakdown: BreakdownOut

    @classmethod
    def of(
        cls, result: "Estimate", outlook: "QueueStanding", quote: "Quote | None" = None
    ) -> Self:
        """A preflight's answer with the queue a job submitted now would join, and its quote."""
        return cls(
            ok=result.ok,
            offering_id=result.offering_id,
            preset=result.preset,
            cost=result.cost,
            estimated_seconds=result.estimated_seconds,
            vram_gb=result.vram_gb,
            image_count=result.image_count,
            params=result.params,
            errors=[IssueOut.model_validate(issue) for issue in result.errors],
            warnings=[IssueOut.model_validate(issue) for issue in result.warnings],
            queue_ahead=outlook.ahead or 0,
            starts_in_seconds=outlook.starts_in_seconds or 0.0,
            quote=None if quote is None else QuoteOut.model_validate(quote),
            breakdown=BreakdownOut.of(result.breakdown),
        )


class JobIn(EstimateIn):
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


class ProgressOut(Answer):
    step: int
    total_steps: int
    loss: float | None
    eta_seconds: float | None


class JobOut(Answer):
    id: int
    account_id: int
    kind: JobKind = Field(description="train, caption or generate.")
    dataset_id: int | None
    offering_id: str
    preset: str
    status: JobStatus
    stage: str | None
    cost: int
    refunded: int
    estimated_seconds: float
    queue_position: int | None
    starts_in_seconds: float | None = Field(
        None, description="While queued: seconds until a slot should take it."
    )
    progress: ProgressOut
    params: dict[str, Any]
    overrides: dict[str, Any]
    attempts: int
    model_id: int | None
    error: str | None
    result: dict[str, Any] = Field(
        description="What a finished caption or generation produced ({} for a training, whose "
        "result is its model)."
    )
    reply_to: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: "Job", standing: "JobStanding", **extra: Any) -> Self:
        """A job row with where it stands in the queue (`extra`: a subclass's own fields)."""
        progress = ProgressOut(
            step=job.step,
            total_steps=job.total_steps,
            loss=job.loss,
            eta_seconds=standing.eta_seconds,
        )
        derived = {
            "queue_position": standing.queue_position,
            "starts_in_seconds": standing.starts_in_seconds,
            "model_id": standing.model_id,
            "progress": progress,
            **extra,
        }
        row = {name: getattr(job, name) for name in cls.model_fields if name not in derived}
        return cls.model_validate(row | derived)

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class JobsQuery(Body):
    status: JobStatus | None = None
    kind: JobKind | None = None
    limit: int = Field(50, ge=1, le=500)


class JobsOut(Answer):
    jobs: list[JobOut]


class CancelOut(JobOut):
    refunded_now: int = Field(description="Points this cancel gave back.")


class KeepIn(Body):
    step: int = Field(strict=True, ge=1, le=MAX_STEPS, description="A saved checkpoint's step.")


class KeepOut(JobOut):
    refunded_now: int = Field(description="Points this keep gave back (the steps not needed).")
    model_id: int = Field(description="The model registered from the kept checkpoint.")


class MetricPoint(Answer):
    step: int
    loss: float
    lr: float | None


class SampleOut(Answer):
    step: int
    name: str
    url: str


class MetricsOut(Answer):
    job_id: int
    points: list[MetricPoint]
    samples: list[SampleOut] = Field(
        default_factory=list, description="The sample rendered at each saved checkpoint."
    )
