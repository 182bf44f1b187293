"""Automatic captions of the acting account's datasets: price them (with a quote) and submit
a caption job (paid, idempotent); the job is followed with the jobs' routes."""

from typing import Any

from aiohttp import web

from core.captions import CaptionRequest, estimate_captions, submit_captions
from core.jobs import job_standing
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import ECONOMY, OFFERINGS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.paid_requests import hold_price, submit_and_answer
from daemon.schemas import CaptionEstimateOut, CaptionIn, CaptionJobIn, JobOut
from daemon.validation import parse_body, path_int

routes = web.RouteTableDef()


def _request_of(dataset_id: int, body: CaptionIn, **paid: Any) -> CaptionRequest:
    """The domain's request; `paid`: a submission's key, reply_to and quote."""
    return CaptionRequest(
        dataset_id=dataset_id,
        images=body.images,
        style=body.style,
        trigger_first=body.trigger_first,
        overwrite=body.overwrite,
        **paid,
    )


@routes.post("/v1/datasets/{id}/captions/estimate")
@describe(
    summary="Price captioning a dataset's images, list what would stop it, and hold the price",
    body=CaptionIn,
    response=CaptionEstimateOut,
    errors=(400,),
)
async def post_caption_estimate(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    caption_request = _request_of(dataset_id, await parse_body(request, CaptionIn))
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        result = await estimate_captions(
            session,
            request.app[OFFERINGS],
            account_id=account.id,
            request=caption_request,
            max_caption_chars=request.app[SETTINGS].max_caption_chars,
        )
    quote = None
    if result.ok:
        fingerprint = caption_request.fingerprint()
        quote = await hold_price(request, account.id, fingerprint, result.cost)
    return json_answer(CaptionEstimateOut.of(result, quote))


@routes.post("/v1/datasets/{id}/captions")
@describe(
    summary="Caption a dataset's images: preflight, debit and queue a caption job (idempotent)",
    body=CaptionJobIn,
    response=JobOut,
    status=201,
    repeat_status=200,
    errors=(400, 402, 404, 409, 422),
)
async def post_captions(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    body = await parse_body(request, CaptionJobIn)
    caption_request = _request_of(
        dataset_id,
        body,
        idempotency_key=body.idempotency_key,
        reply_to=body.reply_to,
        quote_id=body.quote_id,
    )
    return await submit_and_answer(request, lambda: _submit(request, caption_request))


async def _submit(request: web.Request, caption_request: CaptionRequest) -> tuple[JobOut, bool]:
    platform, user_id = acting_identity(request)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job, created = await submit_captions(
            session,
            request.app[OFFERINGS],
            request.app[ECONOMY].market,
            account_id=account.id,
            platform=str(platform),
            platform_user_id=user_id,
            request=caption_request,
            max_caption_chars=request.app[SETTINGS].max_caption_chars,
        )
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
        return JobOut.of(job, standing), created
