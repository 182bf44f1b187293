"""The acting account's points ledger."""

from aiohttp import web

from core.db.models import LedgerEntry
from core.ledger import list_entries
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import LedgerOut, LedgerQuery
from daemon.validation import parse_query

routes = web.RouteTableDef()


def entry_view(entry: LedgerEntry) -> dict:
    """The JSON shape of a ledger entry."""
    return {
        "id": entry.id,
        "delta": entry.delta,
        "kind": entry.kind,
        "reference": entry.reference,
        "balance_after": entry.balance_after,
        "created_at": entry.created_at.isoformat(),
    }


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
        body = {"balance": account.balance, "entries": [entry_view(e) for e in entries]}
    return web.json_response(body)
