"""Shared by the hostile-request suites: raw HTTP/1.1 on a socket, for what aiohttp's client
refuses to send (header bytes that are not UTF-8, broken multipart framing)."""

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient


async def raw_request(client: TestClient, head: bytes, body: bytes = b"") -> tuple[int, Any]:
    """Send `head` (request line and headers, without the blank line) and `body`; the status
    and the decoded JSON body of the answer (None when it is not JSON)."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
        writer.write(head.rstrip(b"\r\n") + b"\r\n" + length + b"Connection: close\r\n\r\n")
        writer.write(body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        decoded = json.loads(payload)
    except ValueError:
        decoded = None
    return int(status_line.split()[1]), decoded
