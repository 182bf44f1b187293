"""Trained models, their files and what their owner changes about them."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field

from core.enums import Licence, Visibility
from daemon.schemas.common import Answer

if TYPE_CHECKING:
    from core.db.models import Model

SAMPLES_ROLE = "samples"


def file_url(model_id: int, name: str) -> str:
    """Where one file of a model is downloaded."""
    return f"/v1/models/{model_id}/files/{name}"


def _sample_urls(model: "Model") -> list[str]:
    """The download URLs of a model's sample images."""
    return [file_url(model.id, f["name"]) for f in model.files if f.get("role") == SAMPLES_ROLE]


class ModelFileOut(Answer):
    name: str
    role: str | None = Field(
        description="lora_diffusers, lora_kohya, loss_curve, samples, summary, checkpoint, ..."
    )
    kind: str = Field(description="lora, image or json")
    size: int
    sha256: str
    url: str
    step: int | None = Field(
        None, description="For a saved checkpoint's file (role `checkpoint`): its step."
    )

    @classmethod
    def of(cls, model_id: int, entry: dict[str, Any]) -> Self:
        """One entry of a model's stored files, with its download URL."""
        return cls(
            name=entry["name"],
            role=entry.get("role"),
            kind=entry["kind"],
            size=entry["size"],
            sha256=entry["sha256"],
            url=file_url(model_id, entry["name"]),
            step=entry.get("step"),
        )


class ModelOut(Answer):
    id: int
    job_id: int
    dataset_id: int | None
    offering_id: str
    base_family: str | None = Field(description="The offering's family; null once it is gone.")
    name: str
    description: str
    tags: list[str]
    trigger_word: str | None
    format: str
    files: list[ModelFileOut]
    samples: list[str] = Field(description="URLs of its sample images.")
    final_loss: float | None
    steps: int | None
    owned: bool = Field(description="Whether the acting account owns it.")
    visibility: Visibility
    licence: Licence | None
    price_per_use: int = Field(description="Points another person pays per use.")
    uses: int = Field(description="Paid uses by others.")
    published_at: datetime | None = Field(description="When it was first published.")
    created_at: datetime

    @classmethod
    def of(cls, model: "Model", *, viewer: int, base_family: str | None) -> Self:
        """A model row as the account `viewer` sees it; each stored file gets its URL."""
        return cls(
            id=model.id,
            job_id=model.job_id,
            dataset_id=model.dataset_id,
            offering_id=model.offering_id,
            base_family=base_family,
            name=model.name,
            description=model.description,
            tags=list(model.tags),
            trigger_word=model.trigger_word,
            format=model.format,
            files=[ModelFileOut.of(model.id, entry) for entry in model.files],
            samples=_sample_urls(model),
            final_loss=model.summary.get("final_loss"),
            steps=model.summary.get("steps"),
            owned=model.account_id == viewer,
            visibility=Visibility(model.visibility),
            licence=model.licence,
            price_per_use=model.price_per_use,
            uses=model.uses,
            published_at=model.published_at,
            created_at=model.created_at,
        )


class ModelsOut(Answer):
    models: list[ModelOut]
