"""Each person's conversations on Discord: the training journey (with its channel), the
generate conversation, and one lock for both."""

import asyncio
from typing import Protocol

import discord

from bots.common.client import DaemonClient
from bots.common.generate import GenerateFlow, GenerateState
from bots.common.screens import Screen, StaleAction
from bots.common.train import TrainFlow, TrainState
from bots.discord.render import actor


class Answerable(Protocol):
    """A conversation waiting for a typed answer (asked in a modal on Discord)."""

    def prompt(self) -> Screen: ...

    async def text(self, value: str) -> Screen: ...


class Journeys:
    """The conversations under way, keyed by user id (held in the bot process)."""

    def __init__(self) -> None:
        self.states: dict[int, TrainState] = {}
        self.generating: dict[int, GenerateState] = {}
        # Where each person's journey runs: images posted there are collected.
        self.channels: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def keep(self, user_id: int, state: TrainState, channel_id: int | None) -> None:
        """Remember the person's journey (a new one replaces the old) and where it runs."""
        self.states[user_id] = state
        if channel_id is not None:
            self.channels[user_id] = channel_id

    def flow(
        self, client: DaemonClient, user: discord.abc.User, token: str | None = None
    ) -> TrainFlow:
        """The person's current journey; none, or another than `token`, is stale."""
        state = self.states.get(user.id)
        if state is None or (token is not None and state.token != token):
            raise StaleAction(token or "no conversation")
        return TrainFlow(client, actor(user), state)

    def answerable(self, client: DaemonClient, user: discord.abc.User, token: str) -> Answerable:
        """The conversation of `token` (the journey or the generate conversation)."""
        train = self.states.get(user.id)
        if train is not None and train.token == token:
            return TrainFlow(client, actor(user), train)
        generating = self.generating.get(user.id)
        if generating is not None and generating.token == token:
            return GenerateFlow(client, actor(user), generating)
        raise StaleAction(token)

    def lock(self, user_id: int) -> asyncio.Lock:
        """One step at a time per person (a double click must not race the state)."""
        return self._locks.setdefault(user_id, asyncio.Lock())
