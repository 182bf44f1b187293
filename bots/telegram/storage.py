"""aiogram's FSM storage kept by the daemon: the state and data of one `StorageKey` are one
versioned conversation record of the person (`X-User: telegram:<user_id>`).

The bot process keeps nothing a restart could lose, and replicas share every conversation. The
version an update's handling read is the version it writes against: the handling of each
update runs in its own task, so each task remembers the records it read. A write based on a
version another replica (or a parallel update) has replaced raises `StaleStateError`; the
errors router answers the person, and the stored conversation stays as the other one left it.
"""

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, RpcError, StaleStateError
from bots.common.schemas import Actor
from daemon.schemas import ConversationOut


@dataclass
class Record:
    """A conversation as one update's handling read and changed it; version 0: none stored."""

    user_id: int
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    changed: bool = False  # set, not written yet

    @classmethod
    def of(cls, user_id: int, stored: ConversationOut | None) -> "Record":
        """The record of a daemon answer (None: no live conversation)."""
        if stored is None:
            return cls(user_id)
        state, data = stored.data.get("state"), stored.data.get("data")
        return cls(
            user_id,
            state if isinstance(state, str) else None,
            data if isinstance(data, dict) else {},
            stored.version,
        )


class DaemonStorage(BaseStorage):
    """An aiogram `BaseStorage` over the daemon's `/v1/conversations/{key}` routes.

    `set_state` and `set_data` change the task's record; `flush` writes it, state and data in
    one version: before the bot's next request to Telegram (`FlushBeforeSending`, so a refused
    write shows no screen of the refused step) and at the end of the update (`FlushStates`).
    """

    def __init__(
        self,
        client: DaemonClient,
        *,
        key_builder: KeyBuilder | None = None,
        ttl_seconds: int | None = None,
    ) -> None:
        self.client = client
        # Every part of the key: two bots (or business connections) on one daemon stay apart.
        self.key_builder = key_builder or DefaultKeyBuilder(
            with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )
        self.ttl_seconds = ttl_seconds  # None: the daemon's default
        self._read: WeakKeyDictionary[asyncio.Task[Any], dict[str, Record]] = WeakKeyDictionary()

    def _records(self) -> dict[str, Record]:
        """The records this task (one update's handling) has read or changed."""
        task = asyncio.current_task()
        return {} if task is None else self._read.setdefault(task, {})

    async def _record(self, key: StorageKey) -> Record:
        name, records = self.key_builder.build(key), self._records()
        if name not in records:
            # aiogram reads the state before routing every update, a payment's pre-checkout
            # too (Telegram waits 10 s for it): one quick attempt, not the client's retries.
            stored = await self.client.conversation(_actor(key.user_id), name, quick=True)
            records[name] = Record.of(key.user_id, stored)
        return records[name]

    async def flush(self) -> None:
        """Write the records this task changed, each against the version it read.

        A refused write drops the change and what was read, so the next read is fresh.
        """
        records = self._records()
        for name, record in list(records.items()):
            if record.changed:
                record.changed = False
                try:
                    await self._write(name, record)
                except StaleStateError:
                    del records[name]
                    raise

    async def attach(self, bot: Bot) -> None:
        """Flush before each request `bot` makes to Telegram: nothing is shown to the person
        before the conversation it belongs to is stored (their next message may come at once)."""
        if not any(isinstance(m, FlushBeforeSending) for m in bot.session.middleware):
            bot.session.middleware(FlushBeforeSending(self))

    async def _write(self, name: str, record: Record) -> None:
        actor = _actor(record.user_id)
        if record.state is None and not record.data:
            # A cleared conversation is ended, not kept as an empty record.
            if record.version:
                await self.client.end_conversation(actor, name, record.version)
            record.version = 0
        else:
            body = {"state": record.state, "data": record.data}
            stored = await self.client.save_conversation(
                actor, name, body, record.version, self.ttl_seconds
            )
            record.version = stored.version

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        record = await self._record(key)
        record.state = state.state if isinstance(state, State) else state
        record.changed = True

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._record(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        record = await self._record(key)
        record.data, record.changed = copy.deepcopy(data), True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._record(key)).data)

    async def close(self) -> None:
        """The daemon client belongs to the bot's `run`, which closes it."""


class FlushStates(BaseMiddleware):
    """Writes what an update's handling changed in the storage once it is done."""

    def __init__(self, storage: DaemonStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            result = await handler(event, data)
        except Exception:
            # What the step stored before it failed stays, as with aiogram's own storages;
            # the failure itself is what the person hears about.
            with contextlib.suppress(RpcError, DaemonUnavailable):
                await self.storage.flush()
            raise
        await self.storage.flush()
        return result


class FlushBeforeSending(BaseRequestMiddleware):
    """A Bot API request made while an update is handled first stores what it changed."""

    def __init__(self, storage: DaemonStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        await self.storage.flush()
        return await make_request(bot, method)


def _actor(user_id: int) -> Actor:
    return Actor(platform="telegram", user_id=str(user_id))
