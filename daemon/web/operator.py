"""Operator pages: every account, every job with Cancel and Requeue, and the service's analytics
(the admin routes' core calls)."""

from aiohttp import web

from core import date_ranges
from core.accounts import list_accounts
from core.jobs import cancel_job, list_jobs, requeue_job
from core.operator_analytics import operator_analytics
from daemon.keys import EVENTS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.routes.jobs import jobs_answer
from daemon.schemas import AccountOut, AdminAccountsQuery, OperatorAnalyticsOut, RangeQuery
from daemon.validation import parse_query, path_int
from daemon.web.pages import render, see_other
from daemon.web.paths import OPERATOR_HOME
from daemon.web.sessions import require_operator

routes = web.RouteTableDef()

PAGE_LIMIT = 100


@routes.get("/ui/operator/accounts")
async def accounts_page(request: web.Request) -> web.Response:
    """Accounts with balances and identities, by id."""
    require_operator(request)
    query = parse_query(request, AdminAccountsQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        rows = await list_accounts(session, after_id=query.after_id, limit=query.limit)
    accounts = [AccountOut.model_validate(row) for row in rows]
    return await render(request, "operator_accounts.html", accounts=accounts, limit=query.limit)


@routes.get("/ui/operator/jobs")
async def jobs_page(request: web.Request) -> web.Response:
    """Every job, newest first."""
    require_operator(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        jobs = await list_jobs(session, None, limit=PAGE_LIMIT)
        answer = await jobs_answer(session, jobs, slots=request.app[SETTINGS].workers)
    return await render(request, "operator_jobs.html", jobs=answer.jobs)


@routes.post("/ui/operator/jobs/{id}/cancel")
async def cancel_form(request: web.Request) -> web.Response:
    """Cancel any job (refunded by the rules)."""
    require_operator(request)
    job_id = path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        await cancel_job(session, job_id, None)
    request.app[EVENTS].jobs_changed()
    raise see_other(OPERATOR_HOME)


@routes.post("/ui/operator/jobs/{id}/requeue")
async def requeue_form(request: web.Request) -> web.Response:
    """Queue a failed or cancelled job again (refused once it was refunded)."""
    require_operator(request)
    job_id = path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        await requeue_job(session, job_id)
    request.app[EVENTS].jobs_changed()
    raise see_other(OPERATOR_HOME)


@routes.get("/ui/operator/analytics")
async def analytics_page(request: web.Request) -> web.Response:
    """Every account's jobs and points per day, queue wait, GPU busy time, failures, top
    offerings and revenue over a range of days (`/admin/analytics`' figures)."""
    require_operator(request)
    query = parse_query(request, RangeQuery, skip_blank=True)
    window = date_ranges.date_range(query.from_, query.to, ending=date_ranges.today())
    async with request.app[READ_SESSIONMAKER].begin() as session:
        figures = await operator_analytics(session, window)
    return await render(
        request, "operator_analytics.html", figures=OperatorAnalyticsOut.of(figures)
    )
