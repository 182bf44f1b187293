"""The analytics, costs and operator analytics pages and their charts over plain HTTP, their
figures checked against a known history (`tests.daemon.history`) and the RPC's own answers;
a bad query is refused in the RPC's words."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, ADMIN_TOKEN, user_headers
from tests.daemon.economy import write_economy
from tests.daemon.history import History, make_history
from tests.daemon.hostile import snapshot
from tests.web.helpers import figure, operator_sign_in, refusal_message, sign_in


@pytest.fixture
async def client(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> TestClient:
    return await aiohttp_client(create_app(make_settings(economy_file=write_economy(tmp_path))))


@pytest.fixture
async def history(client: TestClient) -> History:
    who, other = (f"telegram:{uuid.uuid4().int % 10**12}" for _ in range(2))
    return await make_history(client, who, other)


@pytest.fixture
async def operator(client: TestClient) -> AsyncIterator[TestClient]:
    """A second browser on the same daemon, signed in as the operator."""
    second = TestClient(client.server)
    await second.start_server()
    await operator_sign_in(second, ADMIN_TOKEN)
    yield second
    await second.close()


async def page(client: TestClient, path: str, **query: str) -> str:
    response = await client.get(path, params=query)
    assert response.status == 200, await response.text()
    return await response.text()


def day(h: History, back: int) -> str:
    return (h.today - timedelta(days=back)).isoformat()


async def test_the_analytics_page_shows_the_history(client: TestClient, history: History) -> None:
    h, c, k = history, history.training_cost, history.caption_cost
    await sign_in(client, h.who)
    html = await page(client, "/ui/analytics")
    assert f'name="from" value="{day(h, 29)}"' in html and f'value="{day(h, 0)}"' in html
    shown = {
        name: figure(html, name)
        for name in (
            "trainings-total", "success-rate", "average-duration", "total-cost", "average-cost",
            "status-completed", "status-failed", "status-cancelled", "status-queued",
            "jobs-total", "kind-train-jobs", "kind-caption-points", "kind-generate-jobs",
            "offering-tiny-lora-jobs", "offering-tiny-lora-points",
            "datasets-total", "images-total", "uses", "visibility-public", "visibility-private",
            "tag-garden", "tag-dog", "tag-cat", "tag-sofa",
        )
    }  # fmt: skip
    assert shown == {
        "trainings-total": "5", "success-rate": "66.7%", "average-duration": "60.0 s",
        "total-cost": str(3 * c), "average-cost": str(round(3 * c / 5)),
        "status-completed": "3", "status-failed": "1", "status-cancelled": "1",
        "status-queued": "1", "jobs-total": "6", "kind-train-jobs": "5",
        "kind-caption-points": str(k), "kind-generate-jobs": "0",
        "offering-tiny-lora-jobs": "5", "offering-tiny-lora-points": str(3 * c),
        "datasets-total": "2", "images-total": "8", "uses": "1",
        "visibility-public": "1", "visibility-private": "1",
        "tag-garden": "5", "tag-dog": "4", "tag-cat": "3", "tag-sofa": "1",
    }  # fmt: skip
    assert f'data-dataset-id="{h.published_id}"' in html
    assert f'data-dataset-id="{h.uploaded_id}"' in html
    assert f'src="/ui/charts/trainings.png?from={day(h, 29)}&amp;to={day(h, 0)}"' in html
    # A picked range counts only its days.
    one = await page(client, "/ui/analytics", **{"from": day(h, 1), "to": day(h, 1)})
    assert figure(one, "jobs-total") == "1" and figure(one, "average-duration") == "30.0 s"
    assert figure(one, "success-rate") == "100.0%"


async def test_the_other_person_sees_only_their_own(client: TestClient, history: History) -> None:
    await sign_in(client, history.other)
    html = await page(client, "/ui/analytics")
    assert figure(html, "jobs-total") == "1" and figure(html, "datasets-total") == "0"
    assert "Uploaded" not in html and "No captions yet." in html
    costs = await page(client, "/ui/costs")
    assert figure(costs, "royalties_earned") == "0" and figure(costs, "purchases") == "0"


async def test_the_costs_page_against_the_period_before(
    client: TestClient, history: History
) -> None:
    h, c, k = history, history.training_cost, history.caption_cost
    await sign_in(client, h.who)
    html = await page(client, "/ui/costs")
    assert '<option value="month" selected>' in html
    assert {name: figure(html, name) for name in (
        "training", "captioning", "generation", "purchases", "royalties_earned", "refunds",
        "spent", "purchases-before", "purchases-change", "purchases-percent",
        "spent-before", "spent-change", "spent-percent",
    )} == {
        "training": str(5 * c), "captioning": str(k), "generation": "0", "purchases": "100",
        "royalties_earned": str(h.royalty), "refunds": str(2 * c), "spent": str(3 * c + k),
        "purchases-before": "1000", "purchases-change": "-900", "purchases-percent": "-90.0%",
        "spent-before": "0", "spent-change": f"+{3 * c + k}", "spent-percent": "–",
    }  # fmt: skip
    assert html.count("<tr data-date=") == 30
    today = html.split(f'<tr data-date="{day(h, 0)}">', 1)[1]
    assert figure(today, "spent") == str(c + k) and figure(today, "refunds") == str(2 * c)
    assert 'src="/ui/charts/costs.png?period=month"' in html
    week = await page(client, "/ui/costs", period="week", **{"from": "", "to": ""})
    assert week.count("<tr data-date=") == 7 and figure(week, "spent") == str(3 * c + k)
    custom = await page(
        client, "/ui/costs", period="custom", **{"from": day(h, 40), "to": day(h, 40)}
    )
    assert figure(custom, "purchases") == "1000" and custom.count("<tr data-date=") == 1
    assert f"period=custom&amp;from={day(h, 40)}&amp;to={day(h, 40)}" in custom


async def test_the_charts_are_pictures_for_a_signed_in_person(
    client: TestClient, history: History, operator: TestClient
) -> None:
    for path in ("/ui/charts/trainings.png", "/ui/charts/costs.png?period=week"):
        assert (await client.get(path)).status == 401  # no session yet
        assert (await operator.get(path)).status == 403  # an operator has no account
    await sign_in(client, history.who)
    for path in ("/ui/charts/trainings.png", "/ui/charts/costs.png?period=week"):
        response = await client.get(path)
        assert (response.status, response.content_type) == (200, "image/png")
        picture = Image.open(BytesIO(await response.read()))
        assert (picture.format, picture.size) == ("PNG", (800, 400))


async def test_the_operator_page_shows_every_accounts_figures(
    client: TestClient, history: History, operator: TestClient
) -> None:
    html = await page(operator, "/ui/operator/analytics")
    admin = await client.get("/admin/analytics", headers=ADMIN_HEADERS)
    rpc = await admin.json()
    assert figure(html, "failures-out_of_memory") == "1"  # the failed training
    assert figure(html, "wait-count") == "4" == str(rpc["queue_wait_seconds"]["count"])
    assert figure(html, "wait-p95") == f"{rpc['queue_wait_seconds']['p95']:.1f} s"
    assert figure(html, "purchases") == "3"  # refunded ones included
    assert figure(html, "revenue") == "1200" == str(rpc["revenue"]["points_bought"])
    top = rpc["top_offerings"][0]
    assert top["offering_id"] == "tiny-lora" and top["jobs"] == 6  # the other person's too
    assert figure(html, "offering-tiny-lora-jobs") == "6"
    assert figure(html, "offering-tiny-lora-points") == str(top["points"])
    assert html.count("<tr data-date=") == 30
    two_days_ago = html.split(f'<tr data-date="{day(history, 2)}">', 1)[1]
    assert figure(two_days_ago, "completed") == "1" and figure(two_days_ago, "submitted") == "1"
    assert rpc["gpu_busy_seconds"]
    for slot in rpc["gpu_busy_seconds"]:
        assert figure(html, f"busy-{slot['slot']}") == f"{slot['seconds']:.1f} s"
    one = await page(
        operator, "/ui/operator/analytics", **{"from": day(history, 2), "to": day(history, 2)}
    )
    assert one.count("<tr data-date=") == 1 and "No failures." in one


async def test_the_operator_page_is_for_operators(client: TestClient) -> None:
    assert (await client.get("/ui/operator/analytics")).status == 401
    await sign_in(client, "telegram:7301")
    refused = await client.get("/ui/operator/analytics")
    assert refused.status == 403 and "for operators" in await refused.text()


BAD_QUERIES = [
    ("/ui/analytics", "/v1/analytics/trainings", {"from": "2024-02-02", "to": "2024-02-01"}),
    ("/ui/analytics", "/v1/analytics/trainings", {"from": "2023-01-01", "to": "2024-02-01"}),
    ("/ui/analytics", "/v1/analytics/trainings", {"from": "yesterday"}),
    ("/ui/analytics", "/v1/analytics/trainings", {"since": "2024-01-01"}),
    ("/ui/charts/trainings.png", "/v1/analytics/trainings/chart.png", {"to": "2024-02-30"}),
    ("/ui/costs", "/v1/costs", {"period": "decade"}),
    ("/ui/costs", "/v1/costs", {"period": "custom", "from": "2024-01-01"}),
    ("/ui/costs", "/v1/costs", {"period": "week", "to": "2024-01-01"}),
    ("/ui/charts/costs.png", "/v1/costs/chart.png", {"period": "custom"}),
    ("/ui/activity", "/v1/activity", {"kind": "everything"}),
    ("/ui/activity", "/v1/activity", {"before": "0"}),
    ("/ui/activity", "/v1/activity", {"limit": "1000"}),
]


@pytest.mark.parametrize(("path", "rpc_path", "query"), BAD_QUERIES)
async def test_a_bad_query_is_the_rpcs_refusal_as_a_page(
    client: TestClient, path: str, rpc_path: str, query: dict[str, str]
) -> None:
    await sign_in(client, "telegram:7302")
    before = await snapshot(client.app[SESSIONMAKER])
    rpc = await client.get(rpc_path, params=query, headers=user_headers("telegram:7302"))
    error = (await rpc.json())["error"]
    refused = await client.get(path, params=query)
    assert (rpc.status, refused.status) == (400, 400)
    assert refused.content_type == "text/html"
    html = await refused.text()
    assert refusal_message(html) == error["message"] and "INVALID_INPUT" in html
    assert await snapshot(client.app[SESSIONMAKER]) == before


async def test_a_bad_range_on_the_operator_page_is_refused(
    client: TestClient, operator: TestClient
) -> None:
    query = {"from": "2024-03-02", "to": "2024-03-01"}
    rpc = await client.get("/admin/analytics", params=query, headers=ADMIN_HEADERS)
    refused = await operator.get("/ui/operator/analytics", params=query)
    assert (rpc.status, refused.status) == (400, 400)
    assert refusal_message(await refused.text()) == (await rpc.json())["error"]["message"]
