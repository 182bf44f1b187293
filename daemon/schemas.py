"""Every request and response body of the daemon's RPC: the one home of each wire shape.

Response models (`...Out`) build themselves from the domain's rows and dataclasses (by
attribute, or with an `of(...)` classmethod where the wire shape is not the row's), serialise
the answer (`daemon.answers.json_answer`) and feed `/openapi.json`. The bots read answers with
the same models, so this module imports only pydantic and `core.enums`: a bot host loads it
without SQLAlchemy or aiohttp. Unknown fields are ignored on reading, so the RPC may grow.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field

from core.enums import JobStatus, LedgerKind, Platform, RefusalCode, Visibility

if TYPE_CHECKING:
    from core.dataset_images import UploadOutcome
    from core.datasets import CountedDataset
    from core.db.models import Image, Job, Model
    from core.estimate import Estimate
    from core.jobs import JobStanding
    from core.offerings import Offering
    from core.queue_standing import QueueStanding

KEY = Field(min_length=1, max_length=150, description="Repeat it to repeat the request safely.")
MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist, and would overflow the driver
MAX_POINTS = 10**12
MAX_WAIT_SECONDS = 60.0
# As many as `core.notifications.fetch_pending` leases at once.
MAX_NOTIFICATIONS = 100
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


class Answer(BaseModel):
    """A response body; `model_validate(row)` reads a row's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)


class IdentityOut(Answer):
    platform: Platform
    platform_user_id: str


class AccountOut(Answer):
    id: int
    balance: int
    identities: list[IdentityOut]
    created_at: datetime


class LinkCodeOut(Answer):
    code: str
    expires_at: datetime
    expires_in_seconds: int


class LinkIn(Body):
    code: str = Field(min_length=4, max_length=16)


class LinkOut(Answer):
    account: AccountOut
    moved_points: int
    merged_account_id: int


class LedgerQuery(Body):
    limit: int = Field(50, ge=1, le=500, description="Entries per page.")
    before_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Page: entries older than this id."
    )


class LedgerEntryOut(Answer):
    id: int
    delta: int
    kind: LedgerKind
    reference: str | None
    balance_after: int
    created_at: datetime


class LedgerOut(Answer):
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


class IssueOut(Answer):
    code: str
    message: str


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

    @classmethod
    def of(cls, result: "Estimate", outlook: "QueueStanding") -> Self:
        """A preflight's answer with the queue a job submitted now would join."""
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
        )


class JobIn(EstimateIn):
    idempotency_key: str = KEY
    reply_to: dict[str, Any] = Field(
        default_factory=dict, description="Front-end routing data echoed in notifications."
    )


class ProgressOut(Answer):
    step: int
    total_steps: int
    loss: float | None
    eta_seconds: float | None


class JobOut(Answer):
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
    limit: int = Field(50, ge=1, le=500)


class JobsOut(Answer):
    jobs: list[JobOut]


class CancelOut(JobOut):
    refunded_now: int = Field(description="Points this cancel gave back.")


class MetricPoint(Answer):
    step: int
    loss: float
    lr: float | None


class MetricsOut(Answer):
    job_id: int
    points: list[MetricPoint]


class PresetOut(Answer):
    steps: int
    rank: int
    alpha: float
    learning_rate: float
    batch_size: int
    resolution: int


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

    @classmethod
    def of(cls, offering: "Offering", *, available: bool) -> Self:
        """An offering as clients see it; `available`: its base model is installed here."""
        shown = set(cls.model_fields) - {"presets", "base_model_available"}
        return cls(
            **offering.model_dump(include=shown),
            presets={
                name: PresetOut.model_validate(preset) for name, preset in offering.presets.items()
            },
            base_model_available=available,
        )


class OfferingsOut(Answer):
    offerings: list[OfferingOut]


class DatasetsQuery(BaseModel):
    include_public: bool = Field(False, description="Also list others' public datasets.")


