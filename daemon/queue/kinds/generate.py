"""Generations: the model's LoRA file in, PNG images (and a strength sheet) out."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.db.models import Job, Model
from core.enums import NotificationKind
from core.errors import NotFound
from core.generation.spec import IMAGE_ROLE_PREFIX, SHEET_ROLE, GenerationSpec, image_role
from core.generations import blob_prefix, lora_key
from core.lifecycle import Attempt
from core.models_registry import store_files
from daemon.queue.kinds import KindHandler, Prepared


@dataclass
class StoredImages:
    """The images an attempt wrote, in blob storage, in order; and its sheet."""

    images: list[dict[str, Any]]
    sheet: dict[str, Any] | None


def warm_key(spec: GenerationSpec) -> str:
    """What a warm worker keeps loaded for this spec: its base model."""
    if spec.base_model_config:
        return f"{spec.base_model}|{spec.base_model_config}"
    return spec.base_model


class GenerateHandler(KindHandler):
    async def prepare(
        self, session: AsyncSession, blobs: BlobStore, job: Job, inputs_dir: Path
    ) -> Prepared:
        spec = GenerationSpec.from_dict(job.params)
        model = await session.get(Model, spec.model_id)
        if model is None:
            raise NotFound(f"model {spec.model_id} no longer exists")
        key = await lora_key(blobs, model)
        lora = await blobs.local_file(key, inputs_dir / key)
        return Prepared(
            spec=job.params,
            inputs={"lora": lora.resolve()},
            warm_key=warm_key(spec),
        )

    async def store(
        self, blobs: BlobStore, attempt: Attempt, result: protocol.Result
    ) -> StoredImages:
        count = sum(role.startswith(IMAGE_ROLE_PREFIX) for role in result.files)
        expected = {image_role(i) for i in range(count)} | ({SHEET_ROLE} & set(result.files))
        if set(result.files) != expected or not count:
            raise ValueError(f"unexpected result files {sorted(result.files)}")
        ordered = {image_role(i): result.files[image_role(i)] for i in range(count)}
        if SHEET_ROLE in result.files:
            ordered[SHEET_ROLE] = result.files[SHEET_ROLE]
        sizes = {
            role: await asyncio.to_thread(_pixel_size, Path(path))
            for role, path in ordered.items()
        }
        prefix = blob_prefix(attempt.job_id, attempt.fencing_token)
        entries = await store_files(blobs, prefix, ordered)
        by_role = {entry["role"]: _with_size(entry, sizes[entry["role"]]) for entry in entries}
        images = [by_role[image_role(i)] for i in range(count)]
        return StoredImages(images, by_role.get(SHEET_ROLE))

    async def complete(
        self, session: AsyncSession, job: Job, result: protocol.Result, stored: StoredImages
    ) -> None:
        spec = GenerationSpec.from_dict(job.params)
        images = [
            {**entry, "seed": seed, "strength": strength}
            for entry, (seed, strength) in zip(stored.images, spec.plan(), strict=True)
        ]
        job.result = {
            "images": images,
            "sheet": stored.sheet,
            "seconds": result.seconds,
            "stats": result.stats,
        }
        await lifecycle.mark_completed(
            session,
            job,
            NotificationKind.generation_ready,
            {
                "generation_id": job.id,
                "model_id": spec.model_id,
                "images": [entry["name"] for entry in images],
                "sheet": None if stored.sheet is None else stored.sheet["name"],
                "seed": spec.seed,
            },
        )


def _pixel_size(path: Path) -> tuple[int, int]:
    """The width and height of an image the worker wrote (ValueError: it is no picture)."""
    if not path.is_file():
        raise FileNotFoundError(f"the worker reported {path}, which is missing")
    try:
        with Image.open(path) as image:
            return image.size
    except OSError as exc:  # PIL's UnidentifiedImageError is an OSError
        raise ValueError(f"{path.name} is not an image: {exc}") from None


def _with_size(entry: dict[str, Any], size: tuple[int, int]) -> dict[str, Any]:
    """A stored image's entry with its pixel size."""
    width, height = size
    return {**entry, "kind": "image", "width": width, "height": height}
