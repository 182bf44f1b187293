"""Hostile requests over real HTTP, class by class: undecodable headers, JSON beyond the
decoder's limits, text that is not Unicode, loose numbers where money and ids are strict,
overrides past every bound, ack ids past BIGINT. Each answers a clear 4xx and changes nothing.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from core.db.models import Account, Dataset, Image, Job, LedgerEntry, Notification
from tests.conftest import (
    ADMIN_HEADERS,
    ADMIN_TOKEN,
    RPC_HEADERS,
    RPC_TOKEN,
    make_account,
    make_dataset,
    user_headers,
)
from tests.daemon.hostile import raw_request

Maker = async_sessionmaker[AsyncSession]
USER = "telegram:7001"
HEADERS = user_headers(USER)


async def snapshot(maker: Maker) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    async with maker() as session:
        balances = (await session.execute(select(Account.id, Account.balance))).all()
        datasets = await session.execute(
            select(Dataset.id, Dataset.name, Dataset.description, Dataset.tags)
        )
        images = await session.execute(select(Image.id, Image.caption))
        return {
            "balances": sorted(balances),
            "ledger": await session.scalar(select(func.count()).select_from(LedgerEntry)),
            "datasets": sorted((i, n, d, json.dumps(t)) for i, n, d, t in datasets),
            "images": sorted(images.all()),
            "jobs": await session.scalar(select(func.count()).select_from(Job)),
            "acked": sorted(
                await session.scalars(
                    select(Notification.id).where(Notification.acked_at.is_not(None))
                )
            ),
        }


class World:
    """One account with points, a dataset of 8 captioned images, and one notification."""

    def __init__(self, account_id: int, dataset_id: int, image_id: int) -> None:
        self.account_id, self.dataset_id, self.image_id = account_id, dataset_id, image_id

    def routes(self) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
        """(method, path, headers, a valid body) of every route that takes a JSON body."""
        job = {"dataset_id": self.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
        return [
            ("POST", "/v1/datasets", HEADERS, {"name": "fresh"}),
            ("PATCH", f"/v1/datasets/{self.dataset_id}", HEADERS, {"description": "d"}),
            (
                "PATCH",
                f"/v1/datasets/{self.dataset_id}/images/{self.image_id}",
                HEADERS,
                {"caption": "c"},
            ),
            ("POST", "/v1/estimate", HEADERS, job),
            ("POST", "/v1/jobs", HEADERS, {**job, "idempotency_key": "k"}),
            ("POST", "/v1/me/link", HEADERS, {"code": "ABCDEFGH"}),
            ("POST", "/v1/notifications/ack", RPC_HEADERS, {"ids": [1]}),
            (
                "POST",
                f"/admin/accounts/{self.account_id}/grant",
                ADMIN_HEADERS,
                {"amount": 5, "reason": "r", "idempotency_key": "g"},
            ),
        ]


@pytest.fixture
async def world(client: TestClient, sessionmaker: Maker) -> World:
    async with sessionmaker.begin() as session:
        account = await make_account(session, platform_user_id="7001", balance=1000)
        dataset = await make_dataset(session, account.id, images=8)
        image_id = await session.scalar(select(Image.id).where(Image.dataset_id == dataset.id))
        session.add(
            Notification(
                account_id=account.id,
                platform="telegram",
                platform_user_id="7001",
                kind="job_completed",
                payload={},
                dedupe_key="hostile-test",
            )
        )
    assert image_id is not None
    return World(account.id, dataset.id, image_id)


async def _send(
    client: TestClient, method: str, path: str, headers: dict[str, str], raw: bytes
) -> tuple[int, dict[str, Any]]:
    content = {"Content-Type": "application/json"}
    response = await client.request(method, path, data=raw, headers={**headers, **content})
    return response.status, await response.json()


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
        status, answer = await _send(client, method, path, headers, body.encode())
        assert status == 400, (path, body, answer)
        assert answer["error"]["code"] == "INVALID_INPUT"
    assert await snapshot(sessionmaker) == before


async def test_bodies_that_are_not_utf8_are_400(
    client: TestClient, world: World, sessionmaker: Maker
) -> None:
    before = await snapshot(sessionmaker)
    for raw in (b'{"name": "\xff"}', b'{"name": "caf\xe9"}', '{"name": "x"}'.encode("utf-16")):
        status, answer = await _send(client, "POST", "/v1/datasets", HEADERS, raw)
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


# --- 4. JSON beyond the decoder's limits, on every JSON route

DEEP = {
    "nested 33 deep in a field": lambda body: {**body, "x": json.loads("[" * 33 + "]" * 33)},
    "nested 100000 deep": lambda body: "[" * 100_000 + "]" * 100_000,
    "objects nested 5000 deep": lambda body: '{"a":' * 5000 + "1" + "}" * 5000,
    "integer of 5000 digits": lambda body: {**body, "x": "9" * 5000},
    "integer of 40 digits": lambda body: {**body, "x": "9" * 40},
    "negative integer of 5000 digits": lambda body: {**body, "x": "-" + "9" * 5000},
    "float that overflows": lambda body: {**body, "x": "1e400"},
    "NaN": lambda body: {**body, "x": "NaN"},
    "Infinity": lambda body: {**body, "x": "-Infinity"},
}


def _render(case: Callable[[dict[str, Any]], Any], body: dict[str, Any]) -> bytes:
    shaped = case(body)
    if isinstance(shaped, str):
        return shaped.encode()
    # The hostile value is spliced in raw, as a number token, not as a JSON string.
    text = json.dumps({k: v for k, v in shaped.items() if k != "x"})
    x = shaped["x"]
    raw_x = x if isinstance(x, str) else json.dumps(x)
    return (text[:-1] + (", " if len(shaped) > 1 else "") + f'"x": {raw_x}}}').encode()


@pytest.mark.parametrize("case", list(DEEP), ids=list(DEEP))
async def test_json_past_the_decoders_limits_is_400_on_every_route(
    client: TestClient, world: World, sessionmaker: Maker, case: str
) -> None:
    before = await snapshot(sessionmaker)
    for method, path, headers, body in world.routes():
        status, answer = await _send(client, method, path, headers, _render(DEEP[case], body))
        assert status == 400, (path, answer)
        assert answer["error"]["code"] == "INVALID_INPUT"
        # Refused by the decoder itself, before any model sees the data.
        assert answer["error"]["message"].startswith("the body is "), answer
    assert await snapshot(sessionmaker) == before


@pytest.mark.parametrize("field", ["dataset_id", "amount", "ids"])
async def test_huge_integers_in_real_fields_are_400(
    client: TestClient, world: World, sessionmaker: Maker, field: str
) -> None:
    before = await snapshot(sessionmaker)
    for digits in ("9" * 20, "9" * 4300, "9" * 10_000):
        number = f"[{digits}]" if field == "ids" else digits
        for method, path, headers, body in world.routes():
            if field not in body:
                continue
            text = json.dumps({**body, field: 0}).replace(f'"{field}": 0', f'"{field}": {number}')
            status, answer = await _send(client, method, path, headers, text.encode())
            assert status == 400, (path, digits[:5], answer)
    assert await snapshot(sessionmaker) == before


# --- 5. overrides past every bound

HUGE_OVERRIDES = [
    {"steps": 10**18},
    {"steps": 2**63},
    {"resolution": 10**15},
    {"batch_size": 10**12},
    {"rank": 10**9},
    {"alpha": 1e300},
    {"learning_rate": 1e300},
    {"steps": 10**6 + 1},
]


@pytest.mark.parametrize("overrides", HUGE_OVERRIDES)
async def test_overrides_past_the_hard_caps_are_400(
    client: TestClient, world: World, sessionmaker: Maker, overrides: dict[str, Any]
) -> None:
    before = await snapshot(sessionmaker)
    job = {"dataset_id": world.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    for path, extra in (("/v1/estimate", {}), ("/v1/jobs", {"idempotency_key": "big"})):
        response = await client.post(
            path, json={**job, **extra, "overrides": overrides}, headers=HEADERS
        )
        answer = await response.json()
        assert response.status == 400, answer
        assert answer["error"]["details"]["fields"][0]["loc"][:1] == ["overrides"]
    assert await snapshot(sessionmaker) == before


async def test_overrides_at_the_caps_are_priced_and_refused_by_bounds(
    client: TestClient, world: World, sessionmaker: Maker
) -> None:
    before = await snapshot(sessionmaker)
    caps = {"steps": 10**6, "batch_size": 1024, "resolution": 16_384, "rank": 1024}
    job = {"dataset_id": world.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    estimate = await client.post("/v1/estimate", json={**job, "overrides": caps}, headers=HEADERS)
    answer = await estimate.json()
    assert estimate.status == 200 and answer["ok"] is False
    assert [e["code"] for e in answer["errors"]] == ["BOUNDS_EXCEEDED"]
    assert isinstance(answer["cost"], int) and answer["cost"] > 10**9
    submitted = await client.post(
        "/v1/jobs", json={**job, "overrides": caps, "idempotency_key": "caps"}, headers=HEADERS
    )
    assert submitted.status == 422
    assert await snapshot(sessionmaker) == before


async def test_estimate_survives_overflowing_params_from_any_caller(db: Maker) -> None:
    from core.estimate import estimate
    from core.offerings import OfferingRegistry
    from core.settings import BUNDLED_OFFERINGS

    async with db() as session:
        result = await estimate(
            session,
            OfferingRegistry.load(BUNDLED_OFFERINGS),
            account_id=1,
            dataset_id=1,
            offering_id="tiny-lora",
            preset="fast",
            overrides={"resolution": 10**400, "steps": 10**30},
            data_dir=Path("/nonexistent"),
        )
    assert result.ok is False and result.cost == 0
    assert [e.code for e in result.errors] == ["BOUNDS_EXCEEDED"]
    assert "steps=" in result.errors[0].message


# --- 6. ack ids past BIGINT


@pytest.mark.parametrize(
    "ids",
    [
        "[9223372036854775808]",
        "[18446744073709551616]",
        "[1, 99999999999999999999]",
        "[0]",
        "[-1]",
        "[-9223372036854775809]",
    ],
)
async def test_ack_ids_past_bigint_are_400(
    client: TestClient, world: World, sessionmaker: Maker, ids: str
) -> None:
    before = await snapshot(sessionmaker)
    status, answer = await _send(
        client, "POST", "/v1/notifications/ack", RPC_HEADERS, f'{{"ids": {ids}}}'.encode()
    )
    assert status == 400 and answer["error"]["code"] == "INVALID_INPUT", answer
    assert await snapshot(sessionmaker) == before


async def test_the_largest_bigint_ack_id_is_fine(client: TestClient, world: World) -> None:
    status, answer = await _send(
        client, "POST", "/v1/notifications/ack", RPC_HEADERS, b'{"ids": [9223372036854775807]}'
    )
    assert status == 200 and answer == {"acknowledged": 0}


# --- 10. money and ids are strict integers

LOOSE = ["true", "false", '"5"', "5.0", "5.5", '"0x5"', "[5]", "null"]


@pytest.mark.parametrize("value", LOOSE)
async def test_loose_numbers_are_not_amounts_or_ids(
    client: TestClient, world: World, sessionmaker: Maker, value: str
) -> None:
    before = await snapshot(sessionmaker)
    grant = f'{{"amount": {value}, "reason": "r", "idempotency_key": "loose"}}'
    job = (
        f'{{"dataset_id": {value}, "offering_id": "tiny-lora", "preset": "fast", '
        '"idempotency_key": "loose"}'
    )
    steps = (
        f'{{"dataset_id": {world.dataset_id}, "offering_id": "tiny-lora", '
        f'"overrides": {{"steps": {value}}}}}'
    )
    cases = [
        ("POST", f"/admin/accounts/{world.account_id}/grant", ADMIN_HEADERS, grant),
        ("POST", "/v1/jobs", HEADERS, job),
        ("POST", "/v1/estimate", HEADERS, job),
        ("POST", "/v1/notifications/ack", RPC_HEADERS, f'{{"ids": [{value}]}}'),
    ]
    if value != "null":  # null means "the preset's value" for an override
        cases.append(("POST", "/v1/estimate", HEADERS, steps))
    for method, path, headers, body in cases:
        status, answer = await _send(client, method, path, headers, body.encode())
        assert status == 400, (path, body, answer)
    assert await snapshot(sessionmaker) == before


async def test_strict_integers_still_pass(client: TestClient, world: World) -> None:
    response = await client.post(
        f"/admin/accounts/{world.account_id}/grant",
        json={"amount": 5, "reason": "r", "idempotency_key": "ok"},
        headers=ADMIN_HEADERS,
    )
    assert response.status == 201 or response.status == 200
    assert (await response.json())["balance"] == 1005
