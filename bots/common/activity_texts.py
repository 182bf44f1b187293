"""What /activity says in the chat (plain text, front-end neutral, like `bots.common.texts`)."""

from bots.common.i18n import _
from daemon.schemas import ActivityOut

HEADER = _("Your activity — {unread} unread (newest first):")
HEADER_ALL_READ = _("Your activity — all read (newest first):")
EMPTY = _("Nothing has happened yet. Your trainings, purchases and earnings will show up here.")
BTN_MARK_ALL_READ = _("Mark all read")
UNREAD = "●"
READ = "○"


def header(unread: int) -> str:
    """The first line: how many items are unread."""
    return HEADER.format(unread=unread) if unread else str(HEADER_ALL_READ)


def line(item: ActivityOut) -> str:
    """One item: its read marker, when it happened (UTC) and what happened."""
    marker = READ if item.read else UNREAD
    return f"{marker} {item.created_at:%Y-%m-%d %H:%M} · {item.title}"
