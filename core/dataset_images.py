"""A dataset's images: add a checked upload, list, re-caption, delete, and free unused blobs.

An upload is two phases. First each file is normalized off the event loop and its bytes staged
in a temporary file (`prepare_image`); refusals of single files are noted in an `UploadBatch`.
Then `add_images`, in one transaction, checks duplicates, the dataset's size and the account's
quota, moves the staged files into place and inserts the rows: all accepted files or none.

Blobs are shared by content, so an image blob is deleted only when no image row references it
and no unfinished job's training set (`core.job_images`) needs it.
Writers and deleters of a blob key serialize on a lock (SQLite: every write transaction takes
the write lock on BEGIN; PostgreSQL: a transaction-scoped advisory lock per key), which makes
"check the references, then delete the file" safe against an upload that reuses the key.
When a transaction fails after files were moved into place, `release_blobs` removes the ones
left unreferenced; after a crash at that point, `reclaim_orphan_blobs` finds them later.
"""

import hashlib
from dataclasses import dataclass, field

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.blobs import BlobStore, StagedBlob
from core.datasets import assert_no_active_jobs, get_owned_dataset, get_usable_dataset
from core.db.models import Account, Image
from core.db.types import utcnow
from core.errors import InvalidInput, NotFound
from core.images import (
    NORMALIZED_SUFFIX,
    NormalizedImage,
    RefusalCode,
    check_caption,
    normalize_image,
)
from core.job_images import blob_keys_in_use

log = structlog.get_logger(__name__)

IMAGE_NAMESPACE = "images"


@dataclass(frozen=True)
class Refusal:
    """One uploaded file that was not added, and why."""

    filename: str
    code: RefusalCode
    message: str


@dataclass(frozen=True)
class UploadOutcome:
    """What an upload did: the rows added and the files refused, each in upload order."""

    added: list[Image]
    refused: list[Refusal]


@dataclass(frozen=True)
class PreparedImage:
    """A normalized image whose bytes wait in a temporary file."""

    image: NormalizedImage
    staged: StagedBlob


@dataclass
class _Candidate:
    index: int
    filename: str  # the display label
    caption_key: str  # the name as sent, which the upload's captions refer to
    prepared: PreparedImage
    caption: str = ""


@dataclass
class UploadBatch:
    """The files of one upload in arrival order: prepared candidates and early refusals."""

    candidates: list[_Candidate] = field(default_factory=list)
    refusals: list[tuple[int, Refusal]] = field(default_factory=list)
    _dropped: list[_Candidate] = field(default_factory=list)
    _count: int = 0

    def _next_index(self) -> int:
        self._count += 1
        return self._count

    def refuse(self, filename: str, code: RefusalCode, message: str) -> None:
        """Note a file refused before the database phase."""
        refused = Refusal(filename=filename, code=code, message=message)
        self.refusals.append((self._next_index(), refused))

    def accept(
        self, filename: str, prepared: PreparedImage, *, caption_key: str | None = None
    ) -> None:
        """Note a normalized file that the database phase will try to add."""
        key = filename if caption_key is None else caption_key
        self.candidates.append(_Candidate(self._next_index(), filename, key, prepared))

    def apply_captions(self, captions: dict[str, str], *, max_chars: int) -> None:
        """Give candidates their captions by file name; invalid ones refuse their file."""
        keep: list[_Candidate] = []
        for candidate in self.candidates:
            try:
                candidate.caption = check_caption(
                    captions.get(candidate.caption_key, ""), max_chars=max_chars
                )
            except InvalidInput as exc:
                refused = Refusal(
                    filename=candidate.filename,
                    code=RefusalCode.invalid_caption,
                    message=exc.message,
                )
                self.refusals.append((candidate.index, refused))
                self._dropped.append(candidate)
                continue
            keep.append(candidate)
        self.candidates = keep

    def blob_keys(self) -> list[str]:
        return sorted({c.prepared.staged.key for c in self.candidates})

    def discard(self, blobs: BlobStore) -> None:
        """Remove the temporary files that were not moved into place (safe to repeat)."""
        for candidate in [*self.candidates, *self._dropped]:
            blobs.discard(candidate.prepared.staged)


