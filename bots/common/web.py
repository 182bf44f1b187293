"""`/web`: the one-time link to the web dashboard, the same screen on both front-ends."""

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.screens import Screen


async def web_link(client: DaemonClient, actor: Actor) -> Screen:
    """A sign-in link to the web dashboard."""
    link = await client.web_link(actor)
    minutes = max(1, link.expires_in_seconds // 60)
    return Screen(texts.WEB_LINK.format(url=link.url, minutes=minutes))
