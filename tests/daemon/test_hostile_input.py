"""Hostile requests over real HTTP, class by class: header bytes that are not UTF-8, requests
aiohttp cannot read, text that is not Unicode. Each answers a clear 4xx and changes nothing.
"""

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from tests.conftest import (
    ADMIN_HEADERS,
    ADMIN_TOKEN,
    RPC_TOKEN,
)
from tests.daemon.hostile import HEADERS, USER, Maker, World, raw_request, send_json, snapshot

# --- 1. header bytes that are not UTF-8

BAD_HEADER_VALUES = [b"\xff\xfe", b"Bearer \xff", b"Bearer \xc3(", b"Bearer \xed\xa0\x80", b"\x80"]


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
@pytest.mark.parametrize("path", ["/v1/me", "/admin/stats", "/v1/notifications?platform=telegram"])
async def test_undecodable_authorization_is_401_without_an_error_log(
    client: TestClient, world: World, sessionmaker: Maker, value: bytes, path: str
) -> None:
    before = await snapshot(sessionmaker)
    head = f"GET {path} HTTP/1.1\r\nHost: t\r\nX-User: {USER}\r\n".encode()
    with capture_logs() as logs:
        status, body = await raw_request(client, head + b"Authorization: " + value + b"\r\n")
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert [e for e in logs if e["log_level"] in {"error", "critical"}] == []
    assert await snapshot(sessionmaker) == before


@pytest.mark.parametrize("value", [b"telegram:\xff", b"telegram:7001\xc3", b"\xfftelegram:1"])
async def test_undecodable_x_user_is_400(
    client: TestClient, world: World, sessionmaker: Maker, value: bytes
) -> None:
    before = await snapshot(sessionmaker)
    head = f"GET /v1/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {RPC_TOKEN}\r\n".encode()
    status, body = await raw_request(client, head + b"X-User: " + value + b"\r\n")
    assert status == 400 and body["error"]["code"] == "INVALID_INPUT"
    assert await snapshot(sessionmaker) == before


async def test_a_right_token_after_odd_bytes_elsewhere_still_works(client: TestClient) -> None:
    head = (
        f"GET /admin/stats HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        "X-Note: ".encode()
        + b"\xff\r\n"
    )
    assert (await raw_request(client, head))[0] == 200


UNREADABLE = {
    "bad chunk size": (b"POST /v1/datasets", b"Transfer-Encoding: chunked\r\n", b"zz\r\n"),
    "gzip that is not gzip": (
        b"POST /v1/datasets",
        b"Content-Encoding: gzip\r\nContent-Length: 9\r\n",
        b"not gzip!",
    ),
    "deflate that is not deflate, on the upload route": (
        b"POST /v1/datasets/1/images",
        b"Content-Encoding: deflate\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        b"Content-Length: 9\r\n",
        b"not zlib!",
    ),
    "byte 0xff in the path": (b"GET /v1/datasets/\xff", b"", b""),
    "Content-Length past 64 bits": (
        b"POST /v1/datasets",
        b"Content-Length: 99999999999999999999999\r\n",
        b"",
    ),
    "a header without a name": (b"GET /v1/me", b": value\r\n", b""),
}


@pytest.mark.parametrize("case", list(UNREADABLE), ids=list(UNREADABLE))
async def test_requests_aiohttp_cannot_read_are_400_and_one_warning(
    client: TestClient,
    world: World,
    sessionmaker: Maker,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    before = await snapshot(sessionmaker)
    start, headers, body = UNREADABLE[case]
    head = (
        start
        + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        + f"Authorization: Bearer {RPC_TOKEN}\r\nX-User: {USER}\r\n".encode()
        + headers
    )
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    with caplog.at_level(logging.DEBUG), capture_logs() as logs:
        writer.write(head + b"\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        await asyncio.sleep(0.05)  # the server logs after it answers
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [e for e in logs if e["log_level"] in {"error", "critical"}] == []
    assert all(r.exc_info is None for r in caplog.records if r.name == "lorabot.http")
    assert await snapshot(sessionmaker) == before


# --- 3. text that is not Unicode

SURROGATES = ['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"', '"ok \\ud83d"']


@pytest.mark.parametrize("text", SURROGATES)
async def test_lone_surrogates_in_any_text_field_are_400(
    client: TestClient, world: World, sessionmaker: Maker, text: str
) -> None:
    before = await snapshot(sessionmaker)
    base = f"/v1/datasets/{world.dataset_id}"
    bodies = [
        ("POST", "/v1/datasets", HEADERS, f'{{"name": {text}}}'),
        ("POST", "/v1/datasets", HEADERS, f'{{"name": "n", "description": {text}}}'),
        ("POST", "/v1/datasets", HEADERS, f'{{"name": "n", "tags": ["a", {text}]}}'),
        ("PATCH", base, HEADERS, f'{{"tags": [{text}]}}'),
        ("PATCH", base, HEADERS, f'{{"name": {text}}}'),
        ("PATCH", f"{base}/images/{world.image_id}", HEADERS, f'{{"caption": {text}}}'),
        ("POST", "/v1/me/link", HEADERS, f'{{"code": {text}}}'),
        (
            "POST",
            "/v1/jobs",
            HEADERS,
            f'{{"dataset_id": {world.dataset_id}, "offering_id": "tiny-lora", '
            f'"idempotency_key": {text}}}',
        ),
        (
            "POST",
            "/v1/jobs",
            HEADERS,
            f'{{"dataset_id": {world.dataset_id}, "offering_id": "tiny-lora", '
            f'"idempotency_key": "k", "reply_to": {{{text}: 1}}}}',
        ),
        (
            "POST",
            f"/admin/accounts/{world.account_id}/grant",
            ADMIN_HEADERS,
            f'{{"amount": 1, "idempotency_key": "g", "reason": {text}}}',
        ),
    ]
    for method, path, headers, body in bodies:
        status, answer = await send_json(client, method, path, headers, body.encode())
        assert status == 400, (path, body, answer)
        assert answer["error"]["code"] == "INVALID_INPUT"
    assert await snapshot(sessionmaker) == before


async def test_bodies_that_are_not_utf8_are_400(
    client: TestClient, world: World, sessionmaker: Maker
) -> None:
    before = await snapshot(sessionmaker)
    for raw in (b'{"name": "\xff"}', b'{"name": "caf\xe9"}', '{"name": "x"}'.encode("utf-16")):
        status, answer = await send_json(client, "POST", "/v1/datasets", HEADERS, raw)
        assert status == 400 and "not valid JSON" in answer["error"]["message"]
    assert await snapshot(sessionmaker) == before


async def test_tags_are_served_back_as_stored(client: TestClient, world: World) -> None:
    tags = ["cats", "😺 emoji", "naïve"]
    response = await client.patch(
        f"/v1/datasets/{world.dataset_id}", json={"tags": tags}, headers=HEADERS
    )
    assert response.status == 200
    served = await client.get(f"/v1/datasets/{world.dataset_id}", headers=HEADERS)
    assert (await served.json())["tags"] == tags