@dataclass(frozen=True)
class UploadLimits:
    max_images_per_dataset: int
    account_quota_bytes: int


def prepare_image(data: bytes, blobs: BlobStore, *, max_pixels: int) -> PreparedImage:
    """Normalize one file and stage its bytes (CPU and disk: call it in a worker thread)."""
    image = normalize_image(data, max_pixels=max_pixels)
    staged = blobs.stage_bytes(image.data, namespace=IMAGE_NAMESPACE, suffix=NORMALIZED_SUFFIX)
    return PreparedImage(image=image, staged=staged)


async def add_images(
    session: AsyncSession,
    blobs: BlobStore,
    batch: UploadBatch,
    *,
    dataset_id: int,
    account_id: int,
    limits: UploadLimits,
) -> UploadOutcome:
    """Add the batch's candidates that pass the duplicate, size and quota checks."""
    dataset = await get_owned_dataset(session, dataset_id, account_id, lock=True)
    # Serializes concurrent uploads of one account on PostgreSQL, so the quota holds.
    await session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    in_dataset = set(
        await session.scalars(select(Image.content_hash).where(Image.dataset_id == dataset_id))
    )
    count = len(in_dataset)
    used = await account_bytes(session, account_id)
    await _lock_blob_keys(session, batch.blob_keys())
    in_upload: set[str] = set()
    added: list[tuple[int, Image]] = []
    refusals = list(batch.refusals)
    for candidate in batch.candidates:
        image = candidate.prepared.image
        refusal = _db_refusal(image, in_dataset, in_upload, count, used, limits)
        in_upload.add(image.content_hash)
        if refusal is not None:
            refusals.append((candidate.index, _refused(candidate, *refusal)))
            continue
        await blobs.publish(candidate.prepared.staged)
        row = Image(
            dataset_id=dataset_id,
            account_id=account_id,
            content_hash=image.content_hash,
            blob_key=candidate.prepared.staged.key,
            byte_size=len(image.data),
            width=image.width,
            height=image.height,
            caption=candidate.caption,
            original_filename=candidate.filename,
        )
        session.add(row)
        added.append((candidate.index, row))
        count += 1
        used += len(image.data)
    if added:
        dataset.updated_at = utcnow()
    await session.flush()
    return UploadOutcome(
        added=[row for _, row in sorted(added, key=lambda pair: pair[0])],
        refused=[refused for _, refused in sorted(refusals, key=lambda pair: pair[0])],
    )


def _db_refusal(
    image: NormalizedImage,
    in_dataset: set[str],
    in_upload: set[str],
    count: int,
    used: int,
    limits: UploadLimits,
) -> tuple[RefusalCode, str] | None:
    if image.content_hash in in_upload:
        return RefusalCode.duplicate_image, "the same picture appears earlier in this upload"
    if image.content_hash in in_dataset:
        return RefusalCode.duplicate_image, "the same picture is already in this dataset"
    if count >= limits.max_images_per_dataset:
        return (
            RefusalCode.dataset_full,
            f"the dataset already holds {limits.max_images_per_dataset} images, the most allowed",
        )
    if used + len(image.data) > limits.account_quota_bytes:
        free = max(0, limits.account_quota_bytes - used)
        return (
            RefusalCode.quota_exceeded,
            f"storing it needs {len(image.data):,} bytes; your storage has {free:,} bytes left "
            f"of {limits.account_quota_bytes:,}",
        )
    return None


def _refused(candidate: _Candidate, code: RefusalCode, message: str) -> Refusal:
    return Refusal(filename=candidate.filename, code=code, message=message)


