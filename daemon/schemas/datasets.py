"""Datasets, their images and the answer to an upload."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, Field, field_validator

from core.enums import DeleteStatus, Licence, RefusalCode, Visibility
from daemon.schemas.common import BODY_ID, Answer, Body

if TYPE_CHECKING:
    from core.dataset_images import UploadOutcome
    from core.datasets import CountedDataset, DeleteOutcome
    from core.db.models import Image


class DatasetsQuery(BaseModel):
    include_public: bool = Field(
        False, description="Also list others' public datasets (never their unlisted ones)."
    )


class DatasetOut(Answer):
    id: int
    name: str
    trigger_word: str | None
    description: str
    tags: list[str]
    visibility: Visibility
    image_count: int
    owned: bool = Field(description="Whether the acting account owns it.")
    created_at: datetime
    updated_at: datetime
    licence: Licence | None = None
    uses: int = Field(0, description="Paid uses by others (their trainings on it).")
    published_at: datetime | None = Field(None, description="When it was first published.")

    @classmethod
    def of(cls, counted: "CountedDataset", *, viewer: int) -> Self:
        """A dataset with its image count, as the account `viewer` sees it."""
        dataset = counted.dataset
        return cls(
            id=dataset.id,
            name=dataset.name,
            trigger_word=dataset.trigger_word,
            description=dataset.description,
            tags=list(dataset.tags),
            visibility=Visibility(dataset.visibility),
            image_count=counted.image_count,
            owned=dataset.account_id == viewer,
            created_at=dataset.created_at,
            updated_at=dataset.updated_at,
            licence=dataset.licence,
            uses=dataset.uses,
            published_at=dataset.published_at,
        )


class DatasetDetailOut(DatasetOut):
    """One dataset with its storage footprint and what storing it costs."""

    bytes: int = Field(description="Stored bytes of its images.")
    storage_points_per_month: int = Field(
        description="Points a month of storing it costs by the economy file (0: not priced)."
    )


class DatasetList(Answer):
    datasets: list[DatasetOut]


class Deleted(Answer):
    deleted: bool
    blobs_removed: int = Field(description="Stored files no other image used any more.")


MAX_BATCH_DELETE = 100


class BatchDeleteIn(Body):
    ids: list[Annotated[int, BODY_ID]] = Field(
        min_length=1, max_length=MAX_BATCH_DELETE, description="Dataset ids, each once."
    )

    @field_validator("ids")
    @classmethod
    def _distinct(cls, ids: list[int]) -> list[int]:
        if len(set(ids)) != len(ids):
            raise ValueError("each id may appear once")
        return ids


class BatchDeleteResult(Answer):
    id: int
    status: DeleteStatus = Field(description="deleted, in_use or not_found (also another's).")
    message: str

    @classmethod
    def of(cls, outcome: "DeleteOutcome") -> Self:
        """One dataset's answer."""
        return cls(id=outcome.dataset_id, status=outcome.status, message=outcome.message)


class BatchDeleteOut(Answer):
    results: list[BatchDeleteResult] = Field(description="One per id, in the order asked.")
    blobs_removed: int = Field(description="Stored files no other image used any more.")


CONTACT_SHEET_PER_PAGE = 20  # thumbnails on one page of a contact sheet


class ContactSheetQuery(BaseModel):
    page: int = Field(
        1, ge=1, le=10_000, description=f"Images {CONTACT_SHEET_PER_PAGE} a page, from 1."
    )


class ImagePatch(Body):
    caption: str = Field(description="The new caption; empty removes it.")


class UploadForm(BaseModel):
    """multipart/form-data: one or more `image` parts (each with a filename) and an optional
    `captions` part holding a JSON object from file name to caption."""

    image: list[bytes] = Field(description="The picture files (JPEG, PNG or WebP).")
    captions: str | None = Field(None, description='JSON, e.g. {"cat1.jpg": "a cat, sitting"}')


class _ImageAnswer(Answer):
    """An answer made of an image row's fields, whichever of them the subclass declares."""

    @classmethod
    def of(cls, row: "Image") -> Self:
        return cls.model_validate({**_image_fields(row, cls), "filename": row.original_filename})


class ImageOut(_ImageAnswer):
    id: int
    dataset_id: int
    filename: str
    width: int
    height: int
    caption: str
    byte_size: int
    content_hash: str
    created_at: datetime


class ImageList(Answer):
    images: list[ImageOut]


class AddedImage(_ImageAnswer):
    id: int
    filename: str
    width: int
    height: int
    caption: str


def _image_fields(row: "Image", model: type[Answer]) -> dict[str, Any]:
    # The row keeps the name as sent in `original_filename`; the wire calls it `filename`.
    return {name: getattr(row, name) for name in model.model_fields if name != "filename"}


class RefusedImage(Answer):
    filename: str
    code: RefusalCode
    message: str


class UploadResult(Answer):
    """The answer to an upload: every file is either added or refused with its reason."""

    added: list[AddedImage]
    refused: list[RefusedImage]

    @classmethod
    def of(cls, outcome: "UploadOutcome") -> Self:
        return cls(
            added=[AddedImage.of(row) for row in outcome.added],
            refused=[RefusedImage.model_validate(refusal) for refusal in outcome.refused],
        )
