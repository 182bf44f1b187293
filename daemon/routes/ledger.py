"""The acting account's points ledger."""

from aiohttp import web

from core.ledger import list_entries
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import LedgerEntryOut, LedgerOut, LedgerQuery
from daemon.validation import parse_query

routes = web.RouteTableDef()


@routes.get("/v1/ledger")
@describe(
    summary="Ledger entries of the acting account, newest first",
    query=LedgerQuery,
    response=LedgerOut,
)
async def get_ledger(request: web.Request) -> web.Response:
    query = parse_query(request, LedgerQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        entries = await list_entries(
            session, account.id, limit=query.limit, before_id=query.before_id
        )
        answer = LedgerOut(
            balance=account.balance, entries=[LedgerEntryOut.model_validate(e) for e in entries]
        )
    return json_answer(answer)
