"""Training jobs of the acting account: submit (paid, idempotent), list, show, cancel, keep a
checkpoint, metrics."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core import checkpoints
from core.db.models import Job
from core.jobs import (
    JobRequest,
    cancel_job,
    get_job,
    job_metrics,
    job_standing,
    list_jobs,
    submit_job,
)
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import (
    BLOBS,
    ECONOMY,
    EVENTS,
    OFFERINGS,
    READ_SESSIONMAKER,
    SESSIONMAKER,
    SETTINGS,
)
from daemon.openapi import describe
from daemon.paid_requests import submit_and_answer
from daemon.schemas import (
    CancelOut,
    JobIn,
    JobOut,
    JobsOut,
    JobsQuery,
    KeepIn,
    KeepOut,
    MetricPoint,
    MetricsOut,
    SampleOut,
)
from daemon.schemas.checkpoints import checkpoint_file_url
from daemon.validation import parse_body, parse_query, path_int

routes = web.RouteTableDef()


def _request_of(body: JobIn) -> JobRequest:
    return JobRequest(
        dataset_id=body.dataset_id,
        offering_id=body.offering_id,
        preset=body.preset,
        idempotency_key=body.idempotency_key,
        overrides=body.overrides.model_dump(exclude_none=True),
        reply_to=body.reply_to,
        quote_id=body.quote_id,
    )


@routes.post("/v1/jobs")
@describe(
    summary="Submit a training: preflight, debit and queue in one transaction (idempotent)",
    body=JobIn,
    response=JobOut,
    status=201,
    repeat_status=200,
    errors=(400, 402, 404, 409, 422),
)
async def post_job(request: web.Request) -> web.Response:
    body = await parse_body(request, JobIn)
    job_request = _request_of(body)
    return await submit_and_answer(request, lambda: _submit(request, job_request))


async def _submit(request: web.Request, job_request: JobRequest) -> tuple[JobOut, bool]:
    platform, user_id = acting_identity(request)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job, created = await submit_job(
            session,
            request.app[OFFERINGS],
            request.app[ECONOMY].market,
            account_id=account.id,
            platform=str(platform),
            platform_user_id=user_id,
            request=job_request,
            data_dir=request.app[SETTINGS].data_dir,
        )
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
        return JobOut.of(job, standing), created


@routes.get("/v1/jobs")
@describe(summary="Jobs of the acting account, newest first", query=JobsQuery, response=JobsOut)
async def get_jobs(request: web.Request) -> web.Response:
    query = parse_query(request, JobsQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        jobs = await list_jobs(
            session, account.id, status=query.status, kind=query.kind, limit=query.limit
        )
        answer = await jobs_answer(session, jobs, slots=request.app[SETTINGS].workers)
    return json_answer(answer)


async def jobs_answer(session: AsyncSession, jobs: list[Job], *, slots: int) -> JobsOut:
    """Jobs, each with where it stands in the queue."""
    return JobsOut(
        jobs=[JobOut.of(job, await job_standing(session, job, slots=slots)) for job in jobs]
    )


@routes.get("/v1/jobs/{id}")
@describe(summary="A job: status, stage, progress, queue position", response=JobOut, errors=(404,))
async def get_one_job(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_job(session, job_id, account.id)
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
    return json_answer(JobOut.of(job, standing))


async def cancel_and_answer(request: web.Request, *, as_operator: bool) -> web.Response:
    """Cancel a job (the acting account's, or any for operators) and answer it with `refunded`."""
    job_id = path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        owner = None if as_operator else (await acting_account(request, session)).id
        result = await cancel_job(session, job_id, owner)
        # A cancelled job waits in no queue: its standing needs no query.
        standing = await job_standing(session, result.job, slots=request.app[SETTINGS].workers)
        answer = CancelOut.of(result.job, standing, refunded_now=result.refunded)
    request.app[EVENTS].jobs_changed()
    return json_answer(answer)


@routes.post("/v1/jobs/{id}/cancel")
@describe(
    summary="Cancel a job: queued → full refund, running → unused share",
    response=CancelOut,
    errors=(404, 409),
)
async def post_cancel(request: web.Request) -> web.Response:
    return await cancel_and_answer(request, as_operator=False)


@routes.post("/v1/jobs/{id}/keep")
@describe(
    summary="Keep this one: end a training at a saved checkpoint — its model, the steps not "
    "needed refunded, the worker stopped",
    body=KeepIn,
    response=KeepOut,
    errors=(404, 409),
)
async def post_keep(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    body = await parse_body(request, KeepIn)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        kept = await checkpoints.keep(session, request.app[BLOBS], job_id, account.id, body.step)
        standing = await job_standing(session, kept.job, slots=request.app[SETTINGS].workers)
        answer = KeepOut.of(kept.job, standing, refunded_now=kept.refunded, model_id=kept.model.id)
    request.app[EVENTS].jobs_changed()  # the dispatcher stops the fenced worker
    return json_answer(answer)


@routes.get("/v1/jobs/{id}/metrics")
@describe(
    summary="The loss curve of a job and the sample of each saved checkpoint",
    response=MetricsOut,
    errors=(404,),
)
async def get_job_metrics(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_job(session, job_id, account.id)
        points = [MetricPoint.model_validate(row) for row in await job_metrics(session, job.id)]
    samples = [
        SampleOut(
            step=c["step"],
            name=c["sample"],
            url=checkpoint_file_url(job.id, c["step"], c["sample"]),
        )
        for c in job.checkpoints
        if c.get("sample")
    ]
    return json_answer(MetricsOut(job_id=job.id, points=points, samples=samples))
