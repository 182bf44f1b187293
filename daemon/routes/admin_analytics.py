"""Operator analytics (admin token): every account's jobs, points, queue and workers by day."""

from aiohttp import web

from core import date_ranges
from core.operator_analytics import operator_analytics
from daemon.answers import json_answer
from daemon.keys import READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import OperatorAnalyticsOut, RangeQuery
from daemon.validation import parse_query

routes = web.RouteTableDef()


@routes.get("/admin/analytics")
@describe(
    summary="Jobs and points per day, queue wait, GPU busy seconds per slot, failures by "
    "reason, top offerings and revenue, over `from`..`to` (default: the last 30 days)",
    query=RangeQuery,
    response=OperatorAnalyticsOut,
    errors=(400,),
)
async def get_admin_analytics(request: web.Request) -> web.Response:
    query = parse_query(request, RangeQuery)
    window = date_ranges.date_range(query.from_, query.to, ending=date_ranges.today())
    async with request.app[READ_SESSIONMAKER].begin() as session:
        figures = await operator_analytics(session, window)
    return json_answer(OperatorAnalyticsOut.of(figures))
