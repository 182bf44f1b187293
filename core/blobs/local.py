"""Blobs in one local folder (DATA_DIR/blobs), the embedded default.

A blob's key is its path under the folder. Staged and copied files are written in the folder's
`.tmp` (the same file system) and renamed into place, so publishing is atomic. Copies of whole
files run in a thread; the quick calls (a stat, an unlink) stay on the event loop.
"""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from core.blobs.base import CHUNK_BYTES, BlobInfo, BlobStore, StagedBlob, check_key

TEMP_DIR = ".tmp"


class LocalBlobStore(BlobStore):
    """Files under `root`, addressed by keys."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        super().__init__(self.root / TEMP_DIR)

    def path(self, key: str) -> Path:
        """Where the blob of `key` lives on disk (it may not exist)."""
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    async def aclose(self) -> None:
        """Nothing to release: a folder holds no connections."""

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    async def read_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        with self.path(key).open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk

    async def publish(self, staged: StagedBlob) -> bool:
        target = self.path(staged.key)
        if target.is_file():
            staged.temp_path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.temp_path, target)
        return True

    async def put_file(self, key_prefix: str, name: str, src_path: Path) -> str:
        key = check_key(f"{key_prefix}/{name}")
        await asyncio.to_thread(_copy_atomically, Path(src_path), self.path(key), self.staging_dir)
        return key

    async def fetch_to(self, key: str, dest: Path) -> Path:
        source = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_copy_atomically, source, dest, dest.parent)
        return dest

    async def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    async def listing(self, namespace: str) -> list[BlobInfo]:
        base = self.root / check_key(namespace)
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file():
                stat = path.stat()
                key = path.relative_to(self.root).as_posix()
                found.append(BlobInfo(key=key, size=stat.st_size, modified=stat.st_mtime))
        return sorted(found, key=lambda info: info.key)


def _copy_atomically(source: Path, target: Path, temp_dir: Path) -> None:
    """Copy `source` to `target` through a temporary file in `temp_dir` (same file system)."""
    fd, temp = tempfile.mkstemp(dir=temp_dir, prefix="put-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
