"""Trained models: register a completed job's files in blob storage, look them up, publish.

The owner sees all of their models; anyone may read (and download) a published one by id,
unlisted or public; someone else's private model is indistinguishable from a missing one.
"""

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.blobs import BlobStore
from core.datasets import MAX_DESCRIPTION_CHARS, MAX_TAGS, check_description, check_tags
from core.db.models import Dataset, Job, Model
from core.economy import MarketRules
from core.enums import ItemKind, Licence, Visibility
from core.errors import Forbidden, InvalidInput, NotFound
from core.naming import has_control_chars
from core.offerings import OfferingRegistry
from core.publication import publish

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


async def store_files(
    blobs: BlobStore, prefix: str, files: dict[str, str | Path]
) -> list[dict[str, Any]]:
    """Copy the trainer's output files into blob storage, described as a model's files."""
    stored: list[dict[str, Any]] = []
    order = list(FILE_KINDS)
    for role in sorted(files, key=lambda name: order.index(name) if name in order else len(order)):
        source = Path(files[role])
        if not source.is_file():
            raise FileNotFoundError(f"the worker reported {role} at {source}, which is missing")
        digest = await asyncio.to_thread(_sha256, source)
        key = await blobs.put_file(prefix, source.name, source)
        stored.append(
            {
                "name": source.name,
                "role": role,
                "kind": FILE_KINDS.get(role, "file"),
                "size": source.stat().st_size,
                "sha256": digest,
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


def model_name(dataset_name: str | None, offering_id: str, job_id: int) -> str:
    """The name a trained model starts with (its owner may rename it)."""
    return f"{dataset_name or 'dataset'} · {offering_id} #{job_id}"[:MAX_MODEL_NAME_CHARS]


async def register_model(
    session: AsyncSession,
    job: Job,
    *,
    prefix: str,
    files: list[dict[str, Any]],
    summary: dict[str, Any],
) -> Model:
    """Add the Model row of a completed job (its files are already in blob storage)."""
    # The dataset may be gone (deleted meanwhile: the job keeps its own copy of the images).
    dataset = None if job.dataset_id is None else await session.get(Dataset, job.dataset_id)
    trigger = job.params.get("trigger_word") or (dataset.trigger_word if dataset else None)
    name = model_name(dataset.name if dataset else None, job.offering_id, job.id)
    model = Model(
        job_id=job.id,
        account_id=job.account_id,
        dataset_id=job.dataset_id,
        offering_id=job.offering_id,
        name=name,
        trigger_word=trigger or None,
        format="lora-safetensors",
        blob_prefix=prefix,
        files=files,
        summary=summary,
    )
    session.add(model)
    await session.flush()
    return model


def model_news(model: Model) -> dict[str, Any]:
    """What the notification of a completed training tells of its model."""
    listed = [{"name": f["name"], "kind": f["kind"], "size": f["size"]} for f in model.files]
    return {"model_id": model.id, "trigger_word": model.trigger_word, "files": listed}


MAX_MODEL_NAME_CHARS = 200  # the column's width; generated names fit it too


def _check_model_name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= MAX_MODEL_NAME_CHARS or has_control_chars(value):
        raise ValueError(
            f"a model name has 1 to {MAX_MODEL_NAME_CHARS} characters, none of them control "
            "characters"
        )
    return value


class ModelPatch(BaseModel):
    """What `PATCH /v1/models/{id}` takes: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description=f"1–{MAX_MODEL_NAME_CHARS} characters.")
    description: str | None = Field(None, description=f"At most {MAX_DESCRIPTION_CHARS} chars.")
    tags: list[str] | None = Field(None, description=f"At most {MAX_TAGS} tags.")
    visibility: Visibility | None = Field(
        None, description="unlisted or public needs a licence (given here or stored)."
    )
    licence: Licence | None = None
    price_per_use: int | None = Field(
        None,
        strict=True,
        description="Points another person pays per use, within the operator's bounds.",
    )

    @field_validator("name", "description", "tags", "visibility", "licence", "price_per_use")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value

    _name = field_validator("name")(_check_model_name)
    _description = field_validator("description")(check_description)
    _tags = field_validator("tags")(check_tags)


def _visible_to(account_id: int) -> ColumnElement[bool]:
    published = [str(v) for v in Visibility if v.is_published]
    return or_(Model.account_id == account_id, Model.visibility.in_(published))


async def list_models(session: AsyncSession, account_id: int) -> list[Model]:
    """The account's models, newest first."""
    rows = await session.scalars(
        select(Model).where(Model.account_id == account_id).order_by(Model.id.desc())
    )
    return list(rows)


async def get_model(
    session: AsyncSession, model_id: int, account_id: int, *, lock: bool = False
) -> Model:
    """A model the account may see: its own, or anyone's unlisted or public one."""
    query = select(Model).where(Model.id == model_id, _visible_to(account_id))
    if lock:
        query = query.with_for_update()
    model = await session.scalar(query)
    if model is None:
        raise NotFound(f"model {model_id} not found", model_id=model_id)
    return model


async def update_model(
    session: AsyncSession, model_id: int, account_id: int, patch: ModelPatch, rules: MarketRules
) -> Model:
    """Change the fields given; only the owner may (others' published ones are Forbidden).

    The price must lie within the operator's bounds when it is given and whenever the model
    is published (PRICE_OUT_OF_BOUNDS); publishing needs a licence (LICENCE_REQUIRED).
    """
    model = await get_model(session, model_id, account_id, lock=True)
    if model.account_id != account_id:
        raise Forbidden(
            f"model {model_id} belongs to someone else; only its owner can change it",
            model_id=model_id,
        )
    changes = patch.model_dump(exclude_unset=True, exclude={"visibility", "licence"})
    price = changes.get("price_per_use", model.price_per_use)
    visibility = patch.visibility or Visibility(model.visibility)
    if "price_per_use" in changes or visibility.is_published:
        _check_price(price, rules)
    if {"visibility", "licence"} & patch.model_fields_set:
        publish(model, ItemKind.model, visibility=patch.visibility, licence=patch.licence)
    for field, value in changes.items():
        setattr(model, field, value)
    await session.flush()
    return model


def _check_price(price: int, rules: MarketRules) -> None:
    low, high = rules.min_price_per_use, rules.max_price_per_use
    if not low <= price <= high:
        raise InvalidInput(
            f"a price per use is {low} to {high} points, not {price}",
            code="PRICE_OUT_OF_BOUNDS",
            min_price_per_use=low,
            max_price_per_use=high,
            price_per_use=price,
        )


def base_family(offerings: OfferingRegistry, offering_id: str) -> str | None:
    """The family of the offering a model was trained with; None once the offering is gone."""
    try:
        return offerings.get(offering_id).family
    except NotFound:
        return None


async def model_file(blobs: BlobStore, model: Model, name: str) -> tuple[str, str]:
    """The blob key and media type of one file of a model, by its name."""
    for entry in model.files:
        if entry["name"] == name:
            if not await blobs.exists(entry["key"]):
                raise NotFound(f"file {name!r} of model {model.id} is no longer stored")
            return entry["key"], MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
    raise NotFound(f"model {model.id} has no file {name!r}", model_id=model.id, name=name)
