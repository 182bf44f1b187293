"""BlobStore: content addressing, atomic publication, key checks, cleanup of temporary files."""

import os
import time
from pathlib import Path

import pytest

from core.blobs import BlobStore, check_key, sha256_hex


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def test_put_bytes_is_content_addressed_and_idempotent(blobs: BlobStore) -> None:
    key = blobs.put_bytes(b"hello")
    digest = sha256_hex(b"hello")
    assert key == f"sha256/{digest[:2]}/{digest}"
    assert blobs.read_bytes(key) == b"hello"
    assert blobs.put_bytes(b"hello") == key
    assert blobs.keys("sha256") == [key]
    assert list((blobs.root / ".tmp").iterdir()) == []  # no temporary file left behind


def test_stage_then_publish_or_discard(blobs: BlobStore) -> None:
    staged = blobs.stage_bytes(b"abc", namespace="images", suffix=".jpg")
    assert staged.key.startswith("images/") and staged.key.endswith(".jpg")
    assert not blobs.exists(staged.key) and staged.temp_path.is_file()
    assert blobs.publish(staged) is True
    assert blobs.exists(staged.key) and not staged.temp_path.exists()
    again = blobs.stage_bytes(b"abc", namespace="images", suffix=".jpg")
    assert blobs.publish(again) is False  # already stored: the copy is dropped
    assert not again.temp_path.exists()
    dropped = blobs.stage_bytes(b"never published")
    blobs.discard(dropped)
    assert not dropped.temp_path.exists() and not blobs.exists(dropped.key)


def test_put_file_open_size_delete(blobs: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "lora.safetensors"
    src.write_bytes(b"x" * 1000)
    key = blobs.put_file("models/7", "lora.safetensors", src)
    assert key == "models/7/lora.safetensors"
    with blobs.open(key) as f:
        assert f.read() == b"x" * 1000
    assert blobs.size(key) == 1000
    assert blobs.delete(key) is True
    assert blobs.delete(key) is False
    assert not blobs.exists(key)


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs", "a/../b", ".tmp/x", "a//b", "a/.hidden", "", "a\\b", "a b"]
)
def test_malformed_keys_never_touch_the_disk(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="malformed blob key"):
        blobs.path(key)
    with pytest.raises(ValueError):
        check_key(key)


def test_put_file_refuses_names_that_escape(blobs: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"1")
    with pytest.raises(ValueError):
        blobs.put_file("models/1", "../../escape", src)
    assert not (blobs.root.parent / "escape").exists()


def test_reclaim_temp_removes_only_stale_files(blobs: BlobStore) -> None:
    stale = blobs.stage_bytes(b"old")
    fresh = blobs.stage_bytes(b"new")
    past = time.time() - 7200
    os.utime(stale.temp_path, (past, past))
    assert blobs.reclaim_temp(3600) == 1
    assert not stale.temp_path.exists() and fresh.temp_path.exists()
