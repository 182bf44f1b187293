"""A person's activity feed: its pages, one item, and the read state."""

from datetime import datetime
from typing import Any

from pydantic import Field

from core.enums import ActivityKind
from daemon.schemas.common import MAX_ID, Answer, Body

# As many as `core.activity.feed` answers in one page.
MAX_ACTIVITY_PAGE = 100


class ActivityQuery(Body):
    kind: list[ActivityKind] = Field(
        default_factory=list, description="Only these kinds (repeat the parameter); all: none."
    )
    unread: bool = Field(False, description="Only unread items.")
    before: int | None = Field(
        None, ge=1, le=MAX_ID, description="Page: items older than this id (`next_before`)."
    )
    limit: int = Field(20, ge=1, le=MAX_ACTIVITY_PAGE, description="Items per page.")


class ActivityOut(Answer):
    id: int
    kind: ActivityKind
    title: str = Field(description="One line in English that says what happened.")
    payload: dict[str, Any] = Field(description="The event's facts (ids, points, names).")
    read: bool
    created_at: datetime


class ActivityPage(Answer):
    items: list[ActivityOut] = Field(description="Newest first.")
    unread: int = Field(description="Unread items of every kind, not only this page's.")
    next_before: int | None = Field(description="`before` of the next page; null: the last.")


class ReadAllOut(Answer):
    marked: int = Field(description="Items this call marked read.")
    unread: int


class UnreadOut(Answer):
    unread: int
