"""A training's saved checkpoints: stored with the job, listed, downloaded, and kept.

Each checkpoint a training writes (`core.training.saved_steps`: that step's LoRA files and a
sample) is copied into blob storage under its attempt's prefix and listed in
`job.checkpoints` as `{"step", "files", "sample"}`, the files described as a model's are
(name, role, kind, size, sha256, key). "Keep this one" (`keep`) ends the training at one of
them: its files become the job's model and the steps not needed are refunded.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.blobs import BlobStore
from core.db.models import Job, JobMetric, Model
from core.enums import JobKind
from core.errors import Conflict, NotFound
from core.jobs import get_job
from core.models_registry import (
    MEDIA_TYPES,
    blob_prefix,
    model_news,
    register_model,
    store_files,
)

SAMPLE_ROLE = "samples"
CHECKPOINT_ROLE = "checkpoint"  # a checkpoint's kohya file among a completed model's files


def checkpoint_prefix(job_id: int, fencing_token: int, step: int) -> str:
    """Where one attempt's files of one checkpoint go."""
    return f"{blob_prefix(job_id, fencing_token)}/step-{step:06d}"


async def store_checkpoint(
    blobs: BlobStore,
    job_id: int,
    fencing_token: int,
    step: int,
    files: dict[str, str],
    sample: str | None,
) -> list[dict[str, Any]]:
    """Copy a checkpoint's LoRA files and sample into blob storage."""
    roles: dict[str, str | Path] = dict(files)
    if sample is not None:
        roles[SAMPLE_ROLE] = sample
    return await store_files(blobs, checkpoint_prefix(job_id, fencing_token, step), roles)


def record_checkpoint(job: Job, step: int, files: list[dict[str, Any]]) -> dict[str, Any]:
    """List a stored checkpoint on its job; one that a retried attempt reached again
    replaces the earlier entry of its step."""
    sample = next((f["name"] for f in files if f["role"] == SAMPLE_ROLE), None)
    entry = {"step": step, "files": files, "sample": sample}
    others = [c for c in job.checkpoints if c["step"] != step]
    # Assigned, not mutated in place: SQLAlchemy sees a new list and writes the column.
    job.checkpoints = sorted([*others, entry], key=lambda c: int(c["step"]))
    return entry


def find_checkpoint(job: Job, step: int) -> dict[str, Any]:
    """The entry of a saved checkpoint (NotFound, CHECKPOINT_NOT_FOUND, when there is none)."""
    for entry in job.checkpoints:
        if entry["step"] == step:
            return entry
    raise NotFound(
        f"job {job.id} has no saved checkpoint at step {step}",
        code="CHECKPOINT_NOT_FOUND",
        job_id=job.id,
        step=step,
    )


async def checkpoint_file(blobs: BlobStore, job: Job, step: int, name: str) -> tuple[str, str]:
    """The blob key and media type of one file of a checkpoint, by its name."""
    for entry in find_checkpoint(job, step)["files"]:
        if entry["name"] == name:
            if not await blobs.exists(entry["key"]):
                raise NotFound(f"file {name!r} of checkpoint {step} is no longer stored")
            return entry["key"], MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
    raise NotFound(f"checkpoint {step} of job {job.id} has no file {name!r}", step=step, name=name)


def checkpoint_model_files(job: Job) -> list[dict[str, Any]]:
    """The kohya file of each saved checkpoint, as files of the completed job's model."""
    return [
        {**f, "role": CHECKPOINT_ROLE, "step": entry["step"]}
        for entry in job.checkpoints
        for f in entry["files"]
        if f["role"] == "lora_kohya"
    ]


@dataclass
class Kept:
    """What "Keep this one" did."""

    job: Job
    model: Model
    refunded: int


async def keep(
    session: AsyncSession, blobs: BlobStore, job_id: int, account_id: int, step: int
) -> Kept:
    """End the account's training at its saved checkpoint `step`, in this transaction.

    404 for another's job or an unknown step (CHECKPOINT_NOT_FOUND); 409 NOT_A_TRAINING for
    other kinds and JOB_FINISHED once the job is final (so a second keep changes nothing).
    """
    job = await get_job(session, job_id, account_id, lock=True)
    if job.kind != JobKind.train:
        raise Conflict(f"job {job.id} is a {job.kind} job, not a training", code="NOT_A_TRAINING")
    lifecycle.ensure_unfinished(job)
    files = find_checkpoint(job, step)["files"]
    if not all([await blobs.exists(f["key"]) for f in files]):
        raise NotFound(
            f"checkpoint {step} of job {job.id} is no longer stored",
            code="CHECKPOINT_NOT_FOUND",
            job_id=job.id,
            step=step,
        )
    loss = await session.scalar(
        select(JobMetric.loss).where(JobMetric.job_id == job.id, JobMetric.step == step)
    )
    model = await register_model(
        session,
        job,
        prefix=files[0]["key"].rsplit("/", 1)[0],  # where that attempt stored them
        files=list(files),
        summary={"kept_step": step, "steps": step, "final_loss": loss},
    )
    refunded = await lifecycle.keep_checkpoint(session, job, step, model_news(model))
    return Kept(job, model, refunded)
