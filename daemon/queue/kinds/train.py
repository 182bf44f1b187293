"""Trainings: the job's image snapshot in, samples at each checkpoint, a registered Model out."""

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import checkpoints, lifecycle
from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.db.models import Job
from core.enums import NotificationKind
from core.job_images import training_files
from core.lifecycle import Attempt
from core.models_registry import blob_prefix, model_news, register_model, store_files
from core.notifications import notify_job
from daemon.queue.kinds import KindHandler, Prepared


class TrainHandler(KindHandler):
    async def prepare(
        self, session: AsyncSession, blobs: BlobStore, job: Job, inputs_dir: Path
    ) -> Prepared:
        images = await training_files(session, blobs, job.id, inputs_dir)
        spec = dict(job.params)
        if not spec.get("checkpoint_interval"):
            # Resumable after a crash: a checkpoint every tenth of the run at least.
            spec["checkpoint_interval"] = max(int(spec.get("steps", 10)) // 10, 1)
        return Prepared(
            spec=spec,
            images=[
                protocol.TrainingFile(path=Path(path).resolve(), caption=caption)
                for path, caption in images
            ],
        )

    async def store(
        self, blobs: BlobStore, attempt: Attempt, result: protocol.Result
    ) -> tuple[str, list[dict[str, Any]]]:
        prefix = blob_prefix(attempt.job_id, attempt.fencing_token)
        return prefix, await store_files(blobs, prefix, result.files)

    async def complete(
        self,
        session: AsyncSession,
        job: Job,
        result: protocol.Result,
        stored: tuple[str, list[dict[str, Any]]],
    ) -> None:
        prefix, files = stored
        summary = result.model_dump(include={"final_loss", "steps", "seconds", "stats"})
        # Each saved checkpoint's kohya file is the model's too: any of them downloads.
        files = [*files, *checkpoints.checkpoint_model_files(job)]
        model = await register_model(session, job, prefix=prefix, files=files, summary=summary)
        await lifecycle.mark_completed(
            session, job, NotificationKind.job_completed, model_news(model)
        )

    async def store_checkpoint(
        self, blobs: BlobStore, attempt: Attempt, checkpoint: protocol.Checkpoint
    ) -> list[dict[str, Any]]:
        return await checkpoints.store_checkpoint(
            blobs,
            attempt.job_id,
            attempt.fencing_token,
            checkpoint.step,
            checkpoint.files,
            checkpoint.sample,
        )

    async def record_checkpoint(
        self,
        session: AsyncSession,
        job: Job,
        checkpoint: protocol.Checkpoint,
        stored: list[dict[str, Any]],
    ) -> None:
        entry = checkpoints.record_checkpoint(job, checkpoint.step, stored)
        await notify_job(
            session,
            job,
            NotificationKind.job_sample,
            {"step": checkpoint.step, "total_steps": job.total_steps, "sample": entry["sample"]},
            dedupe_detail=str(checkpoint.step),
        )
