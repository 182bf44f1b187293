"""The bots' conversation state: one versioned, expiring record per identity and key.

A write names the version it is based on (0: a new conversation); a write based on anything
but the live version is refused, so two bot replicas cannot overwrite each other. Each write
is one guarded statement (`UPDATE … WHERE version = :v`, or an insert that does nothing on a
conflict), so of two concurrent writes on the same version exactly one wins, on SQLite and
PostgreSQL alike. An expired record reads as absent and is pruned by the daemon's upkeep.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import ConversationState
from core.db.types import utcnow
from core.errors import Conflict, InvalidInput, TooLarge

MAX_KEY_CHARS = 200  # the column's width
# A conversation is a handful of ids and choices; far less than this.
MAX_DATA_BYTES = 64 * 1024
MIN_TTL_SECONDS = 60
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_TTL_SECONDS = 30 * 24 * 3600


class StaleState(Conflict):
    """The write is based on a version that is no longer the live one (409 STALE_STATE)."""


@dataclass(frozen=True)
class Conversation:
    """One stored conversation, as read or just written."""

    key: str
    data: dict[str, Any]
    version: int
    expires_at: datetime


def check_key(key: str) -> str:
    """The key, or InvalidInput when it is empty, too long or not printable."""
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidInput(
            f"a conversation key is 1-{MAX_KEY_CHARS} printable characters", key=key[:40]
        )
    return key


def check_data(data: dict[str, Any]) -> dict[str, Any]:
    """The data, or TooLarge when its JSON is over `MAX_DATA_BYTES`."""
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise TooLarge(
            f"the conversation's data is {size} bytes; at most {MAX_DATA_BYTES} are kept",
            size=size,
            limit=MAX_DATA_BYTES,
        )
    return data


def _row(identity_id: int, key: str) -> ColumnElement[bool]:
    return and_(ConversationState.identity_id == identity_id, ConversationState.key == key)


def _of(row: ConversationState) -> Conversation:
    return Conversation(row.key, row.data, row.version, row.expires_at)


async def read(session: AsyncSession, identity_id: int, key: str) -> Conversation | None:
    """The live conversation of an identity under `key`; an expired one is absent."""
    row = await session.scalar(
        select(ConversationState)
        .where(_row(identity_id, check_key(key)), ConversationState.expires_at > utcnow())
        .execution_options(populate_existing=True)
    )
    return None if row is None else _of(row)


async def _live_version(session: AsyncSession, identity_id: int, key: str) -> int:
    found = await read(session, identity_id, key)
    return 0 if found is None else found.version


async def _stale(session: AsyncSession, identity_id: int, key: str, based_on: int) -> StaleState:
    current = await _live_version(session, identity_id, key)
    return StaleState(
        f"conversation {key!r} is at version {current}, not {based_on}: read it again",
        current_version=current,
    )


async def write(
    session: AsyncSession,
    identity_id: int,
    key: str,
    data: dict[str, Any],
    *,
    version: int,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> Conversation:
    """Store `data` as the next version after `version` (0: a new conversation)."""
    check_key(key)
    check_data(data)
    if version < 0:
        raise InvalidInput("version is 0 for a new conversation, else the version read")
    if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput(
            f"ttl_seconds must be {MIN_TTL_SECONDS}-{MAX_TTL_SECONDS}", ttl_seconds=ttl_seconds
        )
    now = utcnow()
    values = {"data": data, "expires_at": now + timedelta(seconds=ttl_seconds), "updated_at": now}
    live = ConversationState.expires_at > now
    # A new conversation may take the place of an expired row (not pruned yet); its version
    # goes on from the old one, so a replica still holding that version is refused.
    guard = ~live if version == 0 else and_(live, ConversationState.version == version)
    written = await session.scalar(
        update(ConversationState)
        .where(_row(identity_id, key), guard)
        .values(version=ConversationState.version + 1, **values)
        .returning(ConversationState.version)
    )
    if written is None and version == 0:
        written = await _insert_new(session, identity_id, key, values)
    if written is None:
        raise await _stale(session, identity_id, key, version)
    return Conversation(key, data, int(written), values["expires_at"])


async def _insert_new(
    session: AsyncSession, identity_id: int, key: str, values: dict[str, Any]
) -> int | None:
    """Insert version 1; None when a row exists (a concurrent first write won)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ConversationState)
        .values(identity_id=identity_id, key=key, version=1, **values)
        .on_conflict_do_nothing(index_elements=["identity_id", "key"])
        .returning(ConversationState.version)
    )
    return await session.scalar(statement)


async def remove(session: AsyncSession, identity_id: int, key: str, *, version: int) -> bool:
    """End a conversation if `version` is the live one; False when none was live (based on
    version 0, an absent conversation is simply already ended)."""
    check_key(key)
    if version == 0 and await read(session, identity_id, key) is None:
        return False
    deleted = await session.execute(
        delete(ConversationState).where(
            _row(identity_id, key),
            ConversationState.version == version,
            ConversationState.expires_at > utcnow(),
        )
    )
    if not deleted.rowcount:  # type: ignore[attr-defined]
        raise await _stale(session, identity_id, key, version)
    return True


async def purge_expired(session: AsyncSession) -> int:
    """Delete expired conversations; how many went."""
    result = await session.execute(
        delete(ConversationState).where(ConversationState.expires_at <= utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
