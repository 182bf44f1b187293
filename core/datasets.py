"""Datasets: create, list, read, change and delete them; what training and preflight read.

Someone else's private dataset is indistinguishable from a missing one (NotFound). Others'
published (unlisted or public) datasets can be read and trained on by id, but only their owner
changes them (Forbidden); only public ones are listed to others.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Select, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Dataset, Image, Job, Model
from core.db.types import utcnow
from core.enums import (
    RUNNING_STATUSES,
    DeleteStatus,
    ItemKind,
    JobStatus,
    Licence,
    Visibility,
)
from core.errors import Conflict, Forbidden, NotFound
from core.naming import (
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_TAGS,
    MAX_TRIGGER_CHARS,
    RULES,
    NamingProblem,
    check_dataset_name,
    check_description,
    check_tags,
    check_trigger_word,
)
from core.publication import publish

# A job in one of these states will read the dataset's images: the dataset must stay.
ACTIVE_JOB_STATUSES = frozenset({JobStatus.queued, *RUNNING_STATUSES})


def _refuse(problem: NamingProblem | None) -> None:
    # The problem's code becomes the field error's `type`: the bots check with the same rule.
    if problem is not None:
        raise PydanticCustomError(problem.value, RULES[problem])


def _check_name(value: str) -> str:
    value = value.strip()
    _refuse(check_dataset_name(value))
    return value


def _check_trigger_word(value: str | None) -> str | None:
    if value is not None:
        _refuse(check_trigger_word(value))
    return value


class DatasetCreate(BaseModel):
    """What `POST /v1/datasets` takes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description=f"1–{MAX_NAME_CHARS} characters, unique per account.")
    trigger_word: str | None = Field(
        None,
        description=f"The word that calls the trained concept: 1–{MAX_TRIGGER_CHARS} of "
        "A-Z a-z 0-9 _ -.",
    )
    description: str = Field("", description=f"At most {MAX_DESCRIPTION_CHARS} characters.")
    tags: list[str] = Field(default_factory=list, description=f"At most {MAX_TAGS} tags.")
    visibility: Visibility = Visibility.private
    licence: Licence | None = Field(None, description="Required to create it unlisted or public.")

    _name = field_validator("name")(_check_name)
    _trigger = field_validator("trigger_word")(_check_trigger_word)
    _description = field_validator("description")(check_description)
    _tags = field_validator("tags")(check_tags)


