"""A job's training set (or the images a caption job captions): the dataset's images as they
were when the job was priced and paid.

`snapshot_images` copies them onto the job in the transaction that creates it; the worker
gets exactly these (`training_files`), so an image added to the dataset later is not
trained and one removed later still is. The copy names blobs, not image rows: deleting an
image or the whole dataset leaves it, and the image blob sweep
(`core.dataset_images.release_blobs`) keeps every blob an unfinished job still needs
(`blob_keys_in_use`).
"""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.blobs import BlobStore
from core.db.models import Image, Job, JobImage
from core.enums import FINAL_STATUSES
from core.errors import InvalidInput, NotFound


async def snapshot_images(
    session: AsyncSession, job: Job, *, uncaptioned_only: bool = False
) -> int:
    """Copy the images of the job's dataset onto the (flushed) job; how many were copied.

    `uncaptioned_only`: only those without a caption (what a caption job is asked to fill).
    """
    query = select(Image.blob_key, Image.caption, Image.width, Image.height).where(
        Image.dataset_id == job.dataset_id
    )
    if uncaptioned_only:
        query = query.where(Image.caption == "")
    rows = await session.execute(query.order_by(Image.id))
    images = [
        JobImage(
            job_id=job.id, position=position, blob_key=key, caption=caption, width=w, height=h
        )
        for position, (key, caption, w, h) in enumerate(rows)
    ]
    session.add_all(images)
    await session.flush()
    return len(images)


async def training_files(
    session: AsyncSession, blobs: BlobStore, job_id: int, inputs_dir: Path
) -> list[tuple[Path, str]]:
    """The local files and captions a job trains on, in order (for the worker): the stored
    files themselves on a local store, else downloads into `inputs_dir`.

    InvalidInput (DATASET_EMPTY) when the job has no images, NotFound (IMAGE_FILE_MISSING)
    when a stored file is gone: the job cannot train and should fail.
    """
    rows = list(
        await session.execute(
            select(JobImage.blob_key, JobImage.caption)
            .where(JobImage.job_id == job_id)
            .order_by(JobImage.position)
        )
    )
    if not rows:
        raise InvalidInput(f"job {job_id} has no images to train on", code="DATASET_EMPTY")
    files: list[tuple[Path, str]] = []
    missing: list[str] = []
    for key, caption in rows:
        try:
            path = await blobs.local_file(key, inputs_dir / key)
        except FileNotFoundError:
            missing.append(key)
            continue
        if path.is_file():
            files.append((path, caption))
        else:
            missing.append(str(path))
    if missing:
        raise NotFound(
            f"{len(missing)} stored image file(s) of job {job_id} are missing",
            code="IMAGE_FILE_MISSING",
            files=missing[:10],
        )
    return files


async def blob_keys_in_use(session: AsyncSession, keys: list[str]) -> set[str]:
    """The keys among `keys` that a job not yet finished will train on."""
    if not keys:
        return set()
    rows = await session.scalars(
        select(JobImage.blob_key)
        .join(Job, Job.id == JobImage.job_id)
        .where(JobImage.blob_key.in_(keys), Job.status.not_in(sorted(FINAL_STATUSES)))
        .distinct()
    )
    return set(rows)
