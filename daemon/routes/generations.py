"""Generations of the acting account: price (with a quote), submit (paid, idempotent), list,
show, and download their images. Cancel is the jobs' route (a generation is a job)."""

from aiohttp import web

from core.generations import (
    IMAGE_MEDIA_TYPE,
    GenerationRequest,
    estimate_generation,
    generation_file,
    get_generation,
    list_generations,
    submit_generation,
)
from core.jobs import job_standing
from daemon.answers import blob_answer, json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import (
    BLOBS,
    ECONOMY,
    OFFERINGS,
    READ_SESSIONMAKER,
    SESSIONMAKER,
    SETTINGS,
)
from daemon.openapi import describe
from daemon.paid_requests import hold_price, submit_and_answer
from daemon.schemas import (
    GenerationEstimateOut,
    GenerationIn,
    GenerationJobIn,
    GenerationOut,
    GenerationsOut,
    GenerationsQuery,
)
from daemon.validation import parse_body, parse_query, path_int

routes = web.RouteTableDef()


def _request_of(body: GenerationIn) -> GenerationRequest:
    fields = body.model_dump(include=set(GenerationIn.model_fields))
    if isinstance(body, GenerationJobIn):
        fields |= {
            "idempotency_key": body.idempotency_key,
            "reply_to": body.reply_to,
            "quote_id": body.quote_id,
        }
    return GenerationRequest(**fields)


@routes.post("/v1/generations/estimate")
@describe(
    summary="Price a generation with a model, list what would stop it, and hold the price",
    body=GenerationIn,
    response=GenerationEstimateOut,
    errors=(400,),
)
async def post_estimate(request: web.Request) -> web.Response:
    generation = _request_of(await parse_body(request, GenerationIn))
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        result = await estimate_generation(
            session,
            request.app[OFFERINGS],
            request.app[BLOBS],
            account_id=account.id,
            request=generation,
            data_dir=request.app[SETTINGS].data_dir,
        )
    quote = None
    if result.ok:
        quote = await hold_price(request, account.id, generation.fingerprint(), result.cost)
    return json_answer(GenerationEstimateOut.of(result, quote))


@routes.post("/v1/generations")
@describe(
    summary="Generate images with a model: preflight, debit and queue in one transaction "
    "(idempotent)",
    body=GenerationJobIn,
    response=GenerationOut,
    status=201,
    repeat_status=200,
    errors=(400, 402, 409, 422),
)
async def post_generation(request: web.Request) -> web.Response:
    generation = _request_of(await parse_body(request, GenerationJobIn))
    return await submit_and_answer(request, lambda: _submit(request, generation))


async def _submit(
    request: web.Request, generation: GenerationRequest
) -> tuple[GenerationOut, bool]:
    platform, user_id = acting_identity(request)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job, created = await submit_generation(
            session,
            request.app[OFFERINGS],
            request.app[ECONOMY].market,
            request.app[BLOBS],
            account_id=account.id,
            platform=str(platform),
            platform_user_id=user_id,
            request=generation,
            data_dir=request.app[SETTINGS].data_dir,
        )
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
        return GenerationOut.of(job, standing), created


@routes.get("/v1/generations")
@describe(
    summary="Generations of the acting account, newest first",
    query=GenerationsQuery,
    response=GenerationsOut,
)
async def get_generations(request: web.Request) -> web.Response:
    query = parse_query(request, GenerationsQuery)
    slots = request.app[SETTINGS].workers
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        jobs = await list_generations(session, account.id, limit=query.limit)
        answer = GenerationsOut(
            generations=[
                GenerationOut.of(job, await job_standing(session, job, slots=slots))
                for job in jobs
            ]
        )
    return json_answer(answer)


@routes.get("/v1/generations/{id}")
@describe(
    summary="A generation: status, progress, queue position, and its images once done",
    response=GenerationOut,
    errors=(404,),
)
async def get_one_generation(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_generation(session, job_id, account.id)
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
    return json_answer(GenerationOut.of(job, standing))


@routes.get("/v1/generations/{id}/files/{name}")
@describe(summary="One image (or the strength sheet) of a generation, as PNG", errors=(404,))
async def download_file(request: web.Request) -> web.StreamResponse:
    job_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_generation(session, job_id, account.id)
    name = request.match_info["name"]
    key = await generation_file(request.app[BLOBS], job, name)
    return await blob_answer(
        request,
        request.app[BLOBS],
        key,
        {"Content-Type": IMAGE_MEDIA_TYPE, "Content-Disposition": f'inline; filename="{name}"'},
    )
