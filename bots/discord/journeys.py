"""Each person's conversations on Discord: the training journey (with its channel) and the
generate conversation, kept by the daemon as one versioned record per person.

The bot process holds none of it, so a restart or another replica continues where the person
left off. A step reads the record, moves the conversation and writes it back against the
version it read: a replica that moved it on meanwhile makes the write fail with
`StaleStateError`, which the person hears as `texts.STATE_MOVED_ON`. A per-process lock still
keeps one person's double click from racing itself.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import discord
from pydantic import BaseModel

from bots.common.client import DaemonClient
from bots.common.generate import GenerateFlow, GenerateState
from bots.common.screens import Screen, StaleAction
from bots.common.train import TrainFlow, TrainState
from bots.discord.render import actor

# The daemon's key of the record, under the person's identity (`X-User: discord:<id>`).
KEY = "discord:journeys"


class Answerable(Protocol):
    """A conversation waiting for a typed answer (asked in a modal on Discord)."""

    def prompt(self) -> Screen: ...

    async def text(self, value: str) -> Screen: ...


class Conversations(BaseModel):
    """What is stored for a person: their journey, where it runs, their generate conversation."""

    train: TrainState | None = None
    # Where the journey runs: images posted there are collected.
    channel_id: int | None = None
    generating: GenerateState | None = None


@dataclass
class Talk:
    """A person's conversations as read from the daemon, and the version read."""

    user: discord.abc.User
    held: Conversations = field(default_factory=Conversations)
    version: int = 0
    as_read: str = ""  # the record's JSON when read: unchanged conversations are not written

    def keep(self, state: TrainState, channel_id: int | None) -> None:
        """Take on a journey (a new one replaces the old) and where it runs."""
        self.held.train = state
        if channel_id is not None:
            self.held.channel_id = channel_id

    def flow(self, client: DaemonClient, token: str | None = None) -> TrainFlow:
        """The person's current journey; none, or another than `token`, is stale."""
        state = self.held.train
        if state is None or (token is not None and state.token != token):
            raise StaleAction(token or "no conversation")
        return TrainFlow(client, actor(self.user), state)

    def answerable(self, client: DaemonClient, token: str) -> Answerable:
        """The conversation of `token` (the journey or the generate conversation)."""
        train, generating = self.held.train, self.held.generating
        if train is not None and train.token == token:
            return TrainFlow(client, actor(self.user), train)
        if generating is not None and generating.token == token:
            return GenerateFlow(client, actor(self.user), generating)
        raise StaleAction(token)


class Journeys:
    """Reads and writes the people's conversations through the daemon."""

    def __init__(self, client: DaemonClient) -> None:
        self.client = client
        self._locks: dict[int, asyncio.Lock] = {}

    async def load(self, user: discord.abc.User, *, quick: bool = False) -> Talk:
        """The person's conversations as stored now (none yet: empty, version 0); `quick`:
        one short attempt (see `ConversationCalls.conversation`)."""
        stored = await self.client.conversation(actor(user), KEY, quick=quick)
        if stored is None:
            return Talk(user, as_read=Conversations().model_dump_json())
        held = Conversations.model_validate(stored.data)
        return Talk(user, held, stored.version, held.model_dump_json())

    async def save(self, talk: Talk) -> None:
        """Write the conversations back against the version read, when they changed."""
        data = talk.held.model_dump_json()
        if data == talk.as_read:
            return
        stored = await self.client.save_conversation(
            actor(talk.user), KEY, talk.held.model_dump(mode="json"), talk.version
        )
        talk.version, talk.as_read = stored.version, data

    def lock(self, user_id: int) -> asyncio.Lock:
        """One step at a time per person in this process (a double click must not race)."""
        return self._locks.setdefault(user_id, asyncio.Lock())
