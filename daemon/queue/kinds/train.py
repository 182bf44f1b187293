"""Trainings: the job's image snapshot in, a registered Model out."""

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.db.models import Job
from core.enums import NotificationKind
from core.job_images import training_files
from core.lifecycle import Attempt
from core.models_registry import blob_prefix, register_model, store_files
from daemon.queue.kinds import KindHandler, Prepared


class TrainHandler(KindHandler):
    async def prepare(self, session: AsyncSession, blobs: BlobStore, job: Job) -> Prepared:
        images = await training_files(session, blobs, job.id)
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

    def store(
        self, blobs: BlobStore, attempt: Attempt, result: protocol.Result
    ) -> tuple[str, list[dict[str, Any]]]:
        prefix = blob_prefix(attempt.job_id, attempt.fencing_token)
        return prefix, store_files(blobs, prefix, result.files)

    async def complete(
        self,
        session: AsyncSession,
        job: Job,
        result: protocol.Result,
        stored: tuple[str, list[dict[str, Any]]],
    ) -> None:
        prefix, files = stored
        summary = result.model_dump(include={"final_loss", "steps", "seconds", "stats"})
        model = await register_model(session, job, prefix=prefix, files=files, summary=summary)
        listed = [{"name": f["name"], "kind": f["kind"], "size": f["size"]} for f in model.files]
        await lifecycle.mark_completed(
            session,
            job,
            NotificationKind.job_completed,
            {"model_id": model.id, "trigger_word": model.trigger_word, "files": listed},
        )
