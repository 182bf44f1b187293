"""Model pages: the list, and one model with its samples, strength sheets, trigger word and
file downloads."""

from aiohttp import web

from core import models_registry
from core.db.models import Job, Model
from core.generations import generation_file, get_generation, list_generations
from daemon.answers import blob_answer
from daemon.keys import BLOBS, OFFERINGS, READ_SESSIONMAKER
from daemon.schemas import ModelOut
from daemon.validation import path_int
from daemon.web.pages import render
from daemon.web.sessions import person_of

routes = web.RouteTableDef()

# What each stored file is, in words a person picks a download by.
FILE_LABELS = {
    "lora_diffusers": "LoRA for diffusers only (PEFT format)",
    "lora_kohya": "LoRA for ComfyUI / A1111 / Forge / kohya / diffusers (kohya format)",
    "loss_curve": "Loss curve",
    "samples": "Sample image",
    "summary": "Training summary",
    "checkpoint": "Saved checkpoint",
}
# Generations looked through for this model's strength sheets.
GENERATIONS_LOOKED_AT = 100


def _out(request: web.Request, model: Model, viewer: int) -> ModelOut:
    family = models_registry.base_family(request.app[OFFERINGS], model.offering_id)
    return ModelOut.of(model, viewer=viewer, base_family=family)


def _sheets(generations: list[Job], model_id: int) -> list[tuple[int, str]]:
    """(generation id, sheet file name) of the finished strength sheets made with a model."""
    return [
        (job.id, job.result["sheet"]["name"])
        for job in generations
        if job.params.get("model_id") == model_id and (job.result or {}).get("sheet")
    ]


@routes.get("/ui/models")
async def models_page(request: web.Request) -> web.Response:
    """The signed-in person's trained models, newest first."""
    account = person_of(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        rows = await models_registry.list_models(session, account.id)
    return await render(
        request, "models.html", models=[_out(request, m, account.id) for m in rows]
    )


@routes.get("/ui/models/{id}")
async def model_page(request: web.Request) -> web.Response:
    """One model (own, unlisted or public)."""
    account, model_id = person_of(request), path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        model = await models_registry.get_model(session, model_id, account.id)
        generations = await list_generations(session, account.id, limit=GENERATIONS_LOOKED_AT)
    return await render(
        request,
        "model.html",
        model=_out(request, model, account.id),
        labels=FILE_LABELS,
        sheets=_sheets(generations, model.id),
    )


@routes.get("/ui/models/{id}/files/{name}")
async def model_file(request: web.Request) -> web.StreamResponse:
    """Download one file of a model."""
    account, model_id = person_of(request), path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        model = await models_registry.get_model(session, model_id, account.id)
    name = request.match_info["name"]
    key, media_type = await models_registry.model_file(request.app[BLOBS], model, name)
    disposition = "inline" if media_type.startswith("image/") else "attachment"
    headers = {
        "Content-Type": media_type,
        "Content-Disposition": f'{disposition}; filename="{name}"',
    }
    return await blob_answer(request, request.app[BLOBS], key, headers)


@routes.get("/ui/generations/{id}/files/{name}")
async def generation_image(request: web.Request) -> web.StreamResponse:
    """An image (or strength sheet) of one of the person's generations."""
    account, job_id = person_of(request), path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        job = await get_generation(session, job_id, account.id)
    key = await generation_file(request.app[BLOBS], job, request.match_info["name"])
    return await blob_answer(request, request.app[BLOBS], key, {"Content-Type": "image/png"})
