"""The analytics and cost routes over real HTTP, their figures checked against a known history
(`tests.daemon.history`): uploads, trainings completed, failed, cancelled and queued, a caption
job, purchases (one refunded, one 40 days old) and a royalty earned."""

import uuid
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import user_headers
from tests.daemon.economy import write_economy
from tests.daemon.history import History, make_history
from tests.daemon.hostile import snapshot


@pytest.fixture
async def client(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path, database_url: str | None
) -> TestClient:
    settings = make_settings(economy_file=write_economy(tmp_path), database_url=database_url)
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def history(client: TestClient) -> History:
    # People of their own: the PostgreSQL database is the whole module's.
    who, other = (f"telegram:{uuid.uuid4().int % 10**12}" for _ in range(2))
    return await make_history(client, who, other)


async def get(client: TestClient, path: str, headers: dict[str, str], **query: Any) -> Any:
    response = await client.get(path, params=query, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


def day(h: History, back: int) -> str:
    return (h.today - timedelta(days=back)).isoformat()


def days(h: History, first: int, last: int) -> dict[str, str]:
    """The query of the days `first` to `last` days ago."""
    return {"from": day(h, first), "to": day(h, last)}


async def test_training_analytics_of_the_last_30_days(
    client: TestClient, history: History
) -> None:
    h, c, k = history, history.training_cost, history.caption_cost
    answer = await get(client, "/v1/analytics/trainings", user_headers(h.who))
    assert (answer["from"], answer["to"]) == (day(h, 29), day(h, 0))
    assert answer["jobs"] == {
        "total": 6,
        "by_status": {
            "queued": 1, "preparing": 0, "training": 0, "finishing": 0,
            "completed": 3, "failed": 1, "cancelled": 1,
        },
    }  # fmt: skip
    assert answer["trainings"] == {
        "total": 5, "completed": 2, "failed": 1, "cancelled": 1, "running": 0, "queued": 1,
        "success_rate": 0.6667, "average_seconds": 60.0,
        "total_cost": 3 * c, "average_cost": round(3 * c / 5),
    }  # fmt: skip
    by_day = {d["date"]: d for d in answer["cost_by_day"]}
    assert len(answer["cost_by_day"]) == 30 and list(by_day) == sorted(by_day)
    assert by_day[day(h, 2)] == {
        "date": day(h, 2), "points": c, "by_kind": {"train": c, "caption": 0, "generate": 0}
    }  # fmt: skip
    assert by_day[day(h, 1)]["points"] == c
    # Today: three trainings and the caption job paid, two trainings refunded in full.
    assert by_day[day(h, 0)]["by_kind"] == {"train": c, "caption": k, "generate": 0}
    assert sum(d["points"] for d in answer["cost_by_day"]) == 3 * c + k
    assert answer["by_offering"] == sorted(
        [
            {"offering_id": "tiny-lora", "jobs": 5, "points": 3 * c},
            {"offering_id": h.caption_offering, "jobs": 1, "points": k},
        ],
        key=lambda share: -share["points"],
    )
    assert answer["by_kind"] == [
        {"kind": "train", "jobs": 5, "points": 3 * c},
        {"kind": "caption", "jobs": 1, "points": k},
        {"kind": "generate", "jobs": 0, "points": 0},
    ]


async def test_a_range_counts_only_its_days(client: TestClient, history: History) -> None:
    h = history
    one = await get(client, "/v1/analytics/trainings", user_headers(h.who), **days(h, 1, 1))
    assert one["jobs"]["total"] == 1 and one["trainings"]["average_seconds"] == 30.0
    assert one["cost_by_day"] == [
        {"date": day(h, 1), "points": h.training_cost,
         "by_kind": {"train": h.training_cost, "caption": 0, "generate": 0}}
    ]  # fmt: skip
    empty = await get(client, "/v1/analytics/trainings", user_headers(h.who), **days(h, 90, 60))
    assert empty["trainings"]["success_rate"] is None
    assert empty["trainings"]["average_cost"] is None and empty["jobs"]["total"] == 0
    # The other person sees their own one job, nothing of this history.
    theirs = await get(client, "/v1/analytics/trainings", user_headers(h.other))
    assert theirs["jobs"]["total"] == 1 and theirs["by_kind"][0]["jobs"] == 1


async def test_dataset_analytics(client: TestClient, history: History) -> None:
    h = history
    answer = await get(client, "/v1/analytics/datasets", user_headers(h.who))
    assert answer["totals"] == {"datasets": 2, "images": 8, "bytes": h.image_bytes}
    assert answer["by_visibility"] == {"private": 1, "unlisted": 0, "public": 1}
    assert answer["uses"] == 1
    assert [(d["id"], d["images"], d["visibility"], d["uses"], d["trainings"])
            for d in answer["datasets"]] == [
        (h.published_id, 4, "public", 1, 0),
        (h.uploaded_id, 4, "private", 0, 5),
    ]  # fmt: skip
    assert sum(d["bytes"] for d in answer["datasets"]) == h.image_bytes
    assert answer["tag_frequency"] == [
        {"tag": "garden", "count": 5},
        {"tag": "dog", "count": 4},
        {"tag": "cat", "count": 3},
        {"tag": "sofa", "count": 1},
    ]
    theirs = await get(client, "/v1/analytics/datasets", user_headers(h.other))
    assert theirs["totals"] == {"datasets": 0, "images": 0, "bytes": 0}
    assert theirs["datasets"] == [] and theirs["tag_frequency"] == []


async def test_costs_of_the_month_against_the_month_before(
    client: TestClient, history: History
) -> None:
    h, c, k = history, history.training_cost, history.caption_cost
    answer = await get(client, "/v1/costs", user_headers(h.who))
    assert (answer["period"], answer["from"], answer["to"]) == ("month", day(h, 29), day(h, 0))
    assert answer["totals"] == {
        "training": 5 * c, "captioning": k, "generation": 0, "purchases": 100,
        "royalties_earned": h.royalty, "refunds": 2 * c, "spent": 3 * c + k,
    }  # fmt: skip
    assert len(answer["daily"]) == 30
    assert answer["daily"][-1] == {
        "date": day(h, 0), "training": 3 * c, "captioning": k, "generation": 0,
        "purchases": 100, "royalties_earned": h.royalty, "refunds": 2 * c, "spent": c + k,
    }  # fmt: skip
    assert answer["daily"][-3]["spent"] == answer["daily"][-3]["training"] == c
    previous = answer["previous"]
    assert (previous["from"], previous["to"]) == (day(h, 59), day(h, 30))
    assert previous["totals"]["purchases"] == 1000 and previous["totals"]["spent"] == 0
    assert previous["daily"][-11]["date"] == day(h, 40)
    assert previous["daily"][-11]["purchases"] == 1000
    assert answer["change"]["purchases"] == {"points": -900, "percent": -90.0}
    assert answer["change"]["spent"] == {"points": 3 * c + k, "percent": None}


async def test_costs_of_a_week_and_of_custom_days(client: TestClient, history: History) -> None:
    h = history
    week = await get(client, "/v1/costs", user_headers(h.who), period="week")
    assert (week["from"], len(week["daily"]), week["previous"]["from"]) == (
        day(h, 6), 7, day(h, 13)
    )  # fmt: skip
    assert week["totals"]["spent"] == 3 * h.training_cost + h.caption_cost
    me = user_headers(h.who)
    custom = await get(client, "/v1/costs", me, period="custom", **days(h, 40, 40))
    assert custom["totals"]["purchases"] == 1000 and len(custom["daily"]) == 1
    year = await get(client, "/v1/costs", user_headers(h.who), period="year")
    assert len(year["daily"]) == 365 and year["totals"]["purchases"] == 1100


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/v1/analytics/trainings", {"from": "2024-02-02", "to": "2024-02-01"}, "is after to"),
        ("/v1/analytics/trainings", {"from": "2023-01-01", "to": "2024-02-01"}, "at most 366"),
        ("/v1/analytics/trainings", {"from": "yesterday"}, "is not a date as YYYY-MM-DD"),
        ("/v1/analytics/trainings", {"to": "1700000000"}, "is not a date as YYYY-MM-DD"),
        ("/v1/analytics/trainings", {"to": "2024-02-30"}, "to:"),
        ("/v1/analytics/trainings", {"since": "2024-01-01"}, "since:"),
        ("/v1/analytics/trainings/chart.png", {"from": "2024-02-02", "to": "2024-01-01"}, "after"),
        ("/v1/costs", {"period": "decade"}, "period:"),
        ("/v1/costs", {"period": "custom", "from": "2024-01-01"}, "needs both from and to"),
        ("/v1/costs", {"period": "week", "to": "2024-01-01"}, "only for period=custom"),
        ("/v1/costs", {"from": "2024-01-01"}, "only for period=custom"),
        ("/v1/costs/chart.png", {"period": "custom"}, "needs both from and to"),
    ],
)
async def test_bad_queries_are_refused_specifically(
    client: TestClient, path: str, query: dict[str, str], message: str
) -> None:
    before = await snapshot(client.app[SESSIONMAKER])
    response = await client.get(path, params=query, headers=user_headers("telegram:7401"))
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "INVALID_INPUT")
    assert message in error["message"], error
    assert await snapshot(client.app[SESSIONMAKER]) == before


async def test_charts_are_png_pictures(client: TestClient, history: History) -> None:
    for path, query in (
        ("/v1/analytics/trainings/chart.png", {}),
        ("/v1/costs/chart.png", {"period": "week"}),
    ):
        response = await client.get(path, params=query, headers=user_headers(history.who))
        assert (response.status, response.content_type) == (200, "image/png")
        picture = Image.open(BytesIO(await response.read()))
        assert (picture.format, picture.size) == ("PNG", (800, 400))
