"""Preflight of a training: cost, duration, VRAM, errors and warnings, and a price quote."""

from aiohttp import web

from core.estimate import estimate
from core.jobs import request_fingerprint
from core.queue_standing import queue_standing
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import OFFERINGS, READ_SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.paid_requests import hold_price
from daemon.schemas import EstimateIn, EstimateOut
from daemon.validation import parse_body

routes = web.RouteTableDef()


@routes.post("/v1/estimate")
@describe(
    summary="Price a training, list what would stop it, and hold the price (a quote)",
    body=EstimateIn,
    response=EstimateOut,
    errors=(400,),
)
async def post_estimate(request: web.Request) -> web.Response:
    body = await parse_body(request, EstimateIn)
    overrides = body.overrides.model_dump(exclude_none=True)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        result = await estimate(
            session,
            request.app[OFFERINGS],
            account_id=account.id,
            dataset_id=body.dataset_id,
            offering_id=body.offering_id,
            preset=body.preset,
            overrides=overrides,
            data_dir=request.app[SETTINGS].data_dir,
        )
        outlook = await queue_standing(
            session, None, slots=request.app[SETTINGS].workers, account_id=account.id
        )
    quote = None
    if result.ok:
        fingerprint = request_fingerprint(
            body.dataset_id, body.offering_id, body.preset, overrides
        )
        quote = await hold_price(request, account.id, fingerprint, result.cost)
    return json_answer(EstimateOut.of(result, outlook, quote))
