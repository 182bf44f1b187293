"""`ConversationCalls`: the daemon's conversation state and progress-message routes, mixed into
`DaemonClient`."""

from typing import Any
from urllib.parse import quote

from bots.common.client_languages import LOOKUP_TIMEOUT_SECONDS
from bots.common.errors import NotFoundError
from bots.common.schemas import Actor
from bots.common.transport import Transport, clean
from daemon.schemas import (
    ConversationDeleted,
    ConversationOut,
    ProgressMessageOut,
    ProgressMessagesOut,
    ResumedMessageOut,
)


def _path(key: str) -> str:
    # A key may hold any printable character; it travels as one path segment.
    return f"/v1/conversations/{quote(key, safe='')}"


class ConversationCalls(Transport):
    """A person's stored conversations (versioned: a stale write raises `StaleStateError`),
    and the progress messages a restarted bot resumes."""

    async def conversation(
        self, actor: Actor, key: str, *, quick: bool = False
    ) -> ConversationOut | None:
        """The live conversation under `key`, None when there is none (or it expired).

        `quick`: one attempt within `LOOKUP_TIMEOUT_SECONDS`, for a read that an answer due
        within seconds waits on (a Discord modal must open within 3 s of the press).
        """
        try:
            if not quick:
                return await self._get(_path(key), actor, ConversationOut)
            _, body = await self._call(
                "GET", _path(key), actor, attempts=1, timeout=LOOKUP_TIMEOUT_SECONDS
            )
            return ConversationOut.model_validate(body)
        except NotFoundError:
            return None

    async def save_conversation(
        self,
        actor: Actor,
        key: str,
        data: dict[str, Any],
        version: int,
        ttl_seconds: int | None = None,
    ) -> ConversationOut:
        """Store `data` over `version` (0: a new conversation); answers the new version."""
        body = clean({"data": data, "version": version, "ttl_seconds": ttl_seconds})
        # Not repeated on a dropped connection: a write that did land makes its retry stale.
        return await self._send("PUT", _path(key), actor, ConversationOut, json_body=body)

    async def end_conversation(self, actor: Actor, key: str, version: int) -> bool:
        """Delete the conversation if `version` is the live one; False when none was live."""
        _, body = await self._call(
            "DELETE", _path(key), actor, params={"version": version}, repeatable=False
        )
        return ConversationDeleted.model_validate(body).deleted

    async def record_progress_message(
        self, actor: Actor, job_id: int, platform: str, chat_id: int, message_id: int
    ) -> ProgressMessageOut:
        """Remember the message that shows the job's progress (replacing the last one)."""
        body = {"platform": platform, "chat_id": str(chat_id), "message_id": str(message_id)}
        path = f"/v1/jobs/{job_id}/progress-message"
        return await self._send(
            "PUT", path, actor, ProgressMessageOut, json_body=body, repeatable=True
        )

    async def progress_messages(self, platform: str) -> list[ResumedMessageOut]:
        """The platform's progress messages of jobs not yet final (the bots' own channel)."""
        path = "/v1/progress-messages"
        return (await self._get(path, None, ProgressMessagesOut, platform=platform)).messages
