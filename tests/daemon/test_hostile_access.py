"""Who may do what, tried as an attacker would: padded `X-User` spellings against the rate
limit, a stranger's job against a dataset owner's delete, `/metrics` from afar, connections
that never finish their request head, and stored files a browser might sniff."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Account, Image, Job, LedgerEntry
from core.enums import JobStatus, Visibility
from core.errors import Forbidden, Unauthorized
from core.settings import Settings
from daemon.app import create_app
from daemon.auth import check_token
from daemon.errors import STATUS_OF, STATUS_OF_CODE
from daemon.keys import BLOBS
from daemon.process import running_daemon
from tests.conftest import grant, make_account, make_dataset, user_headers

Maker = async_sessionmaker[AsyncSession]


# --- 8. one identity, one allowance

SPELLINGS = ["telegram:42", " telegram:42", "telegram:42 ", "Telegram:42", "TELEGRAM : 42\t"]


async def test_spellings_of_one_identity_share_one_account_and_one_allowance(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(rate_limit_per_minute=1, rate_limit_burst=len(SPELLINGS) - 1)
    client = await aiohttp_client(create_app(settings))
    answers = [await client.get("/v1/me", headers=user_headers(s)) for s in SPELLINGS]
    assert [a.status for a in answers] == [200] * (len(SPELLINGS) - 1) + [429]
    ids = {(await a.json())["id"] for a in answers[:-1]}
    assert len(ids) == 1
    refused = await answers[-1].json()
    assert refused["error"]["code"] == "RATE_LIMITED"
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # Another person is not affected; a name nobody can have is refused, not rate limited.
    assert (await client.get("/v1/me", headers=user_headers("telegram:43"))).status == 200
    assert (await client.get("/v1/me", headers=user_headers("telegram: "))).status == 400


# --- 9. a stranger's job does not hold the owner's dataset


async def _public_dataset_with_a_strangers_job(
    client: TestClient, maker: Maker
) -> tuple[int, int, int]:
    """Alice's public dataset; Bob's queued job on it. (dataset id, Bob's job id, Bob's id)"""
    async with maker.begin() as session:
        alice = await make_account(session, platform_user_id="alice")
        bob = await make_account(session, platform_user_id="bob", balance=500)
        dataset = await make_dataset(
            session, alice.id, images=8, visibility=Visibility.public, blobs=client.app[BLOBS]
        )
    body = {"dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast"}
    response = await client.post(
        "/v1/jobs", json={**body, "idempotency_key": "bob-1"}, headers=user_headers("telegram:bob")
    )
    assert response.status == 201, await response.json()
    return dataset.id, (await response.json())["id"], bob.id


async def _bob_state(maker: Maker, bob_id: int) -> tuple[Any, ...]:
    async with maker() as session:
        jobs = (await session.execute(select(Job.id, Job.status, Job.cost, Job.refunded))).all()
        balance = await session.scalar(select(Account.balance).where(Account.id == bob_id))
        entries = list(
            await session.scalars(select(LedgerEntry.id).where(LedgerEntry.account_id == bob_id))
        )
    return sorted(jobs), balance, entries


async def test_a_strangers_queued_job_does_not_block_the_owners_delete(
    client: TestClient, sessionmaker: Maker
) -> None:
    dataset_id, bob_job, bob_id = await _public_dataset_with_a_strangers_job(client, sessionmaker)
    bob_before = await _bob_state(sessionmaker, bob_id)
    deleted = await client.delete(
        f"/v1/datasets/{dataset_id}", headers=user_headers("telegram:alice")
    )
    assert deleted.status == 200, await deleted.json()
    assert await _bob_state(sessionmaker, bob_id) == bob_before
    async with sessionmaker() as session:
        job = await session.get(Job, bob_job)
        assert job is not None and job.status == JobStatus.queued and job.dataset_id is None


async def test_dataset_in_use_names_only_the_owners_jobs(
    client: TestClient, sessionmaker: Maker
) -> None:
    dataset_id, bob_job, bob_id = await _public_dataset_with_a_strangers_job(client, sessionmaker)
    async with sessionmaker.begin() as session:
        alice_id = await session.scalar(
            select(Image.account_id).where(Image.dataset_id == dataset_id).limit(1)
        )
        assert alice_id is not None
        await grant(session, alice_id, 500)
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    alice = user_headers("telegram:alice")
    own = await client.post("/v1/jobs", json={**body, "idempotency_key": "a-1"}, headers=alice)
    own_id = (await own.json())["id"]
    image_id = (
        await (await client.get(f"/v1/datasets/{dataset_id}/images", headers=alice)).json()
    )["images"][0]["id"]
    for path in (f"/v1/datasets/{dataset_id}", f"/v1/datasets/{dataset_id}/images/{image_id}"):
        refused = await client.delete(path, headers=alice)
        error = (await refused.json())["error"]
        assert refused.status == 409 and error["code"] == "DATASET_IN_USE"
        assert error["details"]["job_ids"] == [own_id]
        assert f"job(s) [{own_id}]" in error["message"] and bob_job != own_id
    cancelled = await client.post(f"/v1/jobs/{own_id}/cancel", headers=alice)
    assert cancelled.status == 200
    assert (await client.delete(f"/v1/datasets/{dataset_id}", headers=alice)).status == 200


# --- /metrics: a token, or loopback only


def _request_from(app: Any, peer: str, headers: dict[str, str] | None = None) -> Any:
    transport = Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/metrics", headers=headers, app=app, transport=transport)


@pytest.mark.parametrize("peer", ["10.0.0.5", "192.168.1.20", "8.8.8.8", "2001:db8::1"])
def test_metrics_refuse_remote_clients_while_no_token_is_set(
    make_settings: Callable[..., Settings], peer: str
) -> None:
    app = create_app(make_settings())
    with pytest.raises(Forbidden, match="LORABOT_METRICS_TOKEN"):
        check_token(_request_from(app, peer))
    check_token(_request_from(app, "127.0.0.1"))
    check_token(_request_from(app, "::1"))


def test_metrics_token_is_required_from_everywhere(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(metrics_token="scrape-me"))
    for peer in ("127.0.0.1", "10.0.0.5"):
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic c2NyYXBlLW1l"},
        ):
            with pytest.raises(Unauthorized):
                check_token(_request_from(app, peer, headers))
        check_token(_request_from(app, peer, {"Authorization": "Bearer scrape-me"}))


async def test_metrics_over_http_with_a_token(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(metrics_token="scrape-me")))
    refused = await client.get("/metrics")
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "UNAUTHORIZED"
    allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status == 200 and "lorabot_ledger_points" in await allowed.text()


# --- a request head that never completes


async def _closed_after(port: int, send: Callable[[asyncio.StreamWriter], Any]) -> float:
    """Seconds until the server closes a connection that `send` keeps feeding."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    feeder = asyncio.ensure_future(send(writer))
    try:
        data = await asyncio.wait_for(reader.read(), timeout=15)
    finally:
        feeder.cancel()
        writer.close()
    assert data == b""  # closed without an answer: there was no request to answer
    return time.monotonic() - started


