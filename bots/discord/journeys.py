"""Each person's training journey on Discord: its state, its channel and its lock."""

import asyncio

import discord

from bots.common.client import DaemonClient
from bots.common.screens import StaleAction
from bots.common.train import TrainFlow, TrainState
from bots.discord.render import actor


class Journeys:
    """The journeys under way, keyed by user id (held in the bot process)."""

    def __init__(self) -> None:
        self.states: dict[int, TrainState] = {}
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

    def lock(self, user_id: int) -> asyncio.Lock:
        """One step at a time per person (a double click must not race the state)."""
        return self._locks.setdefault(user_id, asyncio.Lock())
