"""Trained models: register a completed job's files in blob storage and look them up."""

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.blobs import BlobStore
from core.db.models import Dataset, Job, Model
from core.errors import NotFound

# What each trainer output is, in the order a user wants them.
FILE_KINDS = {
    "lora_diffusers": "lora",
    "lora_kohya": "lora",
    "loss_curve": "image",
    "samples": "image",
    "summary": "json",
}
MEDIA_TYPES = {
    ".safetensors": "application/octet-stream",
    ".png": "image/png",
    ".json": "application/json",
}


def blob_prefix(job_id: int, fencing_token: int) -> str:
    """Where one attempt's model files go (a stale attempt never overwrites a newer one)."""
    return f"models/job-{job_id}/attempt-{fencing_token}"


def store_files(
    blobs: BlobStore, prefix: str, files: dict[str, str | Path]
) -> list[dict[str, Any]]:
    """Copy the trainer's output files into blob storage (blocking: run it in a thread)."""
    stored: list[dict[str, Any]] = []
    order = list(FILE_KINDS)
    for role in sorted(files, key=lambda name: order.index(name) if name in order else len(order)):
        source = Path(files[role])
        if not source.is_file():
            raise FileNotFoundError(f"the worker reported {role} at {source}, which is missing")
        key = blobs.put_file(prefix, source.name, source)
        stored.append(
            {
                "name": source.name,
                "role": role,
                "kind": FILE_KINDS.get(role, "file"),
                "size": source.stat().st_size,
                "sha256": _sha256(source),
                "key": key,
            }
        )
    return stored


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def register_model(
    session: AsyncSession,
    job: Job,
    *,
    prefix: str,
    files: list[dict[str, Any]],
    summary: dict[str, Any],
) -> Model:
    """Add the Model row of a completed job (its files are already in blob storage)."""
    dataset = await session.get(Dataset, job.dataset_id)
    trigger = job.params.get("trigger_word") or (dataset.trigger_word if dataset else None)
    name = f"{dataset.name if dataset else 'dataset'} · {job.offering_id} #{job.id}"
    model = Model(
        job_id=job.id,
        account_id=job.account_id,
        dataset_id=job.dataset_id,
        offering_id=job.offering_id,
        name=name[:200],
        trigger_word=trigger or None,
        format="lora-safetensors",
        blob_prefix=prefix,
        files=files,
        summary=summary,
    )
    session.add(model)
    await session.flush()
    return model


async def list_models(session: AsyncSession, account_id: int) -> list[Model]:
    """The account's models, newest first."""
    rows = await session.scalars(
        select(Model).where(Model.account_id == account_id).order_by(Model.id.desc())
    )
    return list(rows)


async def get_model(session: AsyncSession, model_id: int, account_id: int) -> Model:
    """One of the account's models; anyone else's looks missing."""
    model = await session.get(Model, model_id)
    if model is None or model.account_id != account_id:
        raise NotFound(f"model {model_id} not found", model_id=model_id)
    return model


def model_file(blobs: BlobStore, model: Model, name: str) -> tuple[Path, str]:
    """The stored path and media type of one file of a model, by its name."""
    for entry in model.files:
        if entry["name"] == name:
            path = blobs.path(entry["key"])
            if not path.is_file():
                raise NotFound(f"file {name!r} of model {model.id} is no longer stored")
            return path, MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
    raise NotFound(f"model {model.id} has no file {name!r}", model_id=model.id, name=name)
