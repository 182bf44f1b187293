"""The schema: accounts, the points ledger, datasets, jobs, models, notifications, purchases,
paid uses, quotes, the activity feed, the web dashboard's sign-ins, the shared rate limit, and
the bots' conversation state and progress messages."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base
from core.db.types import (
    UTCDateTime,
    account_ref,
    bigint,
    created_at,
    intpk,
    json_dict,
    str16,
    str32,
    str64,
    str200,
)
from core.enums import JobStatus


class Account(Base):
    """One person. `balance` is the running sum of the ledger, kept for atomic updates."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[intpk]
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Set when this account was linked into another; its identities now point there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # The most points the person allows to be spent per UTC day; None: no cap.
    daily_spending_cap: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[created_at]

    identities: Mapped[list["Identity"]] = relationship(
        back_populates="account", order_by="Identity.id"
    )


class Identity(Base):
    """A chat identity `(platform, platform_user_id)` of an account."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    platform: Mapped[str16]
    platform_user_id: Mapped[str64]
    # The language the person chose with /language (None: follow the platform's), and the one
    # their platform last reported (Telegram's `language_code`, Discord's locale).
    language: Mapped[str | None] = mapped_column(String(16))
    platform_locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[created_at]

    account: Mapped[Account] = relationship(back_populates="identities")


class LinkCode(Base):
    """A short one-time code that joins the identity redeeming it to the issuing account."""

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[account_ref]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class LedgerEntry(Base):
    """An append-only change of points; the same idempotency key never applies twice."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("account_id", "idempotency_key"),)

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    delta: Mapped[bigint]
    kind: Mapped[str32]
    reference: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str200]
    # Hash of what the request asked for: the same key with other content is a conflict.
    request_hash: Mapped[str64]
    balance_after: Mapped[bigint]
    created_at: Mapped[created_at]


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        Index("ix_datasets_visibility_published_at", "visibility", "published_at"),
    )

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    name: Mapped[str] = mapped_column(String(100))
    trigger_word: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    licence: Mapped[str | None] = mapped_column(String(32))
    # Paid uses by other accounts (trainings on it).
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]
    updated_at: Mapped[created_at]

    images: Mapped[list["Image"]] = relationship(
        back_populates="dataset", order_by="Image.id", cascade="all, delete-orphan"
    )


class Image(Base):
    """A normalized image, stored content-addressed under `blob_key`."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("dataset_id", "content_hash"),)

    id: Mapped[intpk]
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    # Whose quota it counts against (denormalized so the quota check is one sum).
    account_id: Mapped[account_ref]
    content_hash: Mapped[str64]
    blob_key: Mapped[str200]
    byte_size: Mapped[bigint]
    width: Mapped[int]
    height: Mapped[int]
    caption: Mapped[str] = mapped_column(Text, default="")
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[created_at]

    dataset: Mapped[Dataset] = relationship(back_populates="images")


class Job(Base):
    """A paid GPU job (train, caption or generate, see `JobKind`) and its lifecycle."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_account_id_kind_id", "account_id", "kind", "id"),
    )

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    kind: Mapped[str] = mapped_column(String(16), default="train", server_default="train")
    # Cleared when the dataset is deleted; the job keeps its own copy of the images (job_images).
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), index=True)
    offering_id: Mapped[str64]
    preset: Mapped[str32]
    # The worker's spec (a `TrainingSpec` as JSON for a training) and what the user asked.
    params: Mapped[json_dict]
    overrides: Mapped[json_dict]
    # What a finished caption or generation produced (counts, stored files); {} for trainings,
    # whose result is their Model.
    result: Mapped[json_dict]
    # The checkpoints a training saved, each with its LoRA files and sample in blob storage:
    # [{"step", "files": [{"name", "role", "kind", "size", "sha256", "key"}], "sample": name}].
    checkpoints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cost: Mapped[bigint]
    estimated_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    idempotency_key: Mapped[str200]
    request_hash: Mapped[str64]
    # Where the job was submitted from: notifications go to this identity.
    platform: Mapped[str | None] = mapped_column(String(16))
    platform_user_id: Mapped[str | None] = mapped_column(String(64))
    # Free-form routing data of the front-end (e.g. the Discord channel to fall back to).
    reply_to: Mapped[json_dict]

    # Stored as the member's string value in a VARCHAR(16), so the schema is plain text.
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus,
            native_enum=False,
            length=16,
            validate_strings=True,
            values_callable=lambda members: [member.value for member in members],
        ),
        default=JobStatus.queued,
    )
    stage: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    loss: Mapped[float | None] = mapped_column(Float)
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)

    # The lease of the attempt that holds the job; `fencing_token` grows with each attempt so
    # reports from a stale attempt are rejected.
    fencing_token: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    model: Mapped["Model | None"] = relationship(back_populates="job")


class JobMetric(Base):
    """One point of a job's loss curve."""

    __tablename__ = "job_metrics"
    __table_args__ = (UniqueConstraint("job_id", "step"),)

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    step: Mapped[int]
    loss: Mapped[float] = mapped_column(Float)
    lr: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[created_at]


class JobImage(Base):
    """One image of a job's training set, copied from its dataset when the job was priced.

    The job trains on these rows, not on the dataset's images when it starts: images added
    later are not trained, and deleting an image or the whole dataset leaves them (their
    blobs are kept while the job is unfinished, see `core.job_images`).
    """

    __tablename__ = "job_images"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    blob_key: Mapped[str200] = mapped_column(index=True)
    caption: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int]
    height: Mapped[int]


