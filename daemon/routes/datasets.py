"""Datasets of the acting account and their images: create, list, change, delete, upload."""

import asyncio
from functools import partial

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.contact_sheet import contact_sheet
from core.dataset_images import (
    delete_image,
    image_blob_key,
    list_images,
    recaption_image,
    release_blobs,
)
from core.datasets import (
    DatasetCreate,
    DatasetPatch,
    create_dataset,
    dataset_stats,
    delete_dataset,
    delete_each,
    get_dataset,
    get_owned_dataset,
    list_datasets,
    update_dataset,
)
from core.errors import Conflict, InvalidInput
from core.images import NORMALIZED_CONTENT_TYPE, NORMALIZED_SUFFIX
from daemon.answers import blob_answer, json_answer
from daemon.auth import acting_account
from daemon.keys import BLOBS, ECONOMY, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import (
    CONTACT_SHEET_PER_PAGE,
    BatchDeleteIn,
    BatchDeleteOut,
    BatchDeleteResult,
    ContactSheetQuery,
    DatasetDetailOut,
    DatasetList,
    DatasetOut,
    DatasetsQuery,
    Deleted,
    ImageList,
    ImageOut,
    ImagePatch,
    UploadForm,
    UploadResult,
)
from daemon.uploads import IMAGE_WORK, store_upload
from daemon.validation import parse_body, parse_query, path_int

routes = web.RouteTableDef()


def _sessionmaker(request: web.Request) -> async_sessionmaker[AsyncSession]:
    return request.app[SESSIONMAKER]


def _reader(request: web.Request) -> async_sessionmaker[AsyncSession]:
    return request.app[READ_SESSIONMAKER]


@routes.post("/v1/datasets")
@describe(
    summary="Create a dataset",
    body=DatasetCreate,
    response=DatasetOut,
    status=201,
    errors=(400, 409),
)
async def post_dataset(request: web.Request) -> web.Response:
    body = await parse_body(request, DatasetCreate)
    async with _sessionmaker(request).begin() as session:
        account = await acting_account(request, session)
        dataset = await create_dataset(session, account.id, body)
    return json_answer(DatasetOut.of(dataset, viewer=account.id), status=201)


@routes.get("/v1/datasets")
@describe(
    summary="The acting account's datasets (with include_public, others' public ones too)",
    query=DatasetsQuery,
    response=DatasetList,
    errors=(400,),
)
async def get_datasets(request: web.Request) -> web.Response:
    query = parse_query(request, DatasetsQuery)
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        datasets = await list_datasets(session, account.id, include_public=query.include_public)
    return json_answer(
        DatasetList(datasets=[DatasetOut.of(d, viewer=account.id) for d in datasets])
    )


