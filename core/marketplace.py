"""The marketplace: pages of public datasets and models, searched by name and tag.

Only `public` items are browsable; unlisted ones are reachable by id alone, private ones by
their owner alone. Names and tags compare case-insensitively: on SQLite, whose `lower()`
folds ASCII only, through Python's `str.lower` registered on the connection, so both
databases fold the same letters (PostgreSQL's `lower()` follows its ctype locale).
"""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, String, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.functions import Function

from core.datasets import CountedDataset, with_image_count
from core.db.models import Dataset, Model
from core.enums import BrowseSort, Visibility

Item = type[Dataset] | type[Model]
T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])
SQLITE_LOWER = "lorabot_lower"


@dataclass(frozen=True)
class Browse:
    """What a page asks for: a name contains `q`, one tag is `tag` (both case-insensitive)."""

    q: str | None = None
    tag: str | None = None
    sort: BrowseSort = BrowseSort.newest
    page: int = 1
    per_page: int = 10

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and how many match in all."""

    items: list[T]
    total: int


async def browse_datasets(session: AsyncSession, browse: Browse) -> Page[CountedDataset]:
    """A page of public datasets with their image counts."""
    where = await _matching(session, Dataset, browse)
    total = await session.scalar(select(func.count(Dataset.id)).where(*where))
    rows = await session.execute(_paged(with_image_count().where(*where), Dataset, browse))
    return Page([CountedDataset(dataset, int(count)) for dataset, count in rows], int(total or 0))


async def browse_models(session: AsyncSession, browse: Browse) -> Page[Model]:
    """A page of public models."""
    where = await _matching(session, Model, browse)
    total = await session.scalar(select(func.count(Model.id)).where(*where))
    rows = await session.scalars(_paged(select(Model).where(*where), Model, browse))
    return Page(list(rows), int(total or 0))


def _paged(query: S, item: Item, browse: Browse) -> S:
    first = item.published_at if browse.sort is BrowseSort.newest else item.uses
    # The id breaks ties, so a page boundary never moves an item between two pages.
    return (
        query.order_by(first.desc(), item.id.desc()).offset(browse.offset).limit(browse.per_page)
    )


async def _matching(
    session: AsyncSession, item: Item, browse: Browse
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [item.visibility == str(Visibility.public)]
    if not browse.q and not browse.tag:
        return where
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        connection = await session.connection()
        await connection.run_sync(_register_lower)

    def lower(value: Any) -> Function[str]:
        return getattr(func, SQLITE_LOWER if sqlite else "lower")(value, type_=String)

    if browse.q:
        where.append(lower(item.name).contains(browse.q.lower(), autoescape=True))
    if browse.tag:
        # Tags are a JSON list: one row per element, the same shape on both databases.
        elements = (func.json_each if sqlite else func.json_array_elements_text)(item.tags)
        tag = elements.table_valued("value").alias("tag")
        where.append(
            exists(select(1).select_from(tag).where(lower(tag.c.value) == browse.tag.lower()))
        )
    return where


def _register_lower(connection: Connection) -> None:
    # Once per SQLite connection: `info` lives as long as the DBAPI connection does.
    record = connection.connection
    if not record.info.get(SQLITE_LOWER):
        record.dbapi_connection.create_function(  # type: ignore[union-attr]
            SQLITE_LOWER, 1, _lower, deterministic=True
        )
        record.info[SQLITE_LOWER] = True


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
