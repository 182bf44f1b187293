"""The bots' conversation state and the progress messages of running jobs."""

from datetime import datetime
from typing import Any

from pydantic import Field

from core.enums import Platform
from daemon.schemas.common import Answer, Body

# Mirrors of `core.conversations`' bounds (this module imports no SQLAlchemy, see __init__).
MAX_CONVERSATION_VERSION = 2**31 - 1
MAX_TTL_SECONDS = 30 * 24 * 3600
MIN_TTL_SECONDS = 60
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_MESSAGE_REF_CHARS = 64


class ConversationIn(Body):
    data: dict[str, Any] = Field(description="The conversation's state, any JSON object.")
    version: int = Field(
        strict=True,
        ge=0,
        le=MAX_CONVERSATION_VERSION,
        description="The version this write is based on: 0 for a new conversation, else the "
        "version read. Any other answers 409 STALE_STATE with `details.current_version`.",
    )
    ttl_seconds: int = Field(
        DEFAULT_TTL_SECONDS,
        strict=True,
        ge=MIN_TTL_SECONDS,
        le=MAX_TTL_SECONDS,
        description="Seconds until the conversation expires (reads as absent).",
    )


class ConversationDelete(Body):
    version: int = Field(
        ge=0, le=MAX_CONVERSATION_VERSION, description="The version this delete is based on."
    )


class ConversationDeleted(Answer):
    deleted: bool = Field(description="False when there was no live conversation to delete.")


class ConversationOut(Answer):
    key: str
    data: dict[str, Any]
    version: int = Field(description="Name it in the next write.")
    expires_at: datetime


class ProgressMessageIn(Body):
    platform: Platform
    chat_id: str = Field(min_length=1, max_length=MAX_MESSAGE_REF_CHARS)
    message_id: str = Field(min_length=1, max_length=MAX_MESSAGE_REF_CHARS)


class ProgressMessageOut(Answer):
    job_id: int
    platform: Platform
    chat_id: str
    message_id: str


class ProgressMessagesQuery(Body):
    platform: Platform


class ResumedMessageOut(ProgressMessageOut):
    platform_user_id: str = Field(description="The job's owner, to read the job as.")


class ProgressMessagesOut(Answer):
    messages: list[ResumedMessageOut] = Field(description="Of jobs not yet final, oldest first.")
