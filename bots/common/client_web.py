"""The RPC calls of the web dashboard's sign-in, as a mixin of `DaemonClient`."""

from bots.common.schemas import Actor
from bots.common.transport import Transport
from daemon.schemas import WebLinkOut


class WebCalls(Transport):
    """Calls for `/web`."""

    async def web_link(self, actor: Actor) -> WebLinkOut:
        """A one-time link that signs the person in to the web dashboard."""
        return await self._send("POST", "/v1/web/link", actor, WebLinkOut, json_body={})
