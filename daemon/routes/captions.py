"""Automatic captions of the acting account's datasets: price them (with a quote) and submit
a caption job (paid, idempotent); the job is followed with the jobs' routes."""

from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from core.captions import CaptionRequest, estimate_captions, submit_captions
from core.jobs import job_standing
from core.quotes import QuoteStale
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import ECONOMY, EVENTS, OFFERINGS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.routes.estimate import hold_price
from daemon.schemas import CaptionEstimateOut, CaptionIn, CaptionJobIn, JobOut, QuoteOut
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
    try:
        answer, created = await _submit(request, caption_request)
    except QuoteStale as exc:
        # The person sees the new price first: a fresh quote rides in the refusal.
        quote = await hold_price(request, exc.account_id, exc.fingerprint, exc.cost)
        exc.details["quote"] = QuoteOut.model_validate(quote).model_dump(mode="json")
        raise
    except IntegrityError:
        # A concurrent submit with the same key won the unique constraint: answer its job.
        answer, created = await _submit(request, caption_request)
    if created:
        request.app[EVENTS].jobs_changed()
    return json_answer(answer, status=201 if created else 200)


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
