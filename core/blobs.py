"""Content-addressed file storage under one local folder (DATA_DIR/blobs).

Keys are relative paths made by this module (a sha256 digest, or a prefix the daemon chose plus
a file name); they never come from users, and every key is checked before it touches the disk.
Writes go to a temporary file in the same file system and are renamed into place, so a reader
never sees half a file and a crash leaves only temporary files behind.
"""

import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Path segments: no separators, no leading dot (so no "..", no hidden files), bounded length.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}"
KEY_PATTERN = re.compile(rf"^{_SEGMENT}(/{_SEGMENT}){{0,7}}$")
TEMP_DIR = ".tmp"


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


class BlobStore:
    """Files under `root`, addressed by keys; content-addressed when written by `put_bytes`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._temp = self.root / TEMP_DIR
        self._temp.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def content_key(digest: str, *, namespace: str = "sha256", suffix: str = "") -> str:
        """The key of content with this sha256 hex digest (fanned out over 256 folders)."""
        return check_key(f"{namespace}/{digest[:2]}/{digest}{suffix}")

    def path(self, key: str) -> Path:
        """Where the blob of `key` lives on disk (it may not exist)."""
        return self.root / check_key(key)

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        """Size in bytes of a stored blob."""
        return self.path(key).stat().st_size

    def open(self, key: str) -> BinaryIO:
        """Open a stored blob for reading (FileNotFoundError when missing)."""
        return self.path(key).open("rb")

    def read_bytes(self, key: str) -> bytes:
        """The whole content of a stored blob."""
        return self.path(key).read_bytes()

    def put_bytes(self, data: bytes, *, namespace: str = "sha256", suffix: str = "") -> str:
        """Store bytes under their content key and return the key (no-op when already there)."""
        staged = self.stage_bytes(data, namespace=namespace, suffix=suffix)
        self.publish(staged)
        return staged.key

    def stage_bytes(
        self, data: bytes, *, namespace: str = "sha256", suffix: str = ""
    ) -> StagedBlob:
        """Write bytes to a temporary file; `publish` later moves them under their content key."""
        key = self.content_key(sha256_hex(data), namespace=namespace, suffix=suffix)
        return StagedBlob(key=key, temp_path=self._write_temp(data), size=len(data))

    def publish(self, staged: StagedBlob) -> bool:
        """Move a staged file into place; False (and the copy dropped) when already stored."""
        target = self.path(staged.key)
        if target.is_file():
            staged.temp_path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.temp_path, target)
        return True

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged file that will not be published (harmless after `publish`)."""
        staged.temp_path.unlink(missing_ok=True)

    def put_file(self, key_prefix: str, name: str, src_path: Path) -> str:
        """Copy a file under `key_prefix/name` (replacing what was there) and return the key."""
        key = check_key(f"{key_prefix}/{name}")
        target = self.path(key)
        fd, temp = tempfile.mkstemp(dir=self._temp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out, Path(src_path).open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return key

    def delete(self, key: str) -> bool:
        """Remove a blob; False when there was none."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def keys(self, namespace: str) -> list[str]:
        """Every stored key under a namespace folder (e.g. "images")."""
        base = self.root / check_key(namespace)
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def reclaim_temp(self, older_than_seconds: float = 3600.0) -> int:
        """Delete temporary files left by crashed writers; returns how many were removed."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in self._temp.iterdir():
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write_temp(self, data: bytes) -> Path:
        fd, temp = tempfile.mkstemp(dir=self._temp, prefix="stage-")
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
