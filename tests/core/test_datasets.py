"""Datasets and their images in the domain layer, on real SQLite files and PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.blobs import BlobStore
from core.dataset_images import (
    UploadBatch,
    UploadLimits,
    add_images,
    delete_image,
    list_images,
    prepare_image,
    recaption_image,
    reclaim_orphan_blobs,
    release_blobs,
)
from core.datasets import (
    DatasetCreate,
    DatasetPatch,
    create_dataset,
    dataset_images_for_training,
    dataset_stats,
    delete_dataset,
    get_dataset,
    get_usable_dataset,
    list_datasets,
    training_images,
    update_dataset,
)
from core.db.migrate import upgrade_to_head
from core.db.models import Account, Image, Job, Model
from core.db.session import create_engine, make_sessionmaker
from core.enums import JobStatus
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.images import RefusalCode
from tests import imagefactory as f

LIMITS = UploadLimits(max_images_per_dataset=200, account_quota_bytes=10**9)
Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    return request.getfixturevalue("postgres_url")  # one fresh database per module


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[Sessionmaker]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield make_sessionmaker(engine)
    if engine.dialect.name == "postgresql":  # the module's tests share the database
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "TRUNCATE job_metrics, models, jobs, images, datasets, ledger_entries, "
                    "identities, link_codes, notifications, accounts RESTART IDENTITY CASCADE"
                )
            )
    await engine.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


async def make_account(sm: Sessionmaker) -> int:
    async with sm.begin() as session:
        account = Account()
        session.add(account)
        await session.flush()
        return account.id


async def make_dataset(sm: Sessionmaker, account_id: int, name: str = "cats", **fields) -> int:
    async with sm.begin() as session:
        view = await create_dataset(session, account_id, DatasetCreate(name=name, **fields))
        return view.id


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


def stored_files(blobs: BlobStore) -> list[str]:
    return blobs.keys("images")


def temp_files(blobs: BlobStore) -> list[Path]:
    return list((blobs.root / ".tmp").iterdir())


async def test_create_list_get_update(sessionmaker: Sessionmaker) -> None:
    owner, other = await make_account(sessionmaker), await make_account(sessionmaker)
    private = await make_dataset(sessionmaker, owner, "mine", trigger_word="sks_cat", tags=["a"])
    public = await make_dataset(sessionmaker, other, "theirs", visibility="public")
    hidden = await make_dataset(sessionmaker, other, "hidden")
    async with sessionmaker.begin() as session:
        own = await list_datasets(session, owner)
        assert [d.id for d in own] == [private]
        assert own[0].trigger_word == "sks_cat" and own[0].owned and own[0].image_count == 0
        with_public = await list_datasets(session, owner, include_public=True)
        assert [(d.id, d.owned) for d in with_public] == [(private, True), (public, False)]
        assert (await get_dataset(session, public, owner)).name == "theirs"
        with pytest.raises(NotFound):
            await get_dataset(session, hidden, owner)
        with pytest.raises(Forbidden):
            await update_dataset(session, public, owner, DatasetPatch(name="stolen"))
        changed = await update_dataset(
            session, private, owner, DatasetPatch(description="fluffy", trigger_word=None)
        )
        assert (changed.description, changed.trigger_word, changed.name) == (
            "fluffy",
            None,
            "mine",
        )
        assert changed.updated_at >= changed.created_at


async def test_names_are_unique_per_account(sessionmaker: Sessionmaker) -> None:
    a, b = await make_account(sessionmaker), await make_account(sessionmaker)
    await make_dataset(sessionmaker, a, "cats")
    await make_dataset(sessionmaker, b, "cats")  # another account may use the name
    with pytest.raises(Conflict) as caught:
        await make_dataset(sessionmaker, a, "cats")
    assert caught.value.code == "DATASET_NAME_TAKEN"
    dogs = await make_dataset(sessionmaker, a, "dogs")
    async with sessionmaker.begin() as session:
        with pytest.raises(Conflict):
            await update_dataset(session, dogs, a, DatasetPatch(name="cats"))
    assert await count_rows(sessionmaker, Image) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "bad\x00name"},
        {"name": "ok", "trigger_word": "two words"},
        {"name": "ok", "trigger_word": ""},
        {"name": "ok", "trigger_word": "x" * 65},
        {"name": "ok", "trigger_word": "ünï"},
        {"name": "ok", "description": "x" * 2001},
        {"name": "ok", "description": "bell\x07"},
        {"name": "ok", "tags": [""]},
        {"name": "ok", "tags": [f"t{i}" for i in range(21)]},
        {"name": "ok", "visibility": "secret"},
        {"name": "ok", "owner": 3},
    ],
)
def test_dataset_fields_are_validated(fields: dict) -> None:
    with pytest.raises(ValidationError):
        DatasetCreate(**fields)


def test_patch_cannot_null_required_fields() -> None:
    with pytest.raises(ValidationError):
        DatasetPatch(name=None)
    assert DatasetPatch(trigger_word=None).model_dump(exclude_unset=True) == {"trigger_word": None}


async def test_upload_adds_and_refuses_file_by_file(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {
        "a.png": f.png_bytes(seed=1),
        "b.jpg": f.jpeg_bytes(seed=2),
        "a2.png": f.png_bytes(seed=1),
    }
    result = await upload(sessionmaker, blobs, ds, owner, files, {"b.jpg": "a cat, sitting"})
    assert [a.filename for a in result.added] == ["a.png", "b.jpg"]
    assert result.added[1].caption == "a cat, sitting"
    assert [(r.filename, r.code) for r in result.refused] == [
        ("a2.png", RefusalCode.duplicate_image)
    ]
    assert len(stored_files(blobs)) == 2 and temp_files(blobs) == []
    again = await upload(sessionmaker, blobs, ds, owner, {"c.webp": f.webp_bytes(seed=1)})
    assert again.added == [] and again.refused[0].code == RefusalCode.duplicate_image
    assert "already in this dataset" in again.refused[0].message
    async with sessionmaker.begin() as session:
        images = await list_images(session, ds, owner)
        assert [i.filename for i in images] == ["a.png", "b.jpg"]
        stats = await dataset_stats(session, ds)
        assert (stats.image_count, stats.uncaptioned, stats.min_side, stats.max_side) == (
            2,
            1,
            64,
            64,
        )
        pairs = await training_images(session, blobs, ds)
    assert [caption for _, caption in pairs] == ["", "a cat, sitting"]
    assert all(path.is_file() and path.is_relative_to(blobs.root) for path, _ in pairs)
    assert len(temp_files(blobs)) == 0


async def test_invalid_caption_refuses_only_that_file(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {"a.png": f.png_bytes(seed=1), "b.png": f.png_bytes(seed=2)}
    result = await upload(sessionmaker, blobs, ds, owner, files, {"a.png": "x" * 101})
    assert [r.code for r in result.refused] == [RefusalCode.invalid_caption]
    assert [a.filename for a in result.added] == ["b.png"]
    assert len(stored_files(blobs)) == 1 and temp_files(blobs) == []


async def test_dataset_full_and_quota(sessionmaker: Sessionmaker, blobs: BlobStore) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {f"{i}.png": f.png_bytes(seed=i) for i in range(4)}
    small = UploadLimits(max_images_per_dataset=3, account_quota_bytes=10**9)
    result = await upload(sessionmaker, blobs, ds, owner, files, limits=small)
    assert len(result.added) == 3
    assert [(r.filename, r.code) for r in result.refused] == [("3.png", RefusalCode.dataset_full)]
    used = sum(i.byte_size for i in await _images(sessionmaker, ds, owner))
    other = await make_dataset(sessionmaker, owner, "other")  # the quota spans datasets
    tight = UploadLimits(max_images_per_dataset=200, account_quota_bytes=used + 10)
    before = stored_files(blobs)
    result = await upload(
        sessionmaker, blobs, other, owner, {"x.png": f.png_bytes(seed=9)}, limits=tight
    )
    assert result.added == [] and result.refused[0].code == RefusalCode.quota_exceeded
    assert stored_files(blobs) == before and temp_files(blobs) == []
    assert await count_rows(sessionmaker, Image) == 3


async def _images(sm: Sessionmaker, ds: int, account: int):
    async with sm.begin() as session:
        return await list_images(session, ds, account)


async def test_failed_transaction_stores_nothing(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    batch = make_batch(blobs, {"a.png": f.png_bytes(seed=1)})
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as session:
            await add_images(session, blobs, batch, dataset_id=ds, account_id=owner, limits=LIMITS)
            raise RuntimeError("the commit never happens")
    assert len(stored_files(blobs)) == 1  # moved into place before the failure...
    assert await release_blobs(sessionmaker, blobs, batch.blob_keys()) == 1
    batch.discard(blobs)
    assert stored_files(blobs) == [] and temp_files(blobs) == []  # ...and released after it
    assert await count_rows(sessionmaker, Image) == 0


async def test_others_cannot_upload_or_change_images(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner, other = await make_account(sessionmaker), await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    added = (await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})).added[0]
    with pytest.raises(NotFound):
        await upload(sessionmaker, blobs, ds, other, {"b.png": f.png_bytes(seed=3)})
    async with sessionmaker.begin() as session:
        with pytest.raises(NotFound):
            await list_images(session, ds, other)
        with pytest.raises(NotFound):
            await recaption_image(session, ds, added.id, other, "mine now", max_chars=100)
        with pytest.raises(NotFound):
            await delete_image(session, ds, added.id, other)
        with pytest.raises(NotFound):
            await get_usable_dataset(session, ds, other)
    assert await count_rows(sessionmaker, Image) == 1 and temp_files(blobs) == []


async def test_recaption_and_delete_image(sessionmaker: Sessionmaker, blobs: BlobStore) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    other_ds = await make_dataset(sessionmaker, owner, "copy")
    data = f.png_bytes(seed=4)
    first = (await upload(sessionmaker, blobs, ds, owner, {"a.png": data})).added[0]
    await upload(sessionmaker, blobs, other_ds, owner, {"same.png": data})  # shares the blob
    async with sessionmaker.begin() as session:
        out = await recaption_image(session, ds, first.id, owner, "  new caption ", max_chars=100)
        assert out.caption == "new caption"
        with pytest.raises(InvalidInput):
            await recaption_image(session, ds, first.id, owner, "bad\ncaption", max_chars=100)
        with pytest.raises(NotFound):
            await recaption_image(
                session, other_ds, first.id, owner, "wrong dataset", max_chars=100
            )
    async with sessionmaker.begin() as session:
        keys = await delete_image(session, ds, first.id, owner)
    assert await release_blobs(sessionmaker, blobs, keys) == 0  # still used by "copy"
    assert len(stored_files(blobs)) == 1
    async with sessionmaker.begin() as session:
        keys = await delete_dataset(session, other_ds, owner)
    assert await release_blobs(sessionmaker, blobs, keys) == 1
    assert stored_files(blobs) == [] and await count_rows(sessionmaker, Image) == 0


async def _add_job(sm: Sessionmaker, account: int, ds: int, status: JobStatus) -> int:
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


@pytest.mark.parametrize("status", [JobStatus.queued, JobStatus.preparing, JobStatus.training])
async def test_delete_refused_while_a_job_uses_the_dataset(
    sessionmaker: Sessionmaker, blobs: BlobStore, status: JobStatus
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})
    job = await _add_job(sessionmaker, owner, ds, status)
    async with sessionmaker.begin() as session:
        with pytest.raises(Conflict) as caught:
            await delete_dataset(session, ds, owner)
    assert caught.value.code == "DATASET_IN_USE" and caught.value.details["job_ids"] == [job]
    assert await count_rows(sessionmaker, Image) == 1 and len(stored_files(blobs)) == 1


async def test_delete_after_jobs_finished_keeps_their_records(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(
        sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes(), "b.jpg": f.jpeg_bytes(seed=5)}
    )
    job = await _add_job(sessionmaker, owner, ds, JobStatus.completed)
    async with sessionmaker.begin() as session:
        session.add(
            Model(
                job_id=job,
                account_id=owner,
                dataset_id=ds,
                offering_id="tiny-lora",
                name="m",
                format="diffusers",
                blob_prefix="models/1",
                files=[],
                summary={},
            )
        )
    async with sessionmaker.begin() as session:
        keys = await delete_dataset(session, ds, owner)
    assert await release_blobs(sessionmaker, blobs, keys) == 2
    async with sessionmaker.begin() as session:
        kept = await session.get(Job, job)
        assert kept is not None and kept.dataset_id is None
        assert await session.scalar(select(Model.dataset_id)) is None
        with pytest.raises(NotFound):
            await get_dataset(session, ds, owner)
    assert stored_files(blobs) == [] and await count_rows(sessionmaker, Image) == 0


async def test_reclaim_orphans(sessionmaker: Sessionmaker, blobs: BlobStore) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})
    # A crash between moving a file into place and committing its row leaves an orphan.
    orphan = prepare_image(f.png_bytes(seed=8), blobs, max_pixels=10**6).staged
    blobs.publish(orphan)
    assert len(stored_files(blobs)) == 2
    assert await reclaim_orphan_blobs(sessionmaker, blobs) == 1
    assert len(stored_files(blobs)) == 1 and not blobs.exists(orphan.key)


async def test_training_images_refuses_what_cannot_train(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    async with sessionmaker.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            await training_images(session, blobs, ds)
        assert caught.value.code == "DATASET_EMPTY"
        for missing in (None, 999_999):
            with pytest.raises(NotFound):
                await dataset_images_for_training(session, missing, blobs)
    await upload(
        sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes(), "b.png": f.png_bytes(seed=1)}
    )
    async with sessionmaker.begin() as session:
        pairs = await dataset_images_for_training(session, ds, blobs)
    assert len(pairs) == 2
    pairs[0][0].unlink()
    async with sessionmaker.begin() as session:
        with pytest.raises(NotFound) as caught:
            await training_images(session, blobs, ds)
    assert caught.value.code == "IMAGE_FILE_MISSING"


async def test_images_cannot_be_deleted_while_a_job_uses_them(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    image = (await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})).added[0]
    await _add_job(sessionmaker, owner, ds, JobStatus.queued)
    async with sessionmaker.begin() as session:
        with pytest.raises(Conflict) as caught:
            await delete_image(session, ds, image.id, owner)
    assert caught.value.code == "DATASET_IN_USE"
    assert await count_rows(sessionmaker, Image) == 1 and len(stored_files(blobs)) == 1


async def test_concurrent_uploads_respect_the_dataset_size(
    sessionmaker: Sessionmaker, blobs: BlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    limits = UploadLimits(max_images_per_dataset=3, account_quota_bytes=10**9)
    uploads = [
        upload(sessionmaker, blobs, ds, owner, {f"{i}.png": f.png_bytes(seed=i)}, limits=limits)
        for i in range(6)
    ]
    results = await asyncio.gather(*uploads)
    assert sum(len(r.added) for r in results) == 3
    refused = [r.refused[0].code for r in results if r.refused]
    assert refused == [RefusalCode.dataset_full] * 3
    assert await count_rows(sessionmaker, Image) == 3 and len(stored_files(blobs)) == 3
