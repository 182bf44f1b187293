"""Operator routes (admin token): grants, accounts, jobs, requeue, stats, purchases, refunds,
the economy."""

from aiohttp import web
from sqlalchemy import func, select

from core import purchases
from core.accounts import count_accounts, get_account, list_accounts
from core.db.models import Account
from core.enums import JobStatus, LedgerKind, PurchaseStatus
from core.errors import ProviderFailed
from core.jobs import job_standing, jobs_by_status, list_jobs, requeue_job
from core.ledger import balance, balances, ledger_by_kind, post_entry
from core.royalties import royalty_totals
from daemon.answers import json_answer
from daemon.keys import EVENTS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.routes.jobs import cancel_and_answer, jobs_answer
from daemon.schemas import (
    AccountOut,
    AdminAccountsOut,
    AdminAccountsQuery,
    AdminPurchaseOut,
    AdminPurchasesOut,
    AdminPurchasesQuery,
    CancelOut,
    EconomyOut,
    GrantIn,
    GrantOut,
    JobOut,
    JobsOut,
    JobsQuery,
    LedgerEntryOut,
    ProviderTotals,
    RoyaltyTotals,
    StatsOut,
)
from daemon.telegram_stars import refund_star_payment
from daemon.validation import parse_body, parse_query, path_int

routes = web.RouteTableDef()


@routes.post("/admin/accounts/{id}/grant")
@describe(
    summary="Add (or take away) points, once per idempotency key",
    body=GrantIn,
    response=GrantOut,
    status=201,
    repeat_status=200,
    errors=(400, 402, 404, 409),
)
async def post_grant(request: web.Request) -> web.Response:
    account_id = path_int(request, "id")
    body = await parse_body(request, GrantIn)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await get_account(session, account_id)
        entry, created = await post_entry(
            session,
            account_id=account.id,
            delta=body.amount,
            kind=LedgerKind.grant,
            idempotency_key=f"grant:{body.idempotency_key}",
            reference=body.reason,
            fingerprint=body.reason,
        )
        answer = GrantOut(
            entry=LedgerEntryOut.model_validate(entry),
            balance=(await get_account(session, account.id)).balance,
            created=created,
        )
    return json_answer(answer, status=201 if created else 200)


@routes.get("/admin/accounts")
@describe(
    summary="Accounts with balances and identities",
    query=AdminAccountsQuery,
    response=AdminAccountsOut,
)
async def get_accounts(request: web.Request) -> web.Response:
    query = parse_query(request, AdminAccountsQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        accounts = await list_accounts(session, after_id=query.after_id, limit=query.limit)
        answer = AdminAccountsOut(accounts=[AccountOut.model_validate(a) for a in accounts])
    return json_answer(answer)


@routes.get("/admin/jobs")
@describe(summary="All jobs, newest first", query=JobsQuery, response=JobsOut)
async def get_all_jobs(request: web.Request) -> web.Response:
    query = parse_query(request, JobsQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        jobs = await list_jobs(
            session, None, status=query.status, kind=query.kind, limit=query.limit
        )
        answer = await jobs_answer(session, jobs, slots=request.app[SETTINGS].workers)
    return json_answer(answer)


@routes.post("/admin/jobs/{id}/cancel")
@describe(summary="Cancel any job (refund by the rules)", response=CancelOut, errors=(404, 409))
async def post_admin_cancel(request: web.Request) -> web.Response:
    return await cancel_and_answer(request, as_operator=True)


@routes.post("/admin/jobs/{id}/requeue")
@describe(
    summary="Queue a failed or cancelled job again (refused with 409 once it was refunded)",
    response=JobOut,
    errors=(404, 409),
)
async def post_requeue(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        job = await requeue_job(session, job_id)
        await session.flush()
        answer = JobOut.of(
            job, await job_standing(session, job, slots=request.app[SETTINGS].workers)
        )
    request.app[EVENTS].jobs_changed()
    return json_answer(answer)


@routes.get("/admin/stats")
@describe(summary="Accounts, jobs by status, points outstanding and by kind", response=StatsOut)
async def get_stats(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        by_status = await jobs_by_status(session)
        outstanding = await session.scalar(select(func.coalesce(func.sum(Account.balance), 0)))
        stats = StatsOut(
            accounts=await count_accounts(session),
            jobs_by_status=by_status,
            points_outstanding=int(outstanding or 0),
            ledger_by_kind=await ledger_by_kind(session),
            queued=by_status[str(JobStatus.queued)],
        )
    return json_answer(stats)


@routes.get("/admin/purchases")
@describe(
    summary="Purchases of every account, newest first",
    query=AdminPurchasesQuery,
    response=AdminPurchasesOut,
)
async def get_purchases(request: web.Request) -> web.Response:
    query = parse_query(request, AdminPurchasesQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        rows = await purchases.list_purchases(session, status=query.status, limit=query.limit)
        held = await balances(session, (row.account_id for row in rows))
        answer = AdminPurchasesOut(
            purchases=[AdminPurchaseOut.of(row, held[row.account_id]) for row in rows]
        )
    return json_answer(answer)


@routes.post("/admin/purchases/{id}/refund")
@describe(
    summary="Refund a Telegram Stars purchase: points back first (refused once spent), then "
    "refundStarPayment",
    response=AdminPurchaseOut,
    errors=(404, 409, 502),
)
async def post_refund(request: web.Request) -> web.Response:
    purchase_id = path_int(request, "id")
    sessions = request.app[SESSIONMAKER]
    async with sessions.begin() as session:
        purchase = await purchases.begin_refund(session, purchase_id)
    error: ProviderFailed | None = None
    if purchase.status == PurchaseStatus.refunding:
        try:
            await refund_star_payment(
                request.app[SETTINGS], int(purchase.platform_user_id), purchase.charge_id or ""
            )
        except ProviderFailed as exc:
            error = exc
    async with sessions.begin() as session:
        purchase = await purchases.finish_refund(
            session, purchase_id, error=None if error is None else error.message
        )
        answer = AdminPurchaseOut.of(purchase, await balance(session, purchase.account_id))
    if error is not None:
        raise error
    return json_answer(answer)


@routes.get("/admin/economy")
@describe(
    summary="Purchases and refunds by provider, royalties paid, points outstanding and by kind",
    response=EconomyOut,
)
async def get_economy(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        by_provider = await purchases.totals_by_provider(session)
        royalties = await royalty_totals(session)
        outstanding = await session.scalar(select(func.coalesce(func.sum(Account.balance), 0)))
        answer = EconomyOut(
            purchases_by_provider={
                provider: ProviderTotals.model_validate(totals)
                for provider, totals in by_provider.items()
            },
            royalties=RoyaltyTotals.model_validate(royalties),
            points_outstanding=int(outstanding or 0),
            ledger_by_kind=await ledger_by_kind(session),
        )
    return json_answer(answer)
