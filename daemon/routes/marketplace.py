"""The marketplace: browsing public datasets and models, and an owner's earnings."""

from aiohttp import web

from core.earnings import earnings
from core.marketplace import Browse, browse_datasets, browse_models
from core.models_registry import base_family
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import OFFERINGS, READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import (
    DatasetCard,
    DatasetPage,
    EarningOut,
    EarningsOut,
    MarketQuery,
    ModelCard,
    ModelPage,
)
from daemon.validation import parse_query

routes = web.RouteTableDef()


def _browse(query: MarketQuery) -> Browse:
    return Browse(
        q=query.q, tag=query.tag, sort=query.sort, page=query.page, per_page=query.per_page
    )


@routes.get("/v1/marketplace/datasets")
@describe(
    summary="Public datasets, searched by name and tag, newest or most used first, in pages",
    query=MarketQuery,
    response=DatasetPage,
)
async def get_market_datasets(request: web.Request) -> web.Response:
    query = parse_query(request, MarketQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        found = await browse_datasets(session, _browse(query))
    items = [DatasetCard.of(counted, viewer=account.id) for counted in found.items]
    return json_answer(
        DatasetPage(items=items, page=query.page, per_page=query.per_page, total=found.total)
    )


@routes.get("/v1/marketplace/models")
@describe(
    summary="Public models, searched by name and tag, newest or most used first, in pages",
    query=MarketQuery,
    response=ModelPage,
)
async def get_market_models(request: web.Request) -> web.Response:
    query = parse_query(request, MarketQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        found = await browse_models(session, _browse(query))
    offerings = request.app[OFFERINGS]
    items = [
        ModelCard.of(
            model, viewer=account.id, base_family=base_family(offerings, model.offering_id)
        )
        for model in found.items
    ]
    return json_answer(
        ModelPage(items=items, page=query.page, per_page=query.per_page, total=found.total)
    )


@routes.get("/v1/earnings")
@describe(
    summary="What each published (or once used) item of the acting account has earned",
    response=EarningsOut,
)
async def get_earnings(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        found = await earnings(session, account.id)
    items = [EarningOut.model_validate(earning) for earning in found]
    return json_answer(EarningsOut(items=items, total_earned=sum(e.earned for e in items)))