class DatasetPatch(BaseModel):
    """What `PATCH /v1/datasets/{id}` takes: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    trigger_word: str | None = Field(None, description="null removes the trigger word.")
    description: str | None = None
    tags: list[str] | None = None
    visibility: Visibility | None = Field(
        None, description="unlisted or public needs a licence (given here or stored)."
    )
    licence: Licence | None = None

    @field_validator("name", "description", "tags", "visibility", "licence")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value

    _name = field_validator("name")(_check_name)
    _trigger = field_validator("trigger_word")(_check_trigger_word)
    _description = field_validator("description")(check_description)
    _tags = field_validator("tags")(check_tags)


@dataclass(frozen=True)
class CountedDataset:
    """A dataset row with the number of its images."""

    dataset: Dataset
    image_count: int


@dataclass(frozen=True)
class DatasetStats:
    """What preflight warns about: how many images, how many without caption, the smallest."""

    image_count: int
    uncaptioned: int
    min_side: int
    min_width: int
    min_height: int
    max_side: int
    total_bytes: int


def with_image_count() -> Select[tuple[Dataset, int]]:
    """Datasets, each with the number of its images."""
    count = (
        select(func.count(Image.id))
        .where(Image.dataset_id == Dataset.id)
        .correlate(Dataset)
        .scalar_subquery()
    )
    return select(Dataset, count)


def _visible_to(account_id: int) -> ColumnElement[bool]:
    # Unlisted ones too: whoever knows the id may read and train on a published dataset.
    published = [str(v) for v in Visibility if v.is_published]
    return or_(Dataset.account_id == account_id, Dataset.visibility.in_(published))


def _listed_to(account_id: int) -> ColumnElement[bool]:
    return or_(Dataset.account_id == account_id, Dataset.visibility == Visibility.public)


async def _counted(session: AsyncSession, dataset: Dataset) -> CountedDataset:
    count = await session.scalar(
        select(func.count(Image.id)).where(Image.dataset_id == dataset.id)
    )
    return CountedDataset(dataset, int(count or 0))


async def create_dataset(
    session: AsyncSession, account_id: int, data: DatasetCreate
) -> CountedDataset:
    """Create an empty dataset; a name the account already uses is a Conflict."""
    await _ensure_name_free(session, account_id, data.name)
    dataset = Dataset(
        account_id=account_id,
        name=data.name,
        trigger_word=data.trigger_word,
        description=data.description,
        tags=data.tags,
        visibility=Visibility.private,
    )
    publish(dataset, ItemKind.dataset, visibility=data.visibility, licence=data.licence)
    session.add(dataset)
    await _flush_or_name_conflict(session, data.name)
    return CountedDataset(dataset, 0)


async def list_datasets(
    session: AsyncSession, account_id: int, *, include_public: bool = False
) -> list[CountedDataset]:
    """The account's datasets (and others' public ones when asked; never their unlisted ones),
    oldest first."""
    where = _listed_to(account_id) if include_public else Dataset.account_id == account_id
    rows = await session.execute(with_image_count().where(where).order_by(Dataset.id))
    return [CountedDataset(dataset, int(count)) for dataset, count in rows]


async def get_dataset(session: AsyncSession, dataset_id: int, account_id: int) -> CountedDataset:
    """One dataset the account may see (its own, an unlisted or a public one)."""
    dataset = await get_usable_dataset(session, dataset_id, account_id, lock=False)
    return await _counted(session, dataset)


async def get_usable_dataset(
    session: AsyncSession, dataset_id: int, account_id: int, *, lock: bool = True
) -> Dataset:
    """The dataset if the account may train on it (own, unlisted or public), else NotFound.

    On PostgreSQL the row is share-locked (`lock`) so that a job inserted in the same
    transaction cannot race with the dataset's deletion, which takes the row exclusively.
    """
    query = select(Dataset).where(Dataset.id == dataset_id, _visible_to(account_id))
    if lock:
        query = query.with_for_update(read=True)
    dataset = await session.scalar(query)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found", dataset_id=dataset_id)
    return dataset


async def get_owned_dataset(
    session: AsyncSession, dataset_id: int, account_id: int, *, lock: bool = False
) -> Dataset:
    """The dataset if the account owns it; others' published ones are Forbidden, the rest
    NotFound."""
    query = select(Dataset).where(Dataset.id == dataset_id, _visible_to(account_id))
    if lock:
        query = query.with_for_update()
    dataset = await session.scalar(query)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found", dataset_id=dataset_id)
    if dataset.account_id != account_id:
        raise Forbidden(
            f"dataset {dataset_id} belongs to someone else; only its owner can change it",
            dataset_id=dataset_id,
        )
    return dataset


async def update_dataset(
    session: AsyncSession, dataset_id: int, account_id: int, patch: DatasetPatch
) -> CountedDataset:
    """Change the fields given in the patch (visibility and licence by the publication rule)."""
    dataset = await get_owned_dataset(session, dataset_id, account_id, lock=True)
    changes = patch.model_dump(exclude_unset=True, exclude={"visibility", "licence"})
    if "name" in changes and changes["name"] != dataset.name:
        await _ensure_name_free(session, account_id, changes["name"])
    publishing = bool({"visibility", "licence"} & patch.model_fields_set)
    if publishing:
        publish(dataset, ItemKind.dataset, visibility=patch.visibility, licence=patch.licence)
    for name, value in changes.items():
        setattr(dataset, name, value)
    if changes or publishing:
        dataset.updated_at = utcnow()
        await _flush_or_name_conflict(session, dataset.name)
    return await _counted(session, dataset)


async def delete_dataset(session: AsyncSession, dataset_id: int, account_id: int) -> list[str]:
    """Delete a dataset and its images; returns the blob keys to release after commit.

    Refused (Conflict DATASET_IN_USE) while a queued or running job of the owner uses it.
    Every other job and model keeps its record (others' jobs of a public dataset included);
    their link to the dataset is cleared.
    """
    await get_owned_dataset(session, dataset_id, account_id, lock=True)
    await assert_no_active_jobs(session, dataset_id, account_id)
    keys = list(
        await session.scalars(select(Image.blob_key).where(Image.dataset_id == dataset_id))
    )
    await session.execute(delete(Image).where(Image.dataset_id == dataset_id))
    await session.execute(update(Job).where(Job.dataset_id == dataset_id).values(dataset_id=None))
    await session.execute(
        update(Model).where(Model.dataset_id == dataset_id).values(dataset_id=None)
    )
    await session.execute(delete(Dataset).where(Dataset.id == dataset_id))
    return sorted(set(keys))


@dataclass(frozen=True)
class DeleteOutcome:
    """One dataset's answer in a batch delete; `blob_keys` to release once it is committed."""

    dataset_id: int
    status: DeleteStatus
    message: str
    blob_keys: list[str] = field(default_factory=list)


async def delete_each(
    sessionmaker: async_sessionmaker[AsyncSession], dataset_ids: list[int], account_id: int
) -> list[DeleteOutcome]:
    """Delete each dataset as `delete_dataset` does, each in its own transaction, so one
    refused changes none of the others; another's dataset answers exactly as a missing one."""
    outcomes = []
    for dataset_id in dataset_ids:
        try:
            async with sessionmaker.begin() as session:
                keys = await delete_dataset(session, dataset_id, account_id)
        except (NotFound, Forbidden):
            message = f"dataset {dataset_id} does not exist or is not yours"
            outcomes.append(DeleteOutcome(dataset_id, DeleteStatus.not_found, message))
        except Conflict as exc:
            outcomes.append(DeleteOutcome(dataset_id, DeleteStatus.in_use, exc.message))
        else:
            message = f"dataset {dataset_id} and its images were deleted"
            outcomes.append(DeleteOutcome(dataset_id, DeleteStatus.deleted, message, keys))
    return outcomes


async def dataset_stats(session: AsyncSession, dataset_id: int) -> DatasetStats:
    """Counts and extremes of a dataset's images (zeros for an empty dataset)."""
    # CASE rather than least()/greatest(): SQLite has neither, PostgreSQL has no 2-arg min().
    short = case((Image.width < Image.height, Image.width), else_=Image.height)
    long = case((Image.width < Image.height, Image.height), else_=Image.width)
    row = (
        await session.execute(
            select(
                func.count(Image.id),
                func.count(Image.id).filter(Image.caption == ""),
                func.min(short),
                func.min(Image.width),
                func.min(Image.height),
                func.max(long),
                func.coalesce(func.sum(Image.byte_size), 0),
            ).where(Image.dataset_id == dataset_id)
        )
    ).one()
    return DatasetStats(*(int(v or 0) for v in row))


async def assert_no_active_jobs(session: AsyncSession, dataset_id: int, owner_id: int) -> None:
    """Conflict DATASET_IN_USE while a queued or running job of the owner uses the dataset.

    Only the owner's own jobs count, and only their ids are named: another account's job on a
    public dataset is none of the owner's business and must not block the owner's changes.
    """
    active = list(
        await session.scalars(
            select(Job.id)
            .where(
                Job.dataset_id == dataset_id,
                Job.account_id == owner_id,
                Job.status.in_(list(ACTIVE_JOB_STATUSES)),
            )
            .order_by(Job.id)
        )
    )
    if active:
        raise Conflict(
            f"dataset {dataset_id} is used by your queued or running job(s) {active}; "
            "cancel them or wait until they finish",
            code="DATASET_IN_USE",
            job_ids=active,
        )


async def _ensure_name_free(session: AsyncSession, account_id: int, name: str) -> None:
    taken = await session.scalar(
        select(Dataset.id).where(Dataset.account_id == account_id, Dataset.name == name)
    )
    if taken is not None:
        raise _name_taken(name)


async def _flush_or_name_conflict(session: AsyncSession, name: str) -> None:
    # The unique constraint settles the race between two requests that both saw the name free.
    try:
        await session.flush()
    except IntegrityError:
        raise _name_taken(name) from None


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"you already have a dataset named {name!r}", code="DATASET_NAME_TAKEN", name=name
    )