class Model(Base):
    """A trained LoRA: its files live in blob storage under `blob_prefix`."""

    __tablename__ = "models"
    __table_args__ = (Index("ix_models_visibility_published_at", "visibility", "published_at"),)

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    account_id: Mapped[account_ref]
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    offering_id: Mapped[str64]
    name: Mapped[str200]
    trigger_word: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str32]
    blob_prefix: Mapped[str200]
    # [{"name", "kind", "size", "sha256"}]
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[json_dict]
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(
        String(16), default="private", server_default="private"
    )
    licence: Mapped[str | None] = mapped_column(String(32))
    # What another account pays its owner's side per use (generation), within the bounds.
    price_per_use: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Paid uses by other accounts.
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]

    job: Mapped[Job] = relationship(back_populates="model")


class Purchase(Base):
    """Points bought with a payment provider; `charge_id` is the provider's id of the payment.

    Telegram: the row is made when the invoice is sent (it fixes the points and the price) and
    credited when `successful_payment` arrives. Discord: made and credited by the entitlement.
    """

    __tablename__ = "purchases"
    __table_args__ = (UniqueConstraint("provider", "charge_id"),)

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    provider: Mapped[str32]
    pack_id: Mapped[str64]
    points: Mapped[bigint]
    # In the provider's unit: Telegram Stars for XTR; 0 for Discord (Discord bills the SKU).
    price: Mapped[bigint]
    currency: Mapped[str16]
    status: Mapped[str16]
    charge_id: Mapped[str | None] = mapped_column(String(200))
    # The identity that paid: Telegram needs its user id to refund.
    platform_user_id: Mapped[str64]
    # How many refunds were tried; each keys its own pair of ledger entries.
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0)
    refund_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaidUse(Base):
    """One paid use of another account's published item, and the royalty it paid its owner.

    Made in the transaction of the user's debit; `reversed` is the royalty taken back when
    the use was refunded (at most the royalty, once, in the refund's transaction).
    """

    __tablename__ = "paid_uses"
    __table_args__ = (
        UniqueConstraint("job_id", "item_kind"),
        Index("ix_paid_uses_item", "item_kind", "item_id"),
    )

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    item_kind: Mapped[str16]
    item_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[account_ref]
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # The points of the user's debit this use stands for, and the owner's share of them.
    price: Mapped[bigint]
    royalty: Mapped[bigint]
    reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    # Royalty that could not be taken back because the owner had already spent it.
    unrecovered: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[created_at]


class Quote(Base):
    """A price shown to a person, held until `expires_at` for exactly that request."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[account_ref]
    # The hash of the request it prices (as a job's `request_hash`).
    fingerprint: Mapped[str64]
    cost: Mapped[bigint]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[created_at]


class Notification(Base):
    """Outbox row: delivered to the bot of `platform` at least once, until acknowledged."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "platform", "acked_at", "id"),)

    id: Mapped[intpk]
    account_id: Mapped[account_ref]
    kind: Mapped[str32]
    platform: Mapped[str16]
    platform_user_id: Mapped[str64]
    payload: Mapped[json_dict]
    # One row per event (e.g. "job:7:completed"), so a replayed event adds nothing.
    dedupe_key: Mapped[str200] = mapped_column(unique=True)
    # A fetch leases the row so concurrent polls do not deliver it twice; an expired lease
    # (the bot died before acknowledging) makes it pending again.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class Activity(Base):
    """One event of a person's own history, with its read state (see `ActivityKind`).

    Written in the transaction of the event itself, beside (not instead of) the bots'
    outbox: delivering or pruning notifications leaves the feed as it is.
    """

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_account_id_id", "account_id", "id"),
        Index("ix_activity_account_id_read_at", "account_id", "read_at"),
    )

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str32]
    payload: Mapped[json_dict]
    # One row per event (e.g. "job:7:completed"), so a replayed event adds nothing.
    dedupe_key: Mapped[str200] = mapped_column(unique=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class WebLink(Base):
    """A one-time sign-in link for the web dashboard, sent by a bot; only its hash is kept."""

    __tablename__ = "web_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[account_ref]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class WebSession(Base):
    """A signed-in browser: a person (`account_id`) or an operator (`is_operator`).

    The cookie holds the token, the row only its hash; `csrf_token` guards every form.
    """

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    is_operator: Mapped[bool] = mapped_column(default=False)
    csrf_token: Mapped[str64]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[created_at]


class RateLimitBucket(Base):
    """A person's RPC allowance shared by every replica (written on PostgreSQL only: one
    daemon on SQLite keeps its buckets in memory)."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str200] = mapped_column(primary_key=True)  # the canonical identity
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConversationState(Base):
    """A bot's state of one conversation with one identity (e.g. aiogram's FSM key, or a
    Discord journey): versioned, so a write based on an older read is refused, and expiring."""

    __tablename__ = "conversation_states"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str200] = mapped_column(primary_key=True)
    data: Mapped[json_dict]
    version: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgressMessage(Base):
    """The chat message a bot keeps editing with a job's progress, so a restarted bot (or
    another replica) finds it and goes on editing it until the job is final."""

    __tablename__ = "progress_messages"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str16] = mapped_column(primary_key=True)
    chat_id: Mapped[str64]
    message_id: Mapped[str64]
    created_at: Mapped[created_at]
