"""The bots' conversation state and progress messages over real HTTP, on SQLite and PostgreSQL:
versioned writes (of concurrent writes on one version exactly one wins), expiry and its
pruning, isolation between identities, bad input refused with nothing stored."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from core import conversations
from core.db.models import ConversationState
from core.db.types import utcnow
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, RPC_HEADERS, job_body, make_dataset, user_headers


@pytest.fixture
async def client(database_url: str | None, aiohttp_client: Any, make_settings: Any) -> TestClient:
    return await aiohttp_client(create_app(make_settings(database_url=database_url)))


def person() -> str:
    """A fresh identity (the PostgreSQL database is shared by the module's tests)."""
    return f"telegram:{uuid.uuid4().hex[:10]}"


async def put(
    client: TestClient, who: str, key: str, data: Any, version: Any, **extra: Any
) -> tuple[int, Any]:
    body = {"data": data, "version": version, **extra}
    response = await client.put(f"/v1/conversations/{key}", json=body, headers=user_headers(who))
    return response.status, await response.json()


async def get(client: TestClient, who: str, key: str) -> tuple[int, Any]:
    response = await client.get(f"/v1/conversations/{key}", headers=user_headers(who))
    return response.status, await response.json()


async def test_versioned_writes_read_back_and_refuse_a_stale_base(client: TestClient) -> None:
    ann = person()
    status, body = await get(client, ann, "train")
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    status, first = await put(client, ann, "train", {"step": "images"}, 0)
    assert (status, first["version"]) == (200, 1)
    assert await _read(client, ann) == first
    status, second = await put(client, ann, "train", {"step": "trigger"}, 1)
    assert (status, second["version"], second["data"]) == (200, 2, {"step": "trigger"})

    status, stale = await put(client, ann, "train", {"step": "lost"}, 1)
    assert status == 409 and stale["error"]["code"] == "STALE_STATE"
    assert stale["error"]["details"] == {"current_version": 2}
    status, again = await put(client, ann, "train", {"step": "lost"}, 0)  # "new", but it exists
    assert (status, again["error"]["details"]) == (409, {"current_version": 2})
    assert (await get(client, ann, "train"))[1]["data"] == {"step": "trigger"}

    refused = await client.delete("/v1/conversations/train?version=1", headers=user_headers(ann))
    assert refused.status == 409 and (await get(client, ann, "train"))[0] == 200
    gone = await client.delete("/v1/conversations/train?version=2", headers=user_headers(ann))
    assert (gone.status, await gone.json()) == (200, {"deleted": True})
    assert (await get(client, ann, "train"))[0] == 404
    nothing = await client.delete("/v1/conversations/train?version=0", headers=user_headers(ann))
    assert (nothing.status, await nothing.json()) == (200, {"deleted": False})


async def _read(client: TestClient, who: str) -> Any:
    return (await get(client, who, "train"))[1]


@pytest.mark.parametrize("based_on", [0, 1])
async def test_of_concurrent_writes_on_one_version_exactly_one_wins(
    client: TestClient, based_on: int
) -> None:
    ann = person()
    if based_on:
        assert (await put(client, ann, "k", {"n": -1}, 0))[0] == 200
    answers = await asyncio.gather(*(put(client, ann, "k", {"n": n}, based_on) for n in range(8)))
    won = [body for status, body in answers if status == 200]
    lost = [body for status, body in answers if status == 409]
    assert len(won) == 1 and len(lost) == 7
    assert {body["error"]["details"]["current_version"] for body in lost} == {based_on + 1}
    status, stored = await get(client, ann, "k")
    assert (stored["version"], stored["data"]) == (based_on + 1, won[0]["data"])


async def test_an_expired_conversation_is_absent_replaceable_and_pruned(
    client: TestClient,
) -> None:
    ann = person()
    await put(client, ann, "old", {"a": 1}, 0, ttl_seconds=60)
    status, kept = await put(client, ann, "kept", {"b": 2}, 0)
    assert kept["expires_at"] > (utcnow() + timedelta(days=6)).isoformat()  # 7 days by default
    async with client.app[SESSIONMAKER].begin() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(
            update(ConversationState).where(ConversationState.key == "old").values(expires_at=past)
        )
    assert (await get(client, ann, "old"))[0] == 404
    assert (await put(client, ann, "old", {"a": 9}, 1))[0] == 409  # its version died with it
    status, fresh = await put(client, ann, "old", {"a": 2}, 0)
    assert (status, fresh["version"]) == (200, 2)  # it goes on from the expired row's version

    async with client.app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(ConversationState).where(ConversationState.key == "old").values(expires_at=past)
        )
        assert await conversations.purge_expired(session) >= 1
        keys = await session.scalars(select(ConversationState.key))
        assert "old" not in set(keys)
    assert (await get(client, ann, "kept"))[1]["data"] == {"b": 2}


