"""The blob store interface: files addressed by keys, content-addressed where written by bytes.

Keys are relative paths made by the daemon (a sha256 digest, or a prefix it chose plus a file
name); they never come from users, and every key is checked before it reaches a backend.
Bytes are staged in a local temporary file and published whole, so a reader never sees half a
blob and a crash leaves only temporary files behind (`reclaim_temp`).

Where a backend does I/O the methods are async (the S3 client is); staging and discarding
touch only the local staging folder and stay plain calls (run them in a thread, as uploads do).
"""

import abc
import hashlib
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

# Path segments: no separators, no leading dot (so no "..", no hidden files), bounded length.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}"
KEY_PATTERN = re.compile(rf"^{_SEGMENT}(/{_SEGMENT}){{0,7}}$")
CHUNK_BYTES = 1024 * 1024


def sha256_hex(data: bytes) -> str:
    """Hex sha256 digest of some bytes."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Return the key if it is a well-formed relative blob key, else raise ValueError."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"malformed blob key {key!r}")
    return key


@dataclass(frozen=True)
class StagedBlob:
    """Bytes written to a temporary file, waiting to be published under `key`."""

    key: str
    temp_path: Path
    size: int


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob as a listing sees it."""

    key: str
    size: int
    modified: float  # seconds since the epoch


class BlobStore(abc.ABC):
    """Blobs addressed by keys; bytes are staged under `staging_dir` before they are published."""

    def __init__(self, staging_dir: Path) -> None:
        self.staging_dir = Path(staging_dir).resolve()
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def content_key(digest: str, *, namespace: str = "sha256", suffix: str = "") -> str:
        """The key of content with this sha256 hex digest (fanned out over 256 folders)."""
        return check_key(f"{namespace}/{digest[:2]}/{digest}{suffix}")

    def stage_bytes(
        self, data: bytes, *, namespace: str = "sha256", suffix: str = ""
    ) -> StagedBlob:
        """Write bytes to a temporary file; `publish` later stores them under their content key."""
        key = self.content_key(sha256_hex(data), namespace=namespace, suffix=suffix)
        return StagedBlob(key=key, temp_path=self._write_temp(data), size=len(data))

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged file that will not be published (harmless after `publish`)."""
        staged.temp_path.unlink(missing_ok=True)

    def reclaim_temp(self, older_than_seconds: float = 3600.0) -> int:
        """Delete temporary files left by crashed writers; returns how many were removed."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in self.staging_dir.iterdir():
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    async def put_bytes(self, data: bytes, *, namespace: str = "sha256", suffix: str = "") -> str:
        """Store bytes under their content key and return the key (no-op when already there)."""
        staged = self.stage_bytes(data, namespace=namespace, suffix=suffix)
        await self.publish(staged)
        return staged.key

    async def keys(self, namespace: str) -> list[str]:
        """Every stored key under a namespace folder (e.g. "images"), sorted."""
        return [info.key for info in await self.listing(namespace)]

    def local_path(self, key: str) -> Path | None:
        """Where the blob of `key` lives on this machine's disk; None for a remote store."""
        check_key(key)
        return None

    async def local_file(self, key: str, cache_path: Path) -> Path:
        """A local file holding the blob: the stored file itself where the store is a local
        folder, else a download to `cache_path` (kept: keys never change their content)."""
        path = self.local_path(key)
        if path is not None:
            return path
        if not cache_path.is_file():
            await self.fetch_to(key, cache_path)
        return cache_path

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the store's connections."""

    @abc.abstractmethod
    async def publish(self, staged: StagedBlob) -> bool:
        """Store a staged file under its key; False (and the copy dropped) when already stored."""

    @abc.abstractmethod
    async def put_file(self, key_prefix: str, name: str, src_path: Path) -> str:
        """Copy a file under `key_prefix/name` (replacing what was there) and return the key."""

    @abc.abstractmethod
    async def fetch_to(self, key: str, dest: Path) -> Path:
        """Copy a blob to a local file, whole or not at all (FileNotFoundError when missing)."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""

    @abc.abstractmethod
    async def size(self, key: str) -> int:
        """Size in bytes of a stored blob (FileNotFoundError when missing)."""

    @abc.abstractmethod
    async def read_bytes(self, key: str) -> bytes:
        """The whole content of a stored blob (FileNotFoundError when missing)."""

    @abc.abstractmethod
    def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The content of a stored blob piece by piece, to stream it out without holding it."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove a blob; False when there was none."""

    @abc.abstractmethod
    async def listing(self, namespace: str) -> list[BlobInfo]:
        """Every stored blob under a namespace folder, sorted by key."""

    def _write_temp(self, data: bytes) -> Path:
        fd, temp = tempfile.mkstemp(dir=self.staging_dir, prefix="stage-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                # Durable before the database row that points at it is committed.
                os.fsync(out.fileno())
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return Path(temp)
