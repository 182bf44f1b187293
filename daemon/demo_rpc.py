"""The demo's small JSON client of the daemon, and the pictures it uploads (bots have their
own client in `bots/common`)."""

import io
import json
from typing import Any

import aiohttp
from PIL import Image, ImageDraw

from daemon.process import DaemonProcess


class RpcError(RuntimeError):
    """The daemon answered with an unexpected status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)[:500]}")
        self.status = status
        self.body = body


class Rpc:
    """A small JSON client of the daemon (bots have their own in `bots/common`)."""

    def __init__(self, session: aiohttp.ClientSession, daemon: DaemonProcess) -> None:
        self.session = session
        self.daemon = daemon

    def headers(self, user: str | None = None, *, admin: bool = False) -> dict[str, str]:
        """Bearer token (RPC or admin) and the acting user."""
        token = self.daemon.admin_token if admin else self.daemon.rpc_token
        headers = {"Authorization": f"Bearer {token}"}
        if user:
            headers["X-User"] = user
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        admin: bool = False,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Send one request; an unexpected status raises RpcError."""
        async with self.session.request(
            method, self.daemon.url + path, headers=self.headers(user, admin=admin), **kwargs
        ) as response:
            body = await response.json()
            if response.status not in expect:
                raise RpcError(response.status, body)
            return response.status, body


def demo_image(seed: int, size: int = 96) -> bytes:
    """A PNG of a red circle on a coloured ground; each seed differs."""
    image = Image.new("RGB", (size, size), (40 + 20 * seed % 200, 120, 200 - 15 * seed % 150))
    inset = 10 + 3 * seed
    ImageDraw.Draw(image).ellipse((inset, inset, size - inset, size - inset), fill=(220, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
