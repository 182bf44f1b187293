"""Builders shared by the dataset tests."""

import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.blobs import BlobStore, LocalBlobStore
from core.dataset_images import (
    UploadBatch,
    UploadLimits,
    add_images,
    list_images,
    prepare_image,
)
from core.datasets import (
    DatasetCreate,
    create_dataset,
)
from core.db.models import Account, Job
from core.enums import JobStatus

LIMITS = UploadLimits(max_images_per_dataset=200, account_quota_bytes=10**9)
Sessionmaker = async_sessionmaker[AsyncSession]


async def make_account(sm: Sessionmaker) -> int:
    async with sm.begin() as session:
        account = Account()
        session.add(account)
        await session.flush()
        return account.id


async def make_dataset(sm: Sessionmaker, account_id: int, name: str = "cats", **fields) -> int:
    async with sm.begin() as session:
        created = await create_dataset(session, account_id, DatasetCreate(name=name, **fields))
        return created.dataset.id


def make_batch(blobs: BlobStore, files: dict[str, bytes], captions=None) -> UploadBatch:
    batch = UploadBatch()
    for name, data in files.items():
        batch.accept(name, prepare_image(data, blobs, max_pixels=40_000_000))
    batch.apply_captions(captions or {}, max_chars=100)
    return batch


async def upload(sm, blobs, dataset_id, account_id, files, captions=None, limits=LIMITS):
    batch = make_batch(blobs, files, captions)
    try:
        async with sm.begin() as session:
            return await add_images(
                session, blobs, batch, dataset_id=dataset_id, account_id=account_id, limits=limits
            )
    finally:
        batch.discard(blobs)


async def count_rows(sm: Sessionmaker, model: type) -> int:
    async with sm.begin() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_files(blobs: BlobStore) -> list[str]:
    return await blobs.keys("images")


def temp_files(blobs: LocalBlobStore) -> list[Path]:
    return list((blobs.root / ".tmp").iterdir())


async def images_of(sm: Sessionmaker, ds: int, account: int):
    async with sm.begin() as session:
        return await list_images(session, ds, account)


async def add_job(sm: Sessionmaker, account: int, ds: int, status: JobStatus) -> int:
    async with sm.begin() as session:
        job = Job(
            account_id=account,
            dataset_id=ds,
            offering_id="tiny-lora",
            preset="fast",
            params={},
            overrides={},
            cost=10,
            idempotency_key=uuid.uuid4().hex,
            request_hash="h",
            reply_to={},
            status=status,
        )
        session.add(job)
        await session.flush()
        return job.id