async def account_bytes(session: AsyncSession, account_id: int) -> int:
    """Stored image bytes counted against the account's quota."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Image.byte_size), 0)).where(Image.account_id == account_id)
    )
    return int(total or 0)


async def list_images(session: AsyncSession, dataset_id: int, account_id: int) -> list[Image]:
    """The images of a dataset the account may see, in upload order."""
    await get_usable_dataset(session, dataset_id, account_id, lock=False)
    rows = await session.scalars(
        select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)
    )
    return list(rows)


async def _image(session: AsyncSession, dataset_id: int, image_id: int) -> Image:
    row = await session.scalar(
        select(Image).where(Image.id == image_id, Image.dataset_id == dataset_id)
    )
    if row is None:
        raise NotFound(
            f"image {image_id} not found in dataset {dataset_id}",
            dataset_id=dataset_id,
            image_id=image_id,
        )
    return row


async def image_blob_key(
    session: AsyncSession, blobs: BlobStore, dataset_id: int, image_id: int, account_id: int
) -> str:
    """The blob key of the stored bytes of an image of a visible dataset."""
    await get_usable_dataset(session, dataset_id, account_id, lock=False)
    row = await _image(session, dataset_id, image_id)
    if not await blobs.exists(row.blob_key):
        log.error("images.blob_missing", image_id=image_id, blob_key=row.blob_key)
        raise NotFound(f"the file of image {image_id} is missing", image_id=image_id)
    return row.blob_key


async def recaption_image(
    session: AsyncSession,
    dataset_id: int,
    image_id: int,
    account_id: int,
    caption: str,
    *,
    max_chars: int,
) -> Image:
    """Replace an image's caption (INVALID_CAPTION when too long or with control chars)."""
    caption = check_caption(caption, max_chars=max_chars)
    dataset = await get_owned_dataset(session, dataset_id, account_id, lock=True)
    row = await _image(session, dataset_id, image_id)
    row.caption = caption
    dataset.updated_at = utcnow()
    await session.flush()
    return row


async def delete_image(
    session: AsyncSession, dataset_id: int, image_id: int, account_id: int
) -> list[str]:
    """Remove an image; returns its blob key, to release after commit.

    Refused (DATASET_IN_USE) while a queued or running job will read the dataset's files.
    """
    dataset = await get_owned_dataset(session, dataset_id, account_id, lock=True)
    await assert_no_active_jobs(session, dataset_id, account_id)
    row = await _image(session, dataset_id, image_id)
    await session.execute(delete(Image).where(Image.id == row.id))
    dataset.updated_at = utcnow()
    await session.flush()
    return [row.blob_key]


async def release_blobs(
    sessionmaker: async_sessionmaker[AsyncSession], blobs: BlobStore, keys: list[str]
) -> int:
    """Delete the image blobs among `keys` that nothing references; returns how many."""
    if not keys:
        return 0
    removed = 0
    async with sessionmaker.begin() as session:
        await _lock_blob_keys(session, keys)
        referenced = set(
            await session.scalars(select(Image.blob_key).where(Image.blob_key.in_(keys)))
        )
        referenced |= await blob_keys_in_use(session, keys)
        for key in sorted(set(keys) - referenced):
            removed += await blobs.delete(key)
    return removed


async def reclaim_orphan_blobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    *,
    temp_older_than_seconds: float = 3600.0,
) -> int:
    """Delete image blobs no row references and stale temporary files (periodic upkeep)."""
    stored = await blobs.keys(IMAGE_NAMESPACE)
    removed = blobs.reclaim_temp(temp_older_than_seconds)
    for start in range(0, len(stored), 500):
        removed += await release_blobs(sessionmaker, blobs, stored[start : start + 500])
    if removed:
        log.info("images.reclaimed_orphans", removed=removed)
    return removed


async def _lock_blob_keys(session: AsyncSession, keys: list[str]) -> None:
    # SQLite: a write session opens its transaction with BEGIN IMMEDIATE, which already
    # serializes writers. PostgreSQL: one advisory lock per key, in sorted order (no deadlock).
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(select(1))  # make sure the transaction (and its lock) has begun
        return
    for key in sorted(set(keys)):
        digest = hashlib.sha256(key.encode()).digest()[:8]
        lock_id = int.from_bytes(digest, "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(lock_id)))
