"""Images of datasets in the domain layer: file-by-file uploads, limits, captions."""

import pytest

from core.blobs import LocalBlobStore
from core.dataset_images import (
    UploadLimits,
    add_images,
    delete_image,
    list_images,
    recaption_image,
    release_blobs,
)
from core.datasets import (
    dataset_stats,
    delete_dataset,
    get_usable_dataset,
)
from core.db.models import Image
from core.errors import InvalidInput, NotFound
from core.images import RefusalCode
from tests import imagefactory as f
from tests.core.datasets.builders import (
    LIMITS,
    Sessionmaker,
    count_rows,
    images_of,
    make_account,
    make_batch,
    make_dataset,
    stored_files,
    temp_files,
    upload,
)


async def test_upload_adds_and_refuses_file_by_file(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {
        "a.png": f.png_bytes(seed=1),
        "b.jpg": f.jpeg_bytes(seed=2),
        "a2.png": f.png_bytes(seed=1),
    }
    result = await upload(sessionmaker, blobs, ds, owner, files, {"b.jpg": "a cat, sitting"})
    assert [a.original_filename for a in result.added] == ["a.png", "b.jpg"]
    assert result.added[1].caption == "a cat, sitting"
    assert [(r.filename, r.code) for r in result.refused] == [
        ("a2.png", RefusalCode.duplicate_image)
    ]
    assert len(await stored_files(blobs)) == 2 and temp_files(blobs) == []
    again = await upload(sessionmaker, blobs, ds, owner, {"c.webp": f.webp_bytes(seed=1)})
    assert again.added == [] and again.refused[0].code == RefusalCode.duplicate_image
    assert "already in this dataset" in again.refused[0].message
    async with sessionmaker.begin() as session:
        images = await list_images(session, ds, owner)
        assert [i.original_filename for i in images] == ["a.png", "b.jpg"]
        stats = await dataset_stats(session, ds)
        assert (stats.image_count, stats.uncaptioned, stats.min_side, stats.max_side) == (
            2,
            1,
            64,
            64,
        )
    pairs = [(blobs.path(image.blob_key), image.caption) for image in images]
    assert [caption for _, caption in pairs] == ["", "a cat, sitting"]
    assert all(path.is_file() and path.is_relative_to(blobs.root) for path, _ in pairs)
    assert len(temp_files(blobs)) == 0


async def test_invalid_caption_refuses_only_that_file(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {"a.png": f.png_bytes(seed=1), "b.png": f.png_bytes(seed=2)}
    result = await upload(sessionmaker, blobs, ds, owner, files, {"a.png": "x" * 101})
    assert [r.code for r in result.refused] == [RefusalCode.invalid_caption]
    assert [a.original_filename for a in result.added] == ["b.png"]
    assert len(await stored_files(blobs)) == 1 and temp_files(blobs) == []


async def test_dataset_full_and_quota(sessionmaker: Sessionmaker, blobs: LocalBlobStore) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    files = {f"{i}.png": f.png_bytes(seed=i) for i in range(4)}
    small = UploadLimits(max_images_per_dataset=3, account_quota_bytes=10**9)
    result = await upload(sessionmaker, blobs, ds, owner, files, limits=small)
    assert len(result.added) == 3
    assert [(r.filename, r.code) for r in result.refused] == [("3.png", RefusalCode.dataset_full)]
    used = sum(i.byte_size for i in await images_of(sessionmaker, ds, owner))
    other = await make_dataset(sessionmaker, owner, "other")  # the quota spans datasets
    tight = UploadLimits(max_images_per_dataset=200, account_quota_bytes=used + 10)
    before = await stored_files(blobs)
    result = await upload(
        sessionmaker, blobs, other, owner, {"x.png": f.png_bytes(seed=9)}, limits=tight
    )
    assert result.added == [] and result.refused[0].code == RefusalCode.quota_exceeded
    assert await stored_files(blobs) == before and temp_files(blobs) == []
    assert await count_rows(sessionmaker, Image) == 3


async def test_failed_transaction_stores_nothing(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
    owner = await make_account(sessionmaker)
    ds = await make_dataset(sessionmaker, owner)
    batch = make_batch(blobs, {"a.png": f.png_bytes(seed=1)})
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as session:
            await add_images(session, blobs, batch, dataset_id=ds, account_id=owner, limits=LIMITS)
            raise RuntimeError("the commit never happens")
    assert len(await stored_files(blobs)) == 1  # moved into place before the failure...
    assert await release_blobs(sessionmaker, blobs, batch.blob_keys()) == 1
    batch.discard(blobs)
    assert await stored_files(blobs) == [] and temp_files(blobs) == []  # ...and released after it
    assert await count_rows(sessionmaker, Image) == 0


async def test_others_cannot_upload_or_change_images(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
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


async def test_recaption_and_delete_image(
    sessionmaker: Sessionmaker, blobs: LocalBlobStore
) -> None:
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
    assert len(await stored_files(blobs)) == 1
    async with sessionmaker.begin() as session:
        keys = await delete_dataset(session, other_ds, owner)
    assert await release_blobs(sessionmaker, blobs, keys) == 1
    assert await stored_files(blobs) == [] and await count_rows(sessionmaker, Image) == 0