@routes.get("/v1/datasets/{id}")
@describe(
    summary="One dataset (own, unlisted or public), with its storage footprint and price",
    response=DatasetDetailOut,
    errors=(400, 404),
)
async def get_one_dataset(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        dataset = await get_dataset(session, dataset_id, account.id)
        stored = (await dataset_stats(session, dataset_id)).total_bytes
    shown = DatasetOut.of(dataset, viewer=account.id)
    storage = request.app[ECONOMY].storage
    answer = DatasetDetailOut(
        **shown.model_dump(),
        bytes=stored,
        storage_points_per_month=storage.points_per_month(stored),
    )
    return json_answer(answer)


@routes.patch("/v1/datasets/{id}")
@describe(
    summary="Change a dataset's name, trigger word, description, tags, visibility or licence",
    body=DatasetPatch,
    response=DatasetOut,
    errors=(400, 403, 404, 409),
)
async def patch_dataset(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    body = await parse_body(request, DatasetPatch)
    async with _sessionmaker(request).begin() as session:
        account = await acting_account(request, session)
        dataset = await update_dataset(session, dataset_id, account.id, body)
    return json_answer(DatasetOut.of(dataset, viewer=account.id))


@routes.delete("/v1/datasets/{id}")
@describe(
    summary="Delete a dataset and its images (refused while a queued or running job uses it)",
    response=Deleted,
    errors=(400, 403, 404, 409),
)
async def delete_one_dataset(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    sessionmaker = _sessionmaker(request)
    async with sessionmaker.begin() as session:
        account = await acting_account(request, session)
        keys = await delete_dataset(session, dataset_id, account.id)
    removed = await release_blobs(sessionmaker, request.app[BLOBS], keys)
    return json_answer(Deleted(deleted=True, blobs_removed=removed))


@routes.post("/v1/datasets/batch-delete")
@describe(
    summary="Delete several datasets, each answered on its own: deleted, in_use or not_found",
    body=BatchDeleteIn,
    response=BatchDeleteOut,
    errors=(400,),
)
async def post_batch_delete(request: web.Request) -> web.Response:
    body = await parse_body(request, BatchDeleteIn)
    sessionmaker = _sessionmaker(request)
    async with sessionmaker.begin() as session:
        account = await acting_account(request, session)
    # One transaction per dataset (inside delete_each): one refusal undoes none of the others.
    outcomes = await delete_each(sessionmaker, body.ids, account.id)
    keys = sorted({key for outcome in outcomes for key in outcome.blob_keys})
    removed = await release_blobs(sessionmaker, request.app[BLOBS], keys)
    results = [BatchDeleteResult.of(outcome) for outcome in outcomes]
    return json_answer(BatchDeleteOut(results=results, blobs_removed=removed))


@routes.post("/v1/datasets/{id}/images")
@describe(
    summary="Upload images; each file is added or refused with its own reason",
    body=UploadForm,
    multipart=True,
    response=UploadResult,
    errors=(400, 403, 404, 413),
)
async def post_images(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    # Who and where first: an unknown dataset or a stranger's costs no reading and no storing.
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        await get_owned_dataset(session, dataset_id, account.id)
    outcome = await store_upload(request, dataset_id, account.id)
    return json_answer(UploadResult.of(outcome))


@routes.get("/v1/datasets/{id}/images")
@describe(
    summary="The images of a dataset (own, unlisted or public)",
    response=ImageList,
    errors=(400, 404),
)
async def get_images(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        images = await list_images(session, dataset_id, account.id)
    return json_answer(ImageList(images=[ImageOut.of(row) for row in images]))


@routes.get("/v1/datasets/{id}/contact-sheet")
@describe(
    summary=f"One page of a dataset's images as numbered thumbnails in one PNG "
    f"({CONTACT_SHEET_PER_PAGE} a page, numbered in the order of its image listing)",
    query=ContactSheetQuery,
    errors=(400, 404, 409),
)
async def get_contact_sheet(request: web.Request) -> web.Response:
    dataset_id = path_int(request, "id")
    query = parse_query(request, ContactSheetQuery)
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        images = await list_images(session, dataset_id, account.id)
    if not images:
        raise Conflict(f"dataset {dataset_id} has no images yet", code="DATASET_EMPTY")
    pages = -(-len(images) // CONTACT_SHEET_PER_PAGE)
    if query.page > pages:
        raise InvalidInput(
            f"page {query.page} does not exist: the sheet has {pages} page(s)",
            code="PAGE_OUT_OF_RANGE",
            pages=pages,
        )
    first = (query.page - 1) * CONTACT_SHEET_PER_PAGE
    shown = images[first : first + CONTACT_SHEET_PER_PAGE]
    blobs = request.app[BLOBS]
    stored = [await blobs.read_bytes(image.blob_key) for image in shown]
    # Decoding is CPU work: on the pool uploads use, so the event loop never waits on it.
    draw = partial(contact_sheet, stored, first + 1)
    data = await asyncio.get_running_loop().run_in_executor(IMAGE_WORK, draw)
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "no-store"})


@routes.patch("/v1/datasets/{id}/images/{image_id}")
@describe(
    summary="Re-caption an image", body=ImagePatch, response=ImageOut, errors=(400, 403, 404)
)
async def patch_image(request: web.Request) -> web.Response:
    dataset_id, image_id = path_int(request, "id"), path_int(request, "image_id")
    body = await parse_body(request, ImagePatch)
    max_chars = request.app[SETTINGS].max_caption_chars
    async with _sessionmaker(request).begin() as session:
        account = await acting_account(request, session)
        image = await recaption_image(
            session, dataset_id, image_id, account.id, body.caption, max_chars=max_chars
        )
    return json_answer(ImageOut.of(image))


@routes.delete("/v1/datasets/{id}/images/{image_id}")
@describe(summary="Remove an image from a dataset", response=Deleted, errors=(400, 403, 404, 409))
async def delete_one_image(request: web.Request) -> web.Response:
    dataset_id, image_id = path_int(request, "id"), path_int(request, "image_id")
    sessionmaker = _sessionmaker(request)
    async with sessionmaker.begin() as session:
        account = await acting_account(request, session)
        keys = await delete_image(session, dataset_id, image_id, account.id)
    removed = await release_blobs(sessionmaker, request.app[BLOBS], keys)
    return json_answer(Deleted(deleted=True, blobs_removed=removed))


@routes.get("/v1/datasets/{id}/images/{image_id}/file")
@describe(
    summary=f"The stored (normalized) image bytes, {NORMALIZED_CONTENT_TYPE}",
    errors=(400, 404),
)
async def get_image_file(request: web.Request) -> web.StreamResponse:
    dataset_id, image_id = path_int(request, "id"), path_int(request, "image_id")
    async with _reader(request).begin() as session:
        account = await acting_account(request, session)
        key = await image_blob_key(session, request.app[BLOBS], dataset_id, image_id, account.id)
    return await blob_answer(
        request,
        request.app[BLOBS],
        key,
        {
            "Content-Type": NORMALIZED_CONTENT_TYPE,
            "Content-Disposition": f'inline; filename="image-{image_id}{NORMALIZED_SUFFIX}"',
            # Content-addressed: the bytes behind this URL never change while it exists.
            "Cache-Control": "private, max-age=86400",
        },
    )
