"""Shared by the hostile-request suites: raw HTTP/1.1 on a socket, for what aiohttp's client
refuses to send (header bytes that are not UTF-8, broken multipart framing), and the world of
stored data a refused request must leave as it was."""

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Account, Dataset, Image, Job, LedgerEntry, Notification
from tests.conftest import ADMIN_HEADERS, RPC_HEADERS, make_account, make_dataset, user_headers


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
        captions = f"/v1/datasets/{self.dataset_id}/captions"
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
            ("POST", f"{captions}/estimate", HEADERS, {}),
            ("POST", captions, HEADERS, {"idempotency_key": "c"}),
            ("POST", "/v1/me/link", HEADERS, {"code": "ABCDEFGH"}),
            ("PATCH", "/v1/me", HEADERS, {"daily_spending_cap": 10}),
            ("POST", "/v1/purchases", HEADERS, {"pack_id": "starter"}),
            ("POST", "/v1/purchases/1/check", HEADERS, {"currency": "XTR", "total_amount": 50}),
            (
                "POST",
                "/v1/purchases/1/paid",
                HEADERS,
                {"charge_id": "c", "currency": "XTR", "total_amount": 50},
            ),
            (
                "POST",
                "/v1/purchases/entitlements",
                user_headers("discord:7001"),
                {"entitlement_id": "1", "sku_id": "2"},
            ),
            ("POST", "/v1/notifications/ack", RPC_HEADERS, {"ids": [1]}),
            (
                "POST",
                f"/admin/accounts/{self.account_id}/grant",
                ADMIN_HEADERS,
                {"amount": 5, "reason": "r", "idempotency_key": "g"},
            ),
        ]


async def make_world(sessionmaker: Maker) -> World:
    """The World every hostile request is tried against."""
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


async def send_json(
    client: TestClient, method: str, path: str, headers: dict[str, str], raw: bytes
) -> tuple[int, dict[str, Any]]:
    content = {"Content-Type": "application/json"}
    response = await client.request(method, path, data=raw, headers={**headers, **content})
    return response.status, await response.json()