async def test_a_real_daemon_closes_connections_that_stall_in_the_request_head(
    tmp_path: Path,
) -> None:
    env = {"LORABOT_HEADER_TIMEOUT_SECONDS": "1", "LORABOT_RUN_QUEUE": "false"}
    with running_daemon(tmp_path / "data", env=env) as daemon:
        port = int(daemon.url.rsplit(":", 1)[1])

        async def half_a_line(writer: asyncio.StreamWriter) -> None:
            writer.write(b"GET /heal")
            await writer.drain()

        async def trickle(writer: asyncio.StreamWriter) -> None:
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            for _ in range(100):
                writer.write(b"X-Slow: x\r\n")
                await writer.drain()
                await asyncio.sleep(0.2)

        async def one_request_then_idle(writer: asyncio.StreamWriter) -> None:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            await writer.drain()

        assert await _closed_after(port, half_a_line) < 5
        assert await _closed_after(port, trickle) < 5
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await one_request_then_idle(writer)
        answer = await asyncio.wait_for(reader.read(), timeout=15)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200")  # answered, then closed once idle


# --- stored files are not sniffed


async def test_file_responses_say_nosniff(client: TestClient, sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as session:
        account = await make_account(session, platform_user_id="sniff")
        dataset = await make_dataset(session, account.id, images=1, blobs=client.app[BLOBS])
        image_id = await session.scalar(select(Image.id).where(Image.dataset_id == dataset.id))
    headers = user_headers("telegram:sniff")
    response = await client.get(
        f"/v1/datasets/{dataset.id}/images/{image_id}/file", headers=headers
    )
    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/v1/me", "/v1/models/1/files/lora.safetensors", "/healthz"):
        answered = await client.get(path, headers=headers)
        assert answered.headers["X-Content-Type-Options"] == "nosniff", path


# --- errors built in one place


def test_one_status_table_by_class_and_by_code() -> None:
    assert {cls.code: status for cls, status in STATUS_OF.items()} == STATUS_OF_CODE
    assert STATUS_OF_CODE["RATE_LIMITED"] == 429 and STATUS_OF_CODE["UNAUTHORIZED"] == 401


def test_auth_and_rate_limit_build_no_responses_of_their_own() -> None:
    root = Path(__file__).resolve().parents[2] / "daemon"
    for name in ("auth.py", "ratelimit.py"):
        assert "error_response" not in (root / name).read_text(), name