class DatasetOut(Answer):
    id: int
    name: str
    trigger_word: str | None
    description: str
    tags: list[str]
    visibility: Visibility
    image_count: int
    owned: bool = Field(description="Whether the acting account owns it.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, counted: "CountedDataset", *, viewer: int) -> Self:
        """A dataset with its image count, as the account `viewer` sees it."""
        dataset = counted.dataset
        return cls(
            id=dataset.id,
            name=dataset.name,
            trigger_word=dataset.trigger_word,
            description=dataset.description,
            tags=list(dataset.tags),
            visibility=Visibility(dataset.visibility),
            image_count=counted.image_count,
            owned=dataset.account_id == viewer,
            created_at=dataset.created_at,
            updated_at=dataset.updated_at,
        )


class DatasetList(Answer):
    datasets: list[DatasetOut]


class Deleted(Answer):
    deleted: bool
    blobs_removed: int = Field(description="Stored files no other image used any more.")


class ImagePatch(Body):
    caption: str = Field(description="The new caption; empty removes it.")


class UploadForm(BaseModel):
    """multipart/form-data: one or more `image` parts (each with a filename) and an optional
    `captions` part holding a JSON object from file name to caption."""

    image: list[bytes] = Field(description="The picture files (JPEG, PNG or WebP).")
    captions: str | None = Field(None, description='JSON, e.g. {"cat1.jpg": "a cat, sitting"}')


class _ImageAnswer(Answer):
    """An answer made of an image row's fields, whichever of them the subclass declares."""

    @classmethod
    def of(cls, row: "Image") -> Self:
        return cls.model_validate({**_image_fields(row, cls), "filename": row.original_filename})


class ImageOut(_ImageAnswer):
    id: int
    dataset_id: int
    filename: str
    width: int
    height: int
    caption: str
    byte_size: int
    content_hash: str
    created_at: datetime


class ImageList(Answer):
    images: list[ImageOut]


class AddedImage(_ImageAnswer):
    id: int
    filename: str
    width: int
    height: int
    caption: str


def _image_fields(row: "Image", model: type[Answer]) -> dict[str, Any]:
    # The row keeps the name as sent in `original_filename`; the wire calls it `filename`.
    return {name: getattr(row, name) for name in model.model_fields if name != "filename"}


class RefusedImage(Answer):
    filename: str
    code: RefusalCode
    message: str


class UploadResult(Answer):
    """The answer to an upload: every file is either added or refused with its reason."""

    added: list[AddedImage]
    refused: list[RefusedImage]

    @classmethod
    def of(cls, outcome: "UploadOutcome") -> Self:
        return cls(
            added=[AddedImage.of(row) for row in outcome.added],
            refused=[RefusedImage.model_validate(refusal) for refusal in outcome.refused],
        )


class ModelFileOut(Answer):
    name: str
    role: str | None = Field(description="lora_diffusers, lora_kohya, loss_curve, samples, ...")
    kind: str = Field(description="lora, image or json")
    size: int
    sha256: str
    url: str


class ModelOut(Answer):
    id: int
    job_id: int
    dataset_id: int | None
    offering_id: str
    name: str
    trigger_word: str | None
    format: str
    files: list[ModelFileOut]
    final_loss: float | None
    steps: int | None
    created_at: datetime

    @classmethod
    def of(cls, model: "Model") -> Self:
        """A model row; each stored file gets its download URL."""
        files = [
            ModelFileOut(
                name=f["name"],
                role=f.get("role"),
                kind=f["kind"],
                size=f["size"],
                sha256=f["sha256"],
                url=f"/v1/models/{model.id}/files/{f['name']}",
            )
            for f in model.files
        ]
        return cls(
            id=model.id,
            job_id=model.job_id,
            dataset_id=model.dataset_id,
            offering_id=model.offering_id,
            name=model.name,
            trigger_word=model.trigger_word,
            format=model.format,
            files=files,
            final_loss=model.summary.get("final_loss"),
            steps=model.summary.get("steps"),
            created_at=model.created_at,
        )


class ModelsOut(Answer):
    models: list[ModelOut]


class NotificationsQuery(Body):
    platform: Platform
    wait: float = Field(
        0.0, ge=0.0, le=MAX_WAIT_SECONDS, description="Seconds to wait when none are pending."
    )
    limit: int = Field(50, ge=1, le=MAX_NOTIFICATIONS)


class NotificationOut(Answer):
    id: int
    kind: str
    account_id: int
    platform: Platform
    platform_user_id: str
    payload: dict[str, Any]
    created_at: datetime
    deliveries: int


class NotificationsOut(Answer):
    notifications: list[NotificationOut]


class AckIn(Body):
    ids: list[Annotated[int, BODY_ID]] = Field(
        max_length=1000, description="Ids of delivered notifications."
    )


class AckOut(Answer):
    acknowledged: int


class GrantIn(Body):
    amount: int = Field(
        strict=True,
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        description="Points to add (negative takes points away).",
    )
    reason: str = Field(min_length=1, max_length=150)
    idempotency_key: str = KEY


class GrantOut(Answer):
    entry: LedgerEntryOut
    balance: int
    created: bool


class AdminAccountsQuery(Body):
    limit: int = Field(100, ge=1, le=1000)
    after_id: int = Field(0, ge=0, le=MAX_ID, description="Page: accounts with a larger id.")


class AdminAccountsOut(Answer):
    accounts: list[AccountOut]


class StatsOut(Answer):
    accounts: int
    jobs_by_status: dict[str, int]
    points_outstanding: int
    ledger_by_kind: dict[str, int]
    queued: int


class HealthOut(Answer):
    status: str
    version: str
