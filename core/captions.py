"""Caption jobs on the daemon's side: preflight and price, submission, and writing the captions
a worker produced into the dataset.

- Only the owner captions a dataset; anyone else's (published or not) looks missing.
- Which images: those without a caption (`uncaptioned`, the default) or `all`, copied onto
  the job when it is paid (`core.job_images.snapshot_images`), as a training's are.
- The price is the registry's captioner's, per image; the charge follows `core.paid_jobs`
  (idempotency key, quote, debit in the job's transaction), refunds the lifecycle's.
- Applying the results, an image (identified in its dataset by its blob key) gets its new
  caption unless it has one now and `overwrite` is off (`kept`: an edit made while the job
  ran wins); an image deleted meanwhile is `missing`.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.breakdown import Breakdown
from core.captioning.locations import captioner_available
from core.captioning.spec import DEFAULT_MIN_NEW_TOKENS, CaptionSpec
from core.captioning.styles import STYLES
from core.datasets import dataset_stats
from core.db.models import Dataset, Image, Job, JobImage
from core.db.types import utcnow
from core.economy import MarketRules
from core.enums import JobKind, JobStatus
from core.errors import InvalidInput, NotFound
from core.estimate import Issue, check_daily_cap, refusal
from core.job_images import snapshot_images
from core.ledger import lock_accounts
from core.offerings import Captioner, OfferingRegistry
from core.paid_jobs import find_repeat, queue_paid_job

# A caption job has no offering of its own: the registry's captioner prices and runs it.
CAPTIONER_OFFERING_ID = "captioner"
IMAGE_CHOICES = ("uncaptioned", "all")


@dataclass
class CaptionRequest:
    """What a person asks to caption; `reply_to` and `quote_id` are not part of its identity."""

    dataset_id: int
    images: str = "uncaptioned"
    style: str = "sentence"
    trigger_first: bool = True
    overwrite: bool = False
    idempotency_key: str = ""
    reply_to: dict[str, Any] = field(default_factory=dict)
    quote_id: str | None = None

    def __post_init__(self) -> None:
        if self.images not in IMAGE_CHOICES:
            raise InvalidInput(f"images is one of {list(IMAGE_CHOICES)}", field="images")
        if self.style not in STYLES:
            raise InvalidInput(f"style is one of {list(STYLES)}", field="style")

    def asked(self) -> dict[str, Any]:
        """The choices of the request (a caption job's `overrides`)."""
        return {
            "images": self.images,
            "style": self.style,
            "trigger_first": self.trigger_first,
            "overwrite": self.overwrite,
        }

    def fingerprint(self) -> str:
        """Hash of the fields that make two requests the same (and a quote theirs)."""
        body = {"kind": str(JobKind.caption), "dataset_id": self.dataset_id, **self.asked()}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class CaptionEstimate:
    """The answer of a caption preflight; `ok` is true when there are no errors."""

    cost: int = 0
    image_count: int = 0
    estimated_seconds: float = 0.0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    spec: CaptionSpec | None = None
    breakdown: Breakdown = field(default_factory=Breakdown)
    """The parts of `cost` (no parts while there is no captioner to price it)."""

    @property
    def ok(self) -> bool:
        return not self.errors


async def estimate_captions(
    session: AsyncSession,
    registry: OfferingRegistry,
    *,
    account_id: int,
    request: CaptionRequest,
    max_caption_chars: int,
    lock: bool = False,
) -> CaptionEstimate:
    """Price a caption job and list every reason it could not run (nothing is changed).

    `lock`: share-lock the dataset (a submission), so the images counted are those copied.
    """
    result = CaptionEstimate()
    captioner = registry.captioner
    _check_captioner(captioner, result)
    dataset = await _own_dataset(session, request.dataset_id, account_id, lock=lock)
    if dataset is None:
        message = f"dataset {request.dataset_id} does not exist or is not yours"
        result.errors.append(Issue("DATASET_NOT_FOUND", message))
        return result
    stats = await dataset_stats(session, dataset.id)
    count = stats.uncaptioned if request.images == "uncaptioned" else stats.image_count
    result.image_count = count
    if count == 0:
        result.errors.append(Issue("NO_IMAGES_TO_CAPTION", _nothing_to_caption(stats.image_count)))
    kept = stats.image_count - stats.uncaptioned
    if request.images == "all" and not request.overwrite and kept:
        result.warnings.append(
            Issue(
                "CAPTIONS_KEPT",
                f"{kept} images have a caption and overwrite is off: their new captions are "
                "shown, not written",
            )
        )
    if request.trigger_first and not dataset.trigger_word:
        result.warnings.append(
            Issue("NO_TRIGGER_WORD", "the dataset has no trigger word to put first")
        )
    if captioner is None:
        return result
    result.breakdown = captioner.breakdown(count)
    result.cost = result.breakdown.total
    result.estimated_seconds = captioner.estimated_seconds(count)
    await check_daily_cap(session, account_id, result.cost, result.errors)
    if result.ok:
        result.spec = CaptionSpec(
            captioner=captioner.model,
            style=request.style,
            trigger_word=dataset.trigger_word or "",
            trigger_first=request.trigger_first,
            max_new_tokens=captioner.max_new_tokens,
            min_new_tokens=min(DEFAULT_MIN_NEW_TOKENS, captioner.max_new_tokens),
            max_chars=max_caption_chars,
        )
    return result


def _check_captioner(captioner: Captioner | None, result: CaptionEstimate) -> None:
    if captioner is None or not captioner.enabled:
        result.errors.append(Issue("CAPTIONER_UNAVAILABLE", "automatic captions are not offered"))
    elif not captioner_available(captioner.model):
        result.errors.append(
            Issue(
                "CAPTIONER_UNAVAILABLE",
                f"the captioner ({captioner.model}) is not installed on this server",
            )
        )


def _nothing_to_caption(image_count: int) -> str:
    if image_count == 0:
        return "the dataset has no images yet"
    return "every image of the dataset has a caption; ask for all images to caption them anew"


async def _own_dataset(
    session: AsyncSession, dataset_id: int, account_id: int, *, lock: bool
) -> Dataset | None:
    query = select(Dataset).where(Dataset.id == dataset_id, Dataset.account_id == account_id)
    if lock:
        # As a training's submission does: the dataset cannot be deleted or its images
        # changed (both take the row exclusively) before the job has copied them.
        query = query.with_for_update(read=True)
    return await session.scalar(query)


async def submit_captions(
    session: AsyncSession,
    registry: OfferingRegistry,
    market: MarketRules,
    *,
    account_id: int,
    platform: str | None,
    platform_user_id: str | None,
    request: CaptionRequest,
    max_caption_chars: int,
) -> tuple[Job, bool]:
    """Preflight, debit and queue a caption job; a repeated key returns the first job
    (created=False). Another's dataset is NotFound; any other refusal PreflightRefused."""
    fingerprint = request.fingerprint()
    await lock_accounts(session, [account_id])
    existing = await find_repeat(session, account_id, request.idempotency_key, fingerprint)
    if existing is not None:
        return existing, False
    preflight = await estimate_captions(
        session,
        registry,
        account_id=account_id,
        request=request,
        max_caption_chars=max_caption_chars,
        lock=True,
    )
    if any(issue.code == "DATASET_NOT_FOUND" for issue in preflight.errors):
        raise NotFound(f"dataset {request.dataset_id} not found", dataset_id=request.dataset_id)
    if not preflight.ok or preflight.spec is None:
        raise refusal(preflight.errors, preflight.warnings)
    job = Job(
        account_id=account_id,
        kind=JobKind.caption,
        dataset_id=request.dataset_id,
        offering_id=CAPTIONER_OFFERING_ID,
        preset=request.style,
        params=preflight.spec.to_dict(),
        overrides=request.asked(),
        cost=preflight.cost,
        estimated_seconds=preflight.estimated_seconds,
        idempotency_key=request.idempotency_key,
        request_hash=fingerprint,
        platform=platform,
        platform_user_id=platform_user_id,
        reply_to=request.reply_to,
        status=JobStatus.queued,
        stage="queued",
        total_steps=preflight.image_count,
    )
    await queue_paid_job(session, market, job, quote_id=request.quote_id)
    await snapshot_images(session, job, uncaptioned_only=request.images == "uncaptioned")
    return job, True


async def apply_captions(session: AsyncSession, job: Job, captions: list[str]) -> dict[str, Any]:
    """Write a caption job's captions into its dataset by the rules of the module; the job's
    result: `{"captions": [{"image_id", "caption", "written"}], "written", "kept", "missing"}`.

    ValueError when the worker gave another number of captions than the job has images.
    """
    keys = list(
        await session.scalars(
            select(JobImage.blob_key).where(JobImage.job_id == job.id).order_by(JobImage.position)
        )
    )
    if len(keys) != len(captions):
        raise ValueError(f"{len(captions)} captions for the {len(keys)} images of job {job.id}")
    dataset, images = await _current_images(session, job.dataset_id, keys)
    overwrite = bool(job.overrides.get("overwrite"))
    lines: list[dict[str, Any]] = []
    counts = {"written": 0, "kept": 0, "missing": 0}
    for key, caption in zip(keys, captions, strict=True):
        image = images.get(key)
        if image is None:
            outcome = "missing"
        elif image.caption and not overwrite:
            outcome = "kept"
        else:
            image.caption = caption
            outcome = "written"
        counts[outcome] += 1
        image_id = None if image is None else image.id
        lines.append({"image_id": image_id, "caption": caption, "written": outcome == "written"})
    if dataset is not None and counts["written"]:
        dataset.updated_at = utcnow()
    job.result = {"captions": lines, **counts}
    await session.flush()
    return job.result


async def _current_images(
    session: AsyncSession, dataset_id: int | None, keys: list[str]
) -> tuple[Dataset | None, dict[str, Image]]:
    """The dataset (locked, as a re-caption locks it) and its images that are still there."""
    if dataset_id is None:
        return None, {}  # the dataset was deleted
    dataset = await session.scalar(
        select(Dataset).where(Dataset.id == dataset_id).with_for_update()
    )
    if dataset is None:
        return None, {}
    rows = await session.scalars(
        select(Image).where(Image.dataset_id == dataset_id, Image.blob_key.in_(keys))
    )
    return dataset, {image.blob_key: image for image in rows}
