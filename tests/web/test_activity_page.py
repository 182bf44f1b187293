"""The activity page over plain HTTP: the feed with its filters, pages and read markers, Mark
read and Mark all read (CSRF-guarded, POST → redirect → GET), the unread count in the nav, and
another person's items neither shown nor markable."""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core import activity
from core.db.models import Activity
from core.enums import ActivityKind
from daemon.keys import SESSIONMAKER
from tests.conftest import user_headers
from tests.web.helpers import figure, sign_in

ANN, BOB = "telegram:7401", "telegram:7402"


@pytest.fixture
async def other(client: TestClient) -> AsyncIterator[TestClient]:
    """A second browser (its own cookie jar) on the same daemon."""
    second = TestClient(client.server)
    await second.start_server()
    yield second
    await second.close()


async def account_id(client: TestClient, user: str) -> int:
    response = await client.get("/v1/me", headers=user_headers(user))
    return int((await response.json())["id"])


async def record(client: TestClient, user: str, kind: ActivityKind, **payload: Any) -> int:
    """One event of `user`'s feed, as the daemon records it; its id."""
    owner = await account_id(client, user)
    key = f"test:{owner}:{kind}:{sorted(payload.items())}"
    async with client.app[SESSIONMAKER].begin() as session:
        row = await activity.record(
            session, account_id=owner, kind=kind, payload=payload, dedupe_key=key
        )
        return row.id


async def read_state(client: TestClient) -> dict[int, bool]:
    async with client.app[SESSIONMAKER]() as session:
        rows = await session.execute(select(Activity.id, Activity.read_at))
        return {row_id: read_at is not None for row_id, read_at in rows}


def items(html: str) -> list[tuple[int, str, str]]:
    """(id, read or unread, title) of each item the page lists, in order."""
    found = re.findall(
        r'<li class="(read|unread)" data-activity-id="(\d+)".*?<span class="title">(.*?)</span>',
        html,
        re.DOTALL,
    )
    return [(int(item_id), state, title) for state, item_id, title in found]


@pytest.fixture
async def feed(client: TestClient, other: TestClient) -> dict[str, Any]:
    """Ann (signed in on `client`) with three events, Bob (on `other`) with one."""
    ann_csrf = await sign_in(client, ANN)
    bob_csrf = await sign_in(other, BOB)
    bought = await record(client, ANN, ActivityKind.purchase, points=100, pack_id="small")
    started = await record(client, ANN, ActivityKind.job_started, job_id=7, job_kind="train")
    done = await record(
        client, ANN, ActivityKind.job_completed, job_id=7, job_kind="train", model_id=3
    )
    bobs = await record(other, BOB, ActivityKind.purchase, points=1000, pack_id="big")
    return {"ann": ann_csrf, "bob": bob_csrf, "ids": [done, started, bought], "bobs": bobs}


async def test_the_feed_lists_ones_own_events_newest_first(
    client: TestClient, feed: dict[str, Any]
) -> None:
    response = await client.get("/ui/activity")
    assert response.status == 200
    html = await response.text()
    done, started, bought = feed["ids"]
    assert items(html) == [
        (done, "unread", "Training #7 completed: LoRA #3 is ready"),
        (started, "unread", "Training #7 started"),
        (bought, "unread", "Bought 100 points (small)"),
    ]
    assert figure(html, "unread") == "3" and 'id="read-all"' in html
    assert "1000 points" not in html  # Bob's purchase
    # The unread count is in the navigation of every person page.
    for path in ("/ui/datasets", "/ui/jobs", "/ui/models", "/ui/analytics", "/ui/costs"):
        nav = (await (await client.get(path)).text()).split("</nav>", 1)[0]
        assert re.search(r'Activity <span class="unread-count">\(3\)</span>', nav), path


async def test_filters_and_pages(client: TestClient, feed: dict[str, Any]) -> None:
    done, started, bought = feed["ids"]
    jobs = await (await client.get("/ui/activity?kind=job_started&kind=job_completed")).text()
    assert [i[0] for i in items(jobs)] == [done, started]
    first = await (await client.get("/ui/activity", params={"limit": "2"})).text()
    assert [i[0] for i in items(first)] == [done, started]
    older = re.search(r'<a id="older" href="([^"]+)"', first)
    assert older and older.group(1).endswith(f"before={started}")
    last = await (await client.get(older.group(1).replace("&amp;", "&"))).text()
    assert [i[0] for i in items(last)] == [bought] and 'id="older"' not in last
    # Empty fields of the GET form mean "all kinds".
    blank = await (await client.get("/ui/activity?kind=&unread=")).text()
    assert len(items(blank)) == 3


async def test_mark_read_then_mark_all_read(client: TestClient, feed: dict[str, Any]) -> None:
    done, started, bought = feed["ids"]
    marked = await client.post(
        f"/ui/activity/{started}/read?unread=true",
        data={"csrf_token": feed["ann"]},
        allow_redirects=False,
    )
    assert marked.status == 303 and marked.headers["Location"] == "/ui/activity?unread=true"
    unread = await (await client.get(marked.headers["Location"])).text()
    assert [i[0] for i in items(unread)] == [done, bought] and figure(unread, "unread") == "2"
    every = await (await client.get("/ui/activity")).text()
    assert [(i[0], i[1]) for i in items(every)] == [
        (done, "unread"), (started, "read"), (bought, "unread")
    ]  # fmt: skip
    assert "Activity <span" in every
    read_all = await client.post(
        "/ui/activity/read-all", data={"csrf_token": feed["ann"]}, allow_redirects=False
    )
    assert read_all.status == 303 and read_all.headers["Location"] == "/ui/activity"
    after = await (await client.get("/ui/activity")).text()
    assert {i[1] for i in items(after)} == {"read"} and figure(after, "unread") == "0"
    assert 'id="read-all"' not in after and "unread-count" not in after
    assert (await read_state(client))[feed["bobs"]] is False  # Bob's item is untouched


async def test_without_the_csrf_token_nothing_is_marked(
    client: TestClient, feed: dict[str, Any]
) -> None:
    before = await read_state(client)
    for path in (f"/ui/activity/{feed['ids'][0]}/read", "/ui/activity/read-all"):
        for data in ({}, {"csrf_token": "x" * 20}):
            refused = await client.post(path, data=data, allow_redirects=False)
            assert refused.status == 403 and "CSRF" in await refused.text()
    assert await read_state(client) == before


async def test_another_persons_item_looks_missing(
    client: TestClient, other: TestClient, feed: dict[str, Any]
) -> None:
    before = await read_state(client)
    refused = await other.post(
        f"/ui/activity/{feed['ids'][0]}/read",
        data={"csrf_token": feed["bob"]},
        allow_redirects=False,
    )
    missing = await other.post(
        "/ui/activity/999999/read", data={"csrf_token": feed["bob"]}, allow_redirects=False
    )
    assert (refused.status, missing.status) == (404, 404)
    assert (await refused.text()).replace(str(feed["ids"][0]), "N") == (
        await missing.text()
    ).replace("999999", "N")
    assert await read_state(client) == before
    bobs = await (await other.get("/ui/activity")).text()
    assert [i[0] for i in items(bobs)] == [feed["bobs"]]
