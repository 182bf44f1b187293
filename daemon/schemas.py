"""Request and response bodies of the daemon's own routes (they feed `/openapi.json`)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.enums import JobStatus, LedgerKind, Platform

KEY = Field(min_length=1, max_length=150, description="Repeat it to repeat the request safely.")
MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist, and would overflow the driver
MAX_POINTS = 10**12
# JSON body numbers are strict: `true`, `"5"` and `5.0` are not an id, an amount or a count.
# (Query strings are text by nature; their models convert.)
BODY_ID = Field(strict=True, ge=1, le=MAX_ID)
# Hard caps on overrides, far past every offering's bounds: within them the price arithmetic
# stays finite (an out-of-bounds value is still priced and refused as BOUNDS_EXCEEDED).
MAX_STEPS = 1_000_000
MAX_RANK = 1024
MAX_ALPHA = 100_000.0
MAX_LEARNING_RATE = 1.0
MAX_BATCH_SIZE = 1024
MAX_RESOLUTION = 16_384


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityOut(BaseModel):
    platform: Platform
    platform_user_id: str


class AccountOut(BaseModel):
    id: int
    balance: int
    identities: list[IdentityOut]
    created_at: str


class LinkCodeOut(BaseModel):
    code: str
    expires_at: str
    expires_in_seconds: int


class LinkIn(Body):
    code: str = Field(min_length=4, max_length=16)


class LinkOut(BaseModel):
    account: AccountOut
    moved_points: int
    merged_account_id: int


class LedgerQuery(Body):
    limit: int = Field(50, ge=1, le=500, description="Entries per page.")
    before_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Page: entries older than this id."
    )


class LedgerEntryOut(BaseModel):
    id: int
    delta: int
    kind: LedgerKind
    reference: str | None
    balance_after: int
    created_at: str


class LedgerOut(BaseModel):
    balance: int
    entries: list[LedgerEntryOut]


class Overrides(Body):
    """Any of the preset's fields; each must stay within the offering's bounds."""

    steps: int | None = Field(None, strict=True, ge=1, le=MAX_STEPS)
    rank: int | None = Field(None, strict=True, ge=1, le=MAX_RANK)
    alpha: float | None = Field(None, strict=True, gt=0, le=MAX_ALPHA)
    learning_rate: float | None = Field(None, strict=True, gt=0, le=MAX_LEARNING_RATE)
    batch_size: int | None = Field(None, strict=True, ge=1, le=MAX_BATCH_SIZE)
    resolution: int | None = Field(None, strict=True, ge=8, le=MAX_RESOLUTION)


class EstimateIn(Body):
    dataset_id: int = BODY_ID
    offering_id: str = Field(min_length=1, max_length=64)
    preset: str = Field("balanced", min_length=1, max_length=32)
    overrides: Overrides = Field(default_factory=Overrides)


class IssueOut(BaseModel):
    code: str
    message: str


class EstimateOut(BaseModel):
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


class JobIn(EstimateIn):
    idempotency_key: str = KEY
    reply_to: dict[str, Any] = Field(
        default_factory=dict, description="Front-end routing data echoed in notifications."
    )


class ProgressOut(BaseModel):
    step: int
    total_steps: int
    loss: float | None
    eta_seconds: float | None


class JobOut(BaseModel):
    id: int
    account_id: int
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
    reply_to: dict[str, Any]
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class JobsQuery(Body):
    status: JobStatus | None = None
    limit: int = Field(50, ge=1, le=500)


class JobsOut(BaseModel):
    jobs: list[JobOut]


class CancelOut(JobOut):
    refunded_now: int = Field(description="Points this cancel gave back.")


class MetricPoint(BaseModel):
    step: int
    loss: float
    lr: float | None


class MetricsOut(BaseModel):
    job_id: int
    points: list[MetricPoint]


class PresetOut(BaseModel):
    steps: int
    rank: int
    alpha: float
    learning_rate: float
    batch_size: int
    resolution: int


class OfferingOut(BaseModel):
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


class OfferingsOut(BaseModel):
    offerings: list[OfferingOut]


class GrantIn(Body):
    amount: int = Field(
        strict=True,
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        description="Points to add (negative takes points away).",
    )
    reason: str = Field(min_length=1, max_length=150)
    idempotency_key: str = KEY


class GrantOut(BaseModel):
    entry: LedgerEntryOut
    balance: int
    created: bool


class AdminAccountOut(BaseModel):
    id: int
    balance: int
    identities: list[IdentityOut]
    created_at: str


class AdminAccountsQuery(Body):
    limit: int = Field(100, ge=1, le=1000)
    after_id: int = Field(0, ge=0, le=MAX_ID, description="Page: accounts with a larger id.")


class AdminAccountsOut(BaseModel):
    accounts: list[AdminAccountOut]


class StatsOut(BaseModel):
    accounts: int
    jobs_by_status: dict[str, int]
    points_outstanding: int
    ledger_by_kind: dict[str, int]
    queued: int


class HealthOut(BaseModel):
    status: str
    version: str
