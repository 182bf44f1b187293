"""/activity, front-end neutral: the newest events with read markers, and Mark all read."""

from bots.common import activity_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen
from daemon.schemas import ActivityPage

SHOWN = 10


async def feed(client: DaemonClient, actor: Actor) -> Screen:
    """The newest items, the unread count in the header, Mark all read while any is unread."""
    return _screen(await client.activity(actor, limit=SHOWN))


async def mark_all_read(client: DaemonClient, actor: Actor) -> Screen:
    """Mark everything read, then the feed as it reads now."""
    await client.mark_all_activity_read(actor)
    return await feed(client, actor)


def _screen(page: ActivityPage) -> Screen:
    if not page.items:
        return Screen(activity_texts.EMPTY)
    lines = [activity_texts.header(page.unread), *map(activity_texts.line, page.items)]
    button = Button(activity_texts.BTN_MARK_ALL_READ, Action.mark_all_read)
    return Screen("\n".join(map(str, lines)), [[button]] if page.unread else [])
