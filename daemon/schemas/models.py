"""Trained models and their files."""

from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import Field

from daemon.schemas.common import Answer

if TYPE_CHECKING:
    from core.db.models import Model


class ModelFileOut(Answer):
    name: str
    role: str | None = Field(description="lora_diffusers, lora_kohya, loss_curve, samples, ...")
    kind: str = Field(description="lora, image or json")
    size: int
    sha256: str
    url: str


class ModelOut(Answer):
    id: int
    job_id: int
    dataset_id: int | None
    offering_id: str
    name: str
    trigger_word: str | None
    format: str
    files: list[ModelFileOut]
    final_loss: float | None
    steps: int | None
    created_at: datetime

    @classmethod
    def of(cls, model: "Model") -> Self:
        """A model row; each stored file gets its download URL."""
        files = [
            ModelFileOut(
                name=f["name"],
                role=f.get("role"),
                kind=f["kind"],
                size=f["size"],
                sha256=f["sha256"],
                url=f"/v1/models/{model.id}/files/{f['name']}",
            )
            for f in model.files
        ]
        return cls(
            id=model.id,
            job_id=model.job_id,
            dataset_id=model.dataset_id,
            offering_id=model.offering_id,
            name=model.name,
            trigger_word=model.trigger_word,
            format=model.format,
            files=files,
            final_loss=model.summary.get("final_loss"),
            steps=model.summary.get("steps"),
            created_at=model.created_at,
        )


class ModelsOut(Answer):
    models: list[ModelOut]
