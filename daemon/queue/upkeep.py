"""Periodic upkeep: expired link codes, quotes and conversations, orphaned blobs, old job
files, the latent cache budget."""

import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.blobs import BlobStore
from core.db.models import Job, LinkCode, Model
from core.db.types import utcnow
from core.enums import FINAL_STATUSES, JobKind, JobStatus
from core.generations import result_files
from daemon.queue.dispatcher import INPUTS_DIR

log = structlog.get_logger(__name__)

MODELS_NAMESPACE = "models"
GENERATIONS_NAMESPACE = "generations"
# Where the daemon copies what workers produce: a model's files, a generation's images.
OUTPUT_NAMESPACES = (MODELS_NAMESPACE, GENERATIONS_NAMESPACE)
# A blob younger than this may belong to an upload or a model whose row is not committed yet.
ORPHAN_MIN_AGE_SECONDS = 3600.0


@dataclass
class UpkeepReport:
    """What one upkeep run removed."""

    link_codes: int = 0
    quotes: int = 0
    web_sign_ins: int = 0  # expired dashboard links and sessions
    conversations: int = 0  # the bots' expired conversation states
    orphan_blobs: int = 0
    job_dirs: int = 0
    cache_files: int = 0
    cache_bytes_freed: int = 0

    def to_dict(self) -> dict[str, int]:
        """A JSON-ready dict of the counters."""
        return asdict(self)


async def expire_link_codes(session: AsyncSession) -> int:
    """Delete link codes past their expiry (used or not)."""
    result = await session.execute(delete(LinkCode).where(LinkCode.expires_at < utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def referenced_model_keys(session: AsyncSession) -> set[str]:
    """Every blob key a model row or a generation's result points at, and those of the saved
    checkpoints of trainings that neither failed nor were cancelled (the checkpoints of those
    may go)."""
    keys: set[str] = set()
    for files in await session.scalars(select(Model.files)):
        keys.update(str(entry["key"]) for entry in files if "key" in entry)
    given_up = [str(JobStatus.failed), str(JobStatus.cancelled)]
    saved = select(Job.checkpoints).where(Job.kind == JobKind.train, Job.status.not_in(given_up))
    for checkpoints in await session.scalars(saved):
        keys.update(str(f["key"]) for entry in checkpoints for f in entry["files"])
    results = await session.scalars(select(Job.result).where(Job.kind == JobKind.generate))
    for result in results:
        keys.update(str(entry["key"]) for entry in result_files(result))
    return keys


async def sweep_orphan_model_files(
    blobs: BlobStore, referenced: set[str], *, min_age_seconds: float = ORPHAN_MIN_AGE_SECONDS
) -> int:
    """Delete old model files and generation images nothing points at (a crash between copy
    and commit, a job cancelled while its files were copied).

    Image blobs are reclaimed by `core.dataset_images.reclaim_orphan_blobs`, under the same
    locks uploads take.
    """
    cutoff = time.time() - min_age_seconds
    removed = 0
    for namespace in OUTPUT_NAMESPACES:
        for info in await blobs.listing(namespace):
            if info.key not in referenced and info.modified < cutoff:
                removed += int(await blobs.delete(info.key))
    return removed


async def finished_job_ids(session: AsyncSession, job_ids: list[int]) -> set[int]:
    """Which of these jobs are in a final status."""
    if not job_ids:
        return set()
    rows = await session.scalars(
        select(Job.id).where(Job.id.in_(job_ids), Job.status.in_([str(s) for s in FINAL_STATUSES]))
    )
    return set(rows)


def job_dir_ids(data_dir: Path) -> list[int]:
    """Ids of the jobs that have a folder under DATA_DIR/jobs."""
    root = data_dir / "jobs"
    if not root.is_dir():
        return []
    return [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]


def clear_job_outputs(data_dir: Path, job_ids: set[int]) -> int:
    """Remove outputs, checkpoints and fetched inputs of finished jobs (their attempt logs
    stay)."""
    cleared = 0
    for job_id in job_ids:
        root = data_dir / "jobs" / str(job_id)
        targets = [*root.glob("out-*"), *root.glob(".out-*"), root / "checkpoints"]
        targets.append(root / INPUTS_DIR)
        for path in targets:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                cleared += 1
    return cleared


def enforce_cache_budget(cache_dir: Path, budget_bytes: int) -> tuple[int, int]:
    """Delete least-recently-used cache files until the cache fits its budget."""
    if not cache_dir.is_dir():
        return 0, 0
    entries: list[tuple[float, int, Path]] = []
    for root, _dirs, names in os.walk(cache_dir):
        for name in names:
            path = Path(root) / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            # atime may be frozen (noatime mounts): the later of the two is the last use.
            entries.append((max(stat.st_atime, stat.st_mtime), stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    for _, size, path in sorted(entries):
        if total <= budget_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        removed += 1
        freed += size
    return removed, freed
