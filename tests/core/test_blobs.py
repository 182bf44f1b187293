"""The blob store contract, on both backends: the local folder and S3 (the test SeaweedFS).

Content addressing, atomic publication, key checks, listing, streaming, copies in and out, and
cleanup of temporary files; then what only one backend has (the folder's paths).
"""

import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.blobs import BlobStore, LocalBlobStore, check_key, open_blob_store, sha256_hex
from core.settings import Settings
from tests.s3_bucket import S3Bucket

MALFORMED = ["../etc/passwd", "/abs", "a/../b", ".tmp/x", "a//b", "a/.hidden", "", "a\\b", "a b"]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def blob_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings naming each backend (S3: a prefix of its own in the module's bucket)."""
    if request.param == "local":
        return Settings(data_dir=tmp_path / "data")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return Settings(data_dir=tmp_path / "data", **bucket.settings_fields())


@pytest.fixture
async def blobs(blob_settings: Settings) -> AsyncIterator[BlobStore]:
    """An empty store of the backend the settings name."""
    store = await open_blob_store(blob_settings)
    yield store
    await store.aclose()


def staged_files(blobs: BlobStore) -> list[Path]:
    return list(blobs.staging_dir.iterdir())


async def test_put_bytes_is_content_addressed_and_idempotent(blobs: BlobStore) -> None:
    key = await blobs.put_bytes(b"hello")
    digest = sha256_hex(b"hello")
    assert key == f"sha256/{digest[:2]}/{digest}"
    assert await blobs.read_bytes(key) == b"hello"
    assert await blobs.put_bytes(b"hello") == key
    assert await blobs.keys("sha256") == [key]
    assert staged_files(blobs) == []  # no temporary file left behind


async def test_stage_then_publish_or_discard(blobs: BlobStore) -> None:
    staged = blobs.stage_bytes(b"abc", namespace="images", suffix=".jpg")
    assert staged.key.startswith("images/") and staged.key.endswith(".jpg")
    assert not await blobs.exists(staged.key) and staged.temp_path.is_file()
    assert await blobs.publish(staged) is True
    assert await blobs.exists(staged.key) and not staged.temp_path.exists()
    again = blobs.stage_bytes(b"abc", namespace="images", suffix=".jpg")
    assert await blobs.publish(again) is False  # already stored: the copy is dropped
    assert not again.temp_path.exists()
    dropped = blobs.stage_bytes(b"never published")
    blobs.discard(dropped)
    assert not dropped.temp_path.exists() and not await blobs.exists(dropped.key)


async def test_put_file_size_stream_fetch_delete(blobs: BlobStore, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    src = tmp_path / "lora.safetensors"
    src.write_bytes(content)
    key = await blobs.put_file("models/7", "lora.safetensors", src)
    assert key == "models/7/lora.safetensors"
    assert await blobs.size(key) == len(content)
    pieces = [chunk async for chunk in blobs.chunks(key)]
    assert len(pieces) > 1 and b"".join(pieces) == content
    fetched = await blobs.fetch_to(key, tmp_path / "out" / "copy.safetensors")
    assert fetched.read_bytes() == content
    src.write_bytes(b"replaced")  # a second copy under the same name replaces the first
    await blobs.put_file("models/7", "lora.safetensors", src)
    assert await blobs.read_bytes(key) == b"replaced"
    assert await blobs.delete(key) is True
    assert await blobs.delete(key) is False
    assert not await blobs.exists(key)


async def test_a_missing_blob_is_file_not_found(blobs: BlobStore, tmp_path: Path) -> None:
    missing = "models/1/nothing.png"
    for call in (blobs.size(missing), blobs.read_bytes(missing)):
        with pytest.raises(FileNotFoundError):
            await call
    with pytest.raises(FileNotFoundError):
        await blobs.fetch_to(missing, tmp_path / "dest")
    with pytest.raises(FileNotFoundError):
        _ = [chunk async for chunk in blobs.chunks(missing)]
    assert not (tmp_path / "dest").exists() and list(tmp_path.glob(".fetch-*")) == []


async def test_listing_is_by_namespace_with_sizes_and_times(
    blobs: BlobStore, tmp_path: Path
) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"12345")
    before = time.time() - 60
    first = await blobs.put_file("generations/job-1/attempt-1", "a.png", src)
    second = await blobs.put_file("generations/job-2/attempt-1", "a.png", src)
    image = await blobs.put_bytes(b"an image", namespace="images")
    listed = await blobs.listing("generations")
    assert [info.key for info in listed] == [first, second]
    assert all(info.size == 5 and before < info.modified < time.time() + 60 for info in listed)
    assert await blobs.keys("images") == [image]
    assert await blobs.keys("models") == []


async def test_local_file_is_the_stored_file_or_a_cached_download(
    blobs: BlobStore, tmp_path: Path
) -> None:
    key = await blobs.put_bytes(b"pixels", namespace="images")
    cache = tmp_path / "inputs" / key
    path = await blobs.local_file(key, cache)
    assert path.read_bytes() == b"pixels"
    if isinstance(blobs, LocalBlobStore):
        assert path == blobs.path(key) and not cache.exists()  # no copy of a local blob
    else:
        assert path == cache
        await blobs.delete(key)
        assert (await blobs.local_file(key, cache)).read_bytes() == b"pixels"  # kept


@pytest.mark.parametrize("key", MALFORMED)
async def test_malformed_keys_are_refused(blobs: BlobStore, key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_key(key)
    for call in (blobs.exists(key), blobs.read_bytes(key), blobs.delete(key)):
        with pytest.raises(ValueError, match="malformed blob key"):
            await call
    with pytest.raises(ValueError, match="malformed blob key"):
        blobs.local_path(key)


async def test_put_file_refuses_names_that_escape(blobs: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"1")
    with pytest.raises(ValueError):
        await blobs.put_file("models/1", "../../escape", src)
    assert await blobs.keys("models") == []
    assert not (tmp_path / "escape").exists()


async def test_a_half_written_copy_is_never_visible(
    blobs: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy fails halfway through (a full disk, a dropped connection): nothing is stored
    under the key and nothing of the attempt is left over."""
    src = tmp_path / "big.safetensors"
    src.write_bytes(os.urandom(3 * 1024 * 1024))
    fail_halfway(blobs, monkeypatch)
    with pytest.raises(OSError, match="halfway"):
        await blobs.put_file("models/9", "big.safetensors", src)
    assert not await blobs.exists("models/9/big.safetensors")
    assert await blobs.keys("models") == []
    assert staged_files(blobs) == []
    if not isinstance(blobs, LocalBlobStore):
        assert await unfinished_uploads(blobs) == []


def fail_halfway(blobs: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next copy into the store fail after part of the bytes went out."""
    if isinstance(blobs, LocalBlobStore):

        def copy_half(src: Any, dst: Any, length: int = 0) -> None:
            dst.write(src.read(1024 * 1024))
            raise OSError("disk full halfway")

        monkeypatch.setattr(shutil, "copyfileobj", copy_half)
        return
    import core.blobs.s3 as s3

    monkeypatch.setattr(s3, "MULTIPART_THRESHOLD", 1024 * 1024)
    monkeypatch.setattr(s3, "PART_BYTES", 1024 * 1024)
    client = blobs._client  # type: ignore[attr-defined]
    sent = client.upload_part

    async def second_part_fails(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] > 1:
            raise OSError("connection lost halfway")
        return await sent(**kwargs)

    monkeypatch.setattr(client, "upload_part", second_part_fails)


async def unfinished_uploads(blobs: Any) -> list[str]:
    answer = await blobs._client.list_multipart_uploads(Bucket=blobs.location.bucket)
    prefix = blobs.location.prefix
    return [u["Key"] for u in answer.get("Uploads", []) if u["Key"].startswith(prefix)]


async def test_reclaim_temp_removes_only_stale_files(blobs: BlobStore) -> None:
    stale = blobs.stage_bytes(b"old")
    fresh = blobs.stage_bytes(b"new")
    past = time.time() - 7200
    os.utime(stale.temp_path, (past, past))
    assert blobs.reclaim_temp(3600) == 1
    assert not stale.temp_path.exists() and fresh.temp_path.exists()


def test_local_paths_stay_inside_the_folder(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    key = f"models/{uuid.uuid4().hex}/lora.safetensors"
    assert blobs.path(key).is_relative_to(blobs.root)
    for key in MALFORMED:
        with pytest.raises(ValueError, match="malformed blob key"):
            blobs.path(key)


async def test_the_settings_choose_the_backend(tmp_path: Path) -> None:
    for url in ("", "file:"):
        store = await open_blob_store(Settings(data_dir=tmp_path, blobs_url=url))
        assert isinstance(store, LocalBlobStore) and store.root == (tmp_path / "blobs").resolve()
    with pytest.raises(ValueError, match="s3://"):
        await open_blob_store(Settings(data_dir=tmp_path, blobs_url="ftp://x/y"))
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        await open_blob_store(Settings(data_dir=tmp_path, blobs_url="s3:///nobucket"))
