"""Caption jobs: the job's image snapshot in, captions written into its dataset out."""

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.captioning.results import read_captions
from core.captions import apply_captions
from core.db.models import Job
from core.enums import NotificationKind
from core.job_images import training_files
from core.lifecycle import Attempt
from daemon.queue.kinds import KindHandler, Prepared


class CaptionHandler(KindHandler):
    async def prepare(
        self, session: AsyncSession, blobs: BlobStore, job: Job, inputs_dir: Path
    ) -> Prepared:
        images = await training_files(session, blobs, job.id, inputs_dir)
        return Prepared(
            spec=dict(job.params),
            images=[
                protocol.TrainingFile(path=Path(path).resolve(), caption=caption)
                for path, caption in images
            ],
        )

    async def store(
        self, blobs: BlobStore, attempt: Attempt, result: protocol.Result
    ) -> list[str]:
        # The captions go into the database, not blob storage: reading them is all there is.
        if "captions" not in result.files:
            raise ValueError("the caption worker reported no captions file")
        return await asyncio.to_thread(read_captions, Path(result.files["captions"]))

    async def complete(
        self, session: AsyncSession, job: Job, result: protocol.Result, stored: list[str]
    ) -> None:
        outcome = await apply_captions(session, job, stored)
        await lifecycle.mark_completed(
            session,
            job,
            NotificationKind.captions_ready,
            {
                "dataset_id": job.dataset_id,
                "written": outcome["written"],
                "kept": outcome["kept"],
                "missing": outcome["missing"],
            },
        )
