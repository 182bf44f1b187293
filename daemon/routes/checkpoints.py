"""A training's saved checkpoints (the acting account's jobs): list them, download their files."""

from aiohttp import web

from core import checkpoints
from core.jobs import get_job
from daemon.answers import blob_answer, json_answer
from daemon.auth import acting_account
from daemon.keys import BLOBS, READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import CheckpointOut, CheckpointsOut
from daemon.validation import path_int

routes = web.RouteTableDef()


@routes.get("/v1/jobs/{id}/checkpoints")
@describe(
    summary="The checkpoints a training saved: each step's LoRA files and sample",
    response=CheckpointsOut,
    errors=(404,),
)
async def list_checkpoints(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_job(session, job_id, account.id)
    listed = [CheckpointOut.of(job.id, entry) for entry in job.checkpoints]
    return json_answer(CheckpointsOut(job_id=job.id, checkpoints=listed))


@routes.get("/v1/jobs/{id}/checkpoints/{step}/files/{name}")
@describe(
    summary="Download one file of a saved checkpoint (its LoRA files or its sample)",
    errors=(404,),
)
async def download_checkpoint_file(request: web.Request) -> web.StreamResponse:
    job_id, step = path_int(request, "id"), path_int(request, "step")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        job = await get_job(session, job_id, account.id)
    name = request.match_info["name"]
    key, media_type = await checkpoints.checkpoint_file(request.app[BLOBS], job, step, name)
    return await blob_answer(
        request,
        request.app[BLOBS],
        key,
        {"Content-Type": media_type, "Content-Disposition": f'attachment; filename="{name}"'},
    )
