"""Datasets in the domain layer: create, change, delete, and what jobs hold on to."""

import asyncio

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from core.blobs import LocalBlobStore
from core.dataset_images import (
    UploadLimits,
    delete_image,
    prepare_image,
    reclaim_orphan_blobs,
    release_blobs,
)
from core.datasets import (
    DatasetCreate,
    DatasetPatch,
    delete_dataset,
    get_dataset,
    list_datasets,
    update_dataset,
)
from core.db.models import Image, Job, Model
from core.enums import JobStatus
from core.errors import Conflict, Forbidden, NotFound
from core.images import RefusalCode
from tests import imagefactory as f
from tests.core.datasets.builders import (
    Sessionmaker,
    add_job,
    count_rows,
    make_account,
    make_dataset,
    stored_files,
    upload,
)


async def test_create_list_get_update(sessionmaker: Sessionmaker) -> None:
    owner, other = await make_account(sessionmaker), await make_account(sessionmaker)
    private = await make_dataset(sessionmaker, owner, "mine", trigger_word="sks_cat", tags=["a"])
    public = await make_dataset(
        sessionmaker, other, "theirs", visibility="public", licence="CC0-1.0"
    )
    hidden = await make_dataset(sessionmaker, other, "hidden")
    async with sessionmaker.begin() as session:
        own = await list_datasets(session, owner)
        assert [d.dataset.id for d in own] == [private]
        assert own[0].dataset.trigger_word == "sks_cat" and own[0].image_count == 0
        with_public = await list_datasets(session, owner, include_public=True)
        assert [(d.dataset.id, d.dataset.account_id) for d in with_public] == [
            (private, owner),
            (public, other),
        ]
        assert (await get_dataset(session, public, owner)).dataset.name == "theirs"
        with pytest.raises(NotFound):
            await get_dataset(session, hidden, owner)
        with pytest.raises(Forbidden):
            await update_dataset(session, public, owner, DatasetPatch(name="stolen"))
        changed = (
            await update_dataset(
                session, private, owner, DatasetPatch(description="fluffy", trigger_word=None)
            )
        ).dataset
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


@pytest.mark.parametrize("status", [JobStatus.queued, JobStatus.preparing, JobStatus.training])
async def test_delete_refused_while_a_job_uses_the_dataset(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore, status: JobStatus
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})
    job = await add_job(sessionmaker, owner, ds, status)
    async with sessionmaker.begin() as session:
        with pytest.raises(Conflict) as caught:
            await delete_dataset(session, ds, owner)
    assert caught.value.code == "DATASET_IN_USE" and caught.value.details["job_ids"] == [job]
    assert await count_rows(sessionmaker, Image) == 1 and len(await stored_files(blobs)) == 1


async def test_delete_after_jobs_finished_keeps_their_records(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(
        sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes(), "b.jpg": f.jpeg_bytes(seed=5)}
    )
    job = await add_job(sessionmaker, owner, ds, JobStatus.completed)
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
    assert await stored_files(blobs) == [] and await count_rows(sessionmaker, Image) == 0


async def test_reclaim_orphans(sessionmaker: Sessionmaker, blobs: LocalBlobStore) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})
    # A crash between moving a file into place and committing its row leaves an orphan.
    orphan = prepare_image(f.png_bytes(seed=8), blobs, max_pixels=10**6).staged
    await blobs.publish(orphan)
    assert len(await stored_files(blobs)) == 2
    assert await reclaim_orphan_blobs(sessionmaker, blobs) == 1
    assert len(await stored_files(blobs)) == 1 and not await blobs.exists(orphan.key)


async def test_images_cannot_be_deleted_while_a_job_uses_them(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    image = (await upload(sessionmaker, blobs, ds, owner, {"a.png": f.png_bytes()})).added[0]
    await add_job(sessionmaker, owner, ds, JobStatus.queued)
    async with sessionmaker.begin() as session:
        with pytest.raises(Conflict) as caught:
            await delete_image(session, ds, image.id, owner)
    assert caught.value.code == "DATASET_IN_USE"
    assert await count_rows(sessionmaker, Image) == 1 and len(await stored_files(blobs)) == 1


async def test_concurrent_uploads_respect_the_dataset_size(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
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
    assert await count_rows(sessionmaker, Image) == 3 and len(await stored_files(blobs)) == 3
