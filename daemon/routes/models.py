"""Trained models of the acting account and their downloadable files."""

from aiohttp import web

from core import models_registry
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import BLOBS, READ_SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import ModelOut, ModelsOut
from daemon.validation import path_int

routes = web.RouteTableDef()


@routes.get("/v1/models")
@describe(summary="The acting account's trained models, newest first", response=ModelsOut)
async def list_models(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        rows = await models_registry.list_models(session, account.id)
    return json_answer(ModelsOut(models=[ModelOut.of(model) for model in rows]))


@routes.get("/v1/models/{id}")
@describe(summary="One trained model of the acting account", response=ModelOut, errors=(404,))
async def get_model(request: web.Request) -> web.Response:
    model_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        model = await models_registry.get_model(session, model_id, account.id)
    return json_answer(ModelOut.of(model))


@routes.get("/v1/models/{id}/files/{name}")
@describe(
    summary="Download one file of a model (LoRA weights, loss curve, samples, summary)",
    errors=(404,),
)
async def download_file(request: web.Request) -> web.FileResponse:
    model_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        model = await models_registry.get_model(session, model_id, account.id)
    name = request.match_info["name"]
    path, media_type = models_registry.model_file(request.app[BLOBS], model, name)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
