"""A person's analytics and cost pages, and their chart pictures: the RPC's core calls
(`daemon.routes.analytics`) on the RPC's query models, scoped to the signed-in account.

A chart is drawn from the same record its page shows (in a thread, as the RPC's chart routes
draw), so a picture and the figures beside it cannot disagree.
"""

import asyncio
from urllib.parse import urlencode

from aiohttp import web

from core import charts, date_ranges
from core.analytics import TrainingAnalytics, dataset_analytics, training_analytics
from core.costs import CostReport, cost_report, cost_window
from core.enums import CostPeriod, JobStatus, Visibility
from daemon.keys import READ_SESSIONMAKER
from daemon.schemas import (
    CostsOut,
    CostsQuery,
    DatasetAnalyticsOut,
    RangeQuery,
    TrainingAnalyticsOut,
)
from daemon.validation import parse_query
from daemon.web.pages import render
from daemon.web.sessions import person_of

routes = web.RouteTableDef()

# The cost figures in the order the page lists them, with their names in words.
COST_LABELS = {
    "training": "Training",
    "captioning": "Captioning",
    "generation": "Generation",
    "purchases": "Points bought",
    "royalties_earned": "Royalties earned",
    "refunds": "Refunds",
    "spent": "Spent (debits − refunds)",
}


async def _trainings(request: web.Request) -> TrainingAnalytics:
    query = parse_query(request, RangeQuery, skip_blank=True)
    window = date_ranges.date_range(query.from_, query.to, ending=date_ranges.today())
    account = person_of(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        return await training_analytics(session, account.id, window)


async def _costs(request: web.Request) -> CostReport:
    query = parse_query(request, CostsQuery, skip_blank=True)
    window = cost_window(query.period, query.from_, query.to, ending=date_ranges.today())
    account = person_of(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        return await cost_report(session, account.id, query.period, window)


def _png(data: bytes) -> web.Response:
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "no-store"})


def costs_query(report: CostsOut) -> str:
    """The query string that asks for a report again (its dates only for a custom period)."""
    fields = {"period": str(report.period)}
    if report.period is CostPeriod.custom:
        fields |= {"from": report.from_.isoformat(), "to": report.to.isoformat()}
    return urlencode(fields)


@routes.get("/ui/analytics")
async def analytics_page(request: web.Request) -> web.Response:
    """Jobs of a range of days (by status, cost, offering, kind) and the person's datasets."""
    report = await _trainings(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        datasets = await dataset_analytics(session, person_of(request).id)
    trainings = TrainingAnalyticsOut.of(report)
    window = urlencode({"from": trainings.from_.isoformat(), "to": trainings.to.isoformat()})
    return await render(
        request,
        "analytics.html",
        trainings=trainings,
        datasets=DatasetAnalyticsOut.of(datasets),
        statuses=list(JobStatus),
        visibilities=list(Visibility),
        chart_url=f"/ui/charts/trainings.png?{window}",
    )


@routes.get("/ui/costs")
async def costs_page(request: web.Request) -> web.Response:
    """Points by type over a period, against the period before, and day by day."""
    report = CostsOut.of(await _costs(request))
    return await render(
        request,
        "costs.html",
        report=report,
        labels=COST_LABELS,
        periods=list(CostPeriod),
        chart_url=f"/ui/charts/costs.png?{costs_query(report)}",
    )


@routes.get("/ui/charts/trainings.png")
async def trainings_chart(request: web.Request) -> web.Response:
    """The analytics page's chart: points paid per day, stacked by job kind (PNG)."""
    report = await _trainings(request)
    return _png(await asyncio.to_thread(charts.training_chart, report))


@routes.get("/ui/charts/costs.png")
async def costs_chart(request: web.Request) -> web.Response:
    """The cost page's chart: points spent per day against the period before, and bought."""
    report = await _costs(request)
    return _png(await asyncio.to_thread(charts.cost_chart, report))
