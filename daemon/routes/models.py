"""Trained models (the acting account's, and others' published ones by id), their files, and
what their owner publishes about them."""

from aiohttp import web

from core import models_registry
from core.db.models import Model
from core.models_registry import ModelPatch
from daemon.answers import blob_answer, json_answer
from daemon.auth import acting_account
from daemon.keys import BLOBS, ECONOMY, OFFERINGS, READ_SESSIONMAKER, SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import ModelOut, ModelsOut
from daemon.validation import parse_body, path_int

routes = web.RouteTableDef()


def _out(request: web.Request, model: Model, viewer: int) -> ModelOut:
    family = models_registry.base_family(request.app[OFFERINGS], model.offering_id)
    return ModelOut.of(model, viewer=viewer, base_family=family)


@routes.get("/v1/models")
@describe(summary="The acting account's trained models, newest first", response=ModelsOut)
async def list_models(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        rows = await models_registry.list_models(session, account.id)
    return json_answer(ModelsOut(models=[_out(request, model, account.id) for model in rows]))


@routes.get("/v1/models/{id}")
@describe(
    summary="One trained model: the acting account's own, or anyone's unlisted or public one",
    response=ModelOut,
    errors=(404,),
)
async def get_model(request: web.Request) -> web.Response:
    model_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        model = await models_registry.get_model(session, model_id, account.id)
    return json_answer(_out(request, model, account.id))


@routes.patch("/v1/models/{id}")
@describe(
    summary="Change a model's name, description, tags, visibility, licence or price per use",
    body=ModelPatch,
    response=ModelOut,
    errors=(400, 403, 404),
)
async def patch_model(request: web.Request) -> web.Response:
    model_id = path_int(request, "id")
    body = await parse_body(request, ModelPatch)
    rules = request.app[ECONOMY].market
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        model = await models_registry.update_model(session, model_id, account.id, body, rules)
    return json_answer(_out(request, model, account.id))


@routes.get("/v1/models/{id}/files/{name}")
@describe(
    summary="Download one file of a model (LoRA weights, loss curve, samples, summary); "
    "others' published models under their licence",
    errors=(404,),
)
async def download_file(request: web.Request) -> web.StreamResponse:
    model_id = path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        model = await models_registry.get_model(session, model_id, account.id)
    name = request.match_info["name"]
    key, media_type = await models_registry.model_file(request.app[BLOBS], model, name)
    return await blob_answer(
        request,
        request.app[BLOBS],
        key,
        {"Content-Type": media_type, "Content-Disposition": f'attachment; filename="{name}"'},
    )