async def test_one_identity_never_sees_or_moves_anothers_conversation(
    client: TestClient,
) -> None:
    ann, bob = person(), person()
    await put(client, ann, "train", {"who": "ann"}, 0)
    await put(client, ann, "train", {"who": "ann", "step": 2}, 1)
    assert (await get(client, bob, "train"))[0] == 404
    assert (await put(client, bob, "train", {"who": "bob"}, 2))[0] == 409
    status, own = await put(client, bob, "train", {"who": "bob"}, 0)
    assert (status, own["version"]) == (200, 1)
    deleted = await client.delete("/v1/conversations/train?version=2", headers=user_headers(bob))
    assert deleted.status == 409
    assert (await _read(client, ann))["data"] == {"who": "ann", "step": 2}
    # The same person on Discord is another identity, with conversations of its own.
    discord = ann.replace("telegram:", "discord:")
    assert (await get(client, discord, "train"))[0] == 404


async def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(
    client: TestClient,
) -> None:
    ann = person()
    too_long = "k" * (conversations.MAX_KEY_CHARS + 1)
    status, body = await put(client, ann, too_long, {}, 0)
    assert (status, body["error"]["code"]) == (400, "INVALID_INPUT")
    assert "1-200 printable characters" in body["error"]["message"]
    big = {"blob": "x" * conversations.MAX_DATA_BYTES}
    status, body = await put(client, ann, "k", big, 0)
    assert (status, body["error"]["code"]) == (413, "TOO_LARGE")
    assert body["error"]["details"]["limit"] == conversations.MAX_DATA_BYTES
    for bad in (
        {"version": -1},
        {"version": "1"},
        {"version": 0, "ttl_seconds": 30},
        {"version": 0, "ttl_seconds": 31 * 86400},
    ):
        status, body = await put(client, ann, "k", {}, **bad)
        assert (status, body["error"]["code"]) == (400, "INVALID_INPUT"), bad
    status, body = await put(client, ann, "k", ["not", "an", "object"], 0)
    assert status == 400 and body["error"]["message"].startswith("data:")
    response = await client.get("/v1/conversations/k", headers=RPC_HEADERS)  # no X-User
    assert response.status == 400 and "X-User" in (await response.json())["error"]["message"]
    assert (await get(client, ann, "k"))[0] == 404  # nothing was stored


async def _job(client: TestClient, who: str) -> int:
    me = await (await client.get("/v1/me", headers=user_headers(who))).json()
    grant = {"amount": 100, "reason": "test", "idempotency_key": uuid.uuid4().hex}
    await client.post(f"/admin/accounts/{me['id']}/grant", json=grant, headers=ADMIN_HEADERS)
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, me["id"], images=5)
    response = await client.post("/v1/jobs", json=job_body(dataset.id), headers=user_headers(who))
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def test_progress_messages_of_unfinished_jobs_are_listed_for_the_bots(
    client: TestClient,
) -> None:
    ann, bob = person(), person()
    job_id = await _job(client, ann)
    where = {"platform": "telegram", "chat_id": "42", "message_id": "7"}
    path = f"/v1/jobs/{job_id}/progress-message"
    foreign = await client.put(path, json=where, headers=user_headers(bob))
    assert foreign.status == 404  # another's job answers as a missing one
    missing = await client.put(
        "/v1/jobs/999999/progress-message", json=where, headers=user_headers(ann)
    )
    assert missing.status == 404
    bad = await client.put(path, json={**where, "chat_id": ""}, headers=user_headers(ann))
    assert bad.status == 400
    for message_id in ("7", "8"):  # a second message replaces the first
        recorded = await client.put(
            path, json={**where, "message_id": message_id}, headers=user_headers(ann)
        )
        assert recorded.status == 200

    listed = await client.get("/v1/progress-messages?platform=telegram", headers=RPC_HEADERS)
    mine = [m for m in (await listed.json())["messages"] if m["job_id"] == job_id]
    assert mine == [
        {
            "job_id": job_id,
            "platform": "telegram",
            "chat_id": "42",
            "message_id": "8",
            "platform_user_id": ann.removeprefix("telegram:"),
        }
    ]
    other = await client.get("/v1/progress-messages?platform=discord", headers=RPC_HEADERS)
    assert job_id not in [m["job_id"] for m in (await other.json())["messages"]]
    unknown = await client.get("/v1/progress-messages?platform=irc", headers=RPC_HEADERS)
    assert unknown.status == 400

    await client.post(f"/v1/jobs/{job_id}/cancel", headers=user_headers(ann))
    listed = await client.get("/v1/progress-messages?platform=telegram", headers=RPC_HEADERS)
    assert job_id not in [m["job_id"] for m in (await listed.json())["messages"]]


async def test_conversation_bookkeeping_is_not_counted_against_the_person(
    aiohttp_client: Any, make_settings: Any
) -> None:
    settings = make_settings(rate_limit_per_minute=1, rate_limit_burst=1)
    client = await aiohttp_client(create_app(settings))
    ann = person()
    assert (await client.get("/v1/me", headers=user_headers(ann))).status == 200
    for version in range(3):  # the bot's read and write of each chat update
        assert (await put(client, ann, "k", {"n": version}, version))[0] == 200
        assert (await get(client, ann, "k"))[0] == 200
    assert (await client.get("/v1/me", headers=user_headers(ann))).status == 429
