"""Reading an image upload: a multipart stream, part by part, within byte limits.

Bytes are counted as they arrive. A file past `max_image_bytes` stops being kept (it is refused
as FILE_TOO_LARGE) and the rest of it is read only to reach the next part, still counted
against `max_upload_bytes`; past that total the whole request is refused (413) and nothing is
stored. Each accepted file is normalized and staged on a small thread pool, so Pillow's work
never blocks the event loop and at most two images are decoded at once.
"""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.blobs import BlobStore
from core.dataset_images import (
    UploadBatch,
    UploadLimits,
    UploadOutcome,
    add_images,
    prepare_image,
    release_blobs,
)
from core.errors import InvalidInput, TooLarge
from core.images import ImageRefused, RefusalCode, display_filename
from core.settings import Settings
from daemon.keys import BLOBS, SESSIONMAKER, SETTINGS
from daemon.validation import check_text, decode_json

IMAGE_PART = "image"
CAPTIONS_PART = "captions"
CHUNK_BYTES = 256 * 1024
MAX_CAPTIONS_BYTES = 1024 * 1024
# Decoding a 40 MP image holds ~120 MB: two at a time bounds memory and leaves a core free.
IMAGE_WORK = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-work")


class _Budget:
    """Bytes left for the whole request."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise TooLarge(
                f"the upload is larger than {self.limit:,} bytes; send fewer files per request",
                code="UPLOAD_TOO_LARGE",
                max_bytes=self.limit,
            )


# What aiohttp's multipart reader raises on a body that breaks the format: a missing, long or
# wrong boundary, a body cut short, a part header too long, too many or unparsable.
_MALFORMED = (
    ValueError,
    RuntimeError,
    asyncio.IncompleteReadError,
    HttpProcessingError,
    web.RequestPayloadError,
)


@contextmanager
def _multipart_errors() -> Iterator[None]:
    """Around each call into the multipart reader: a malformed body is the sender's error."""
    try:
        yield
    except _MALFORMED as exc:
        message = f"the multipart body is malformed: {exc}"
        raise InvalidInput(message, code="MALFORMED_MULTIPART") from None


def check_declared_size(request: web.Request, settings: Settings) -> None:
    """Refuse at once (nothing read) when Content-Length already says the upload is too big."""
    if request.content_length is not None and request.content_length > settings.max_upload_bytes:
        _Budget(settings.max_upload_bytes).take(request.content_length)


async def read_upload(
    request: web.Request, blobs: BlobStore, settings: Settings
) -> tuple[UploadBatch, dict[str, str]]:
    """Read every part: images into a batch (normalized and staged), plus the captions map.

    On an error the staged files of the batch read so far are discarded before it propagates.
    """
    if not request.content_type.startswith("multipart/"):
        raise InvalidInput("send the images as multipart/form-data parts named 'image'")
    with _multipart_errors():
        reader = await request.multipart()
    budget = _Budget(settings.max_upload_bytes)
    batch = UploadBatch()
    names: set[str] = set()
    captions: dict[str, str] | None = None
    try:
        while (part := await _next_part(reader)) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidInput("nested multipart bodies are not accepted")
            if part.name == IMAGE_PART:
                names.add(await _read_image(part, batch, blobs, settings, budget))
            elif part.name == CAPTIONS_PART and captions is None:
                captions = _parse_captions(await _read_captions(part, budget))
            else:
                raise InvalidInput(
                    f"unexpected part {part.name!r}: send parts named 'image' and at most one "
                    "part named 'captions'"
                )
        if not names:
            raise InvalidInput("the upload has no part named 'image'")
        unknown = sorted(set(captions or {}) - names)
        if unknown:
            raise InvalidInput(
                f"captions name files that are not in this upload: {unknown}", files=unknown
            )
    except BaseException:
        batch.discard(blobs)
        raise
    return batch, captions or {}


async def store_upload(request: web.Request, dataset_id: int, account_id: int) -> UploadOutcome:
    """Read a multipart upload and add its images to a dataset whose owner was checked: each
    file added or refused with its reason (the RPC's and the dashboard's one upload)."""
    settings, blobs, sessionmaker = (
        request.app[SETTINGS],
        request.app[BLOBS],
        request.app[SESSIONMAKER],
    )
    check_declared_size(request, settings)
    batch, captions = await read_upload(request, blobs, settings)
    limits = UploadLimits(settings.max_images_per_dataset, settings.account_quota_bytes)
    try:
        batch.apply_captions(captions, max_chars=settings.max_caption_chars)
        return await _store(sessionmaker, blobs, batch, dataset_id, account_id, limits)
    finally:
        batch.discard(blobs)


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    batch: UploadBatch,
    dataset_id: int,
    account_id: int,
    limits: UploadLimits,
) -> UploadOutcome:
    try:
        async with sessionmaker.begin() as session:
            return await add_images(
                session, blobs, batch, dataset_id=dataset_id, account_id=account_id, limits=limits
            )
    except Exception:
        # Files moved into place for a transaction that did not commit: free them again.
        await release_blobs(sessionmaker, blobs, batch.blob_keys())
        raise


async def _next_part(reader: MultipartReader) -> BodyPartReader | MultipartReader | None:
    with _multipart_errors():
        return await reader.next()


async def _read_image(
    part: BodyPartReader,
    batch: UploadBatch,
    blobs: BlobStore,
    settings: Settings,
    budget: _Budget,
) -> str:
    if not part.filename:
        raise InvalidInput("every part named 'image' needs a filename")
    check_text(part.filename, what="the file name")
    raw_name, label = part.filename, display_filename(part.filename)
    data = await _read_limited(part, settings.max_image_bytes, budget)
    if data is None:
        batch.refuse(
            label,
            RefusalCode.file_too_large,
            f"the file is larger than {settings.max_image_bytes:,} bytes",
        )
        return raw_name
    work = partial(prepare_image, data, blobs, max_pixels=settings.max_image_pixels)
    try:
        prepared = await asyncio.get_running_loop().run_in_executor(IMAGE_WORK, work)
    except ImageRefused as exc:
        batch.refuse(label, exc.code, exc.message)
    else:
        batch.accept(label, prepared, caption_key=raw_name)
    return raw_name


async def _read_limited(part: BodyPartReader, limit: int, budget: _Budget) -> bytes | None:
    """The part's bytes, or None when it passed `limit` (the rest is drained, not kept)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await _read_chunk(part):
        budget.take(len(chunk))
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
    return b"".join(chunks) if size <= limit else None


async def _read_chunk(part: BodyPartReader) -> bytes:
    with _multipart_errors():
        return await part.read_chunk(CHUNK_BYTES)


async def _read_captions(part: BodyPartReader, budget: _Budget) -> bytes:
    data = await _read_limited(part, MAX_CAPTIONS_BYTES, budget)
    if data is None:
        raise InvalidInput(f"the captions part is larger than {MAX_CAPTIONS_BYTES:,} bytes")
    return data


def _parse_captions(data: bytes) -> dict[str, str]:
    captions = decode_json(data, what="the captions part")
    if not isinstance(captions, dict) or not all(isinstance(v, str) for v in captions.values()):
        raise InvalidInput("captions must be a JSON object from file name to caption text")
    return captions
