"""The acting account's analytics (jobs, datasets) and cost dashboard, as JSON and as charts.

A chart route computes the same record as its JSON route and draws it (in a thread: drawing
takes a CPU for a moment and must not stall the event loop).
"""

import asyncio

from aiohttp import web

from core import charts, date_ranges
from core.analytics import TrainingAnalytics, dataset_analytics, training_analytics
from core.costs import CostReport, cost_report, cost_window
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import (
    CostsOut,
    CostsQuery,
    DatasetAnalyticsOut,
    RangeQuery,
    TrainingAnalyticsOut,
)
from daemon.validation import parse_query

routes = web.RouteTableDef()


async def _trainings(request: web.Request) -> TrainingAnalytics:
    query = parse_query(request, RangeQuery)
    window = date_ranges.date_range(query.from_, query.to, ending=date_ranges.today())
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return await training_analytics(session, account.id, window)


async def _costs(request: web.Request) -> CostReport:
    query = parse_query(request, CostsQuery)
    window = cost_window(query.period, query.from_, query.to, ending=date_ranges.today())
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        return await cost_report(session, account.id, query.period, window)


def _png(data: bytes) -> web.Response:
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "no-store"})


@routes.get("/v1/analytics/trainings")
@describe(
    summary="Jobs created from `from` to `to` (default: the last 30 days) by status, the "
    "trainings' success rate, duration and cost, points paid per day, by offering and kind",
    query=RangeQuery,
    response=TrainingAnalyticsOut,
)
async def get_training_analytics(request: web.Request) -> web.Response:
    return json_answer(TrainingAnalyticsOut.of(await _trainings(request)))


@routes.get("/v1/analytics/trainings/chart.png")
@describe(
    summary="The points paid per day of the training analytics, stacked by job kind (PNG)",
    query=RangeQuery,
)
async def get_training_chart(request: web.Request) -> web.Response:
    report = await _trainings(request)
    return _png(await asyncio.to_thread(charts.training_chart, report))


@routes.get("/v1/analytics/datasets")
@describe(
    summary="The acting account's datasets: totals, by visibility, paid uses, tag frequency",
    response=DatasetAnalyticsOut,
)
async def get_dataset_analytics(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        report = await dataset_analytics(session, account.id)
    return json_answer(DatasetAnalyticsOut.of(report))


@routes.get("/v1/costs")
@describe(
    summary="Points spent by type, bought and earned over a period, per day, and the change "
    "against the period before",
    query=CostsQuery,
    response=CostsOut,
)
async def get_costs(request: web.Request) -> web.Response:
    return json_answer(CostsOut.of(await _costs(request)))


@routes.get("/v1/costs/chart.png")
@describe(
    summary="Points spent per day against the period before, and points bought (PNG)",
    query=CostsQuery,
)
async def get_costs_chart(request: web.Request) -> web.Response:
    report = await _costs(request)
    return _png(await asyncio.to_thread(charts.cost_chart, report))
