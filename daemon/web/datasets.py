"""Dataset pages: the list, one dataset (thumbnails, drag-and-drop upload, captions edited in
place, visibility) and the form that starts a training on it."""

import uuid

from aiohttp import web

from core.dataset_images import image_blob_key, list_images, recaption_image
from core.datasets import (
    DatasetCreate,
    DatasetPatch,
    create_dataset,
    get_dataset,
    get_owned_dataset,
    list_datasets,
    update_dataset,
)
from core.enums import Licence, Visibility
from core.images import NORMALIZED_CONTENT_TYPE
from core.jobs import JobRequest, submit_job
from daemon.answers import blob_answer, json_answer
from daemon.keys import BLOBS, ECONOMY, OFFERINGS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.paid_requests import run_submission
from daemon.schemas import DatasetOut, ImageOut, ImagePatch, TrainForm, UploadResult
from daemon.uploads import store_upload
from daemon.validation import parse_body, path_int
from daemon.web.pages import form_fields, render, see_other
from daemon.web.sessions import person_of

routes = web.RouteTableDef()


@routes.get("/ui/datasets")
async def datasets_page(request: web.Request) -> web.Response:
    """The signed-in person's datasets."""
    account = person_of(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        rows = await list_datasets(session, account.id, include_public=False)
    datasets = [DatasetOut.of(row, viewer=account.id) for row in rows]
    return await render(request, "datasets.html", datasets=datasets)


@routes.post("/ui/datasets")
async def create_dataset_form(request: web.Request) -> web.Response:
    """Create a dataset from the list page's form."""
    account = person_of(request)
    body = DatasetCreate.model_validate(await form_fields(request))
    async with request.app[SESSIONMAKER].begin() as session:
        dataset = await create_dataset(session, account.id, body)
    raise see_other(f"/ui/datasets/{dataset.dataset.id}")


@routes.get("/ui/datasets/{id}")
async def dataset_page(request: web.Request) -> web.Response:
    """One dataset (own, unlisted or public) with its images; its owner edits it here."""
    account, dataset_id = person_of(request), path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        counted = await get_dataset(session, dataset_id, account.id)
        images = [ImageOut.of(row) for row in await list_images(session, dataset_id, account.id)]
    offerings = [o for o in request.app[OFFERINGS].all() if o.enabled]
    return await render(
        request,
        "dataset.html",
        dataset=DatasetOut.of(counted, viewer=account.id),
        images=images,
        offerings=offerings,
        visibilities=list(Visibility),
        licences=list(Licence),
        # A new key per page: a double click or a resent form makes one job, not two.
        idempotency_key=f"web-{uuid.uuid4().hex}",
        max_upload_bytes=request.app[SETTINGS].max_upload_bytes,
    )


@routes.get("/ui/datasets/{id}/images/{image_id}/file")
async def image_file_page(request: web.Request) -> web.StreamResponse:
    """An image's stored bytes (its thumbnail on the page)."""
    account = person_of(request)
    dataset_id, image_id = path_int(request, "id"), path_int(request, "image_id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        key = await image_blob_key(session, request.app[BLOBS], dataset_id, image_id, account.id)
    headers = {"Content-Type": NORMALIZED_CONTENT_TYPE, "Cache-Control": "private, max-age=86400"}
    return await blob_answer(request, request.app[BLOBS], key, headers)


@routes.post("/ui/datasets/{id}/visibility")
async def visibility_form(request: web.Request) -> web.Response:
    """Make a dataset private, unlisted or public (the RPC's PATCH rules, licence included)."""
    account, dataset_id = person_of(request), path_int(request, "id")
    fields = await form_fields(request)
    body = DatasetPatch.model_validate(
        {key: fields[key] for key in ("visibility", "licence") if key in fields}
    )
    async with request.app[SESSIONMAKER].begin() as session:
        await update_dataset(session, dataset_id, account.id, body)
    raise see_other(f"/ui/datasets/{dataset_id}")


@routes.post("/ui/datasets/{id}/train")
async def train_form(request: web.Request) -> web.Response:
    """Start a training: the same submission as `POST /v1/jobs`, keyed by the page's key."""
    account, dataset_id = person_of(request), path_int(request, "id")
    form = TrainForm.model_validate(await form_fields(request))
    job_request = JobRequest(
        dataset_id=dataset_id,
        offering_id=form.offering_id,
        preset=form.preset,
        idempotency_key=form.idempotency_key,
        overrides={} if form.steps is None else {"steps": form.steps},
    )

    async def submit() -> tuple[int, bool]:
        async with request.app[SESSIONMAKER].begin() as session:
            job, created = await submit_job(
                session,
                request.app[OFFERINGS],
                request.app[ECONOMY].market,
                account_id=account.id,
                # No chat to answer in: notifications go to the account's own identity.
                platform=None,
                platform_user_id=None,
                request=job_request,
                data_dir=request.app[SETTINGS].data_dir,
            )
            return job.id, created

    job_id, _ = await run_submission(request, submit)
    raise see_other(f"/ui/jobs/{job_id}")


@routes.post("/ui/api/datasets/{id}/images")
async def upload_api(request: web.Request) -> web.Response:
    """The drop zone's upload: the RPC's upload, each file added or refused with its reason."""
    account, dataset_id = person_of(request), path_int(request, "id")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        await get_owned_dataset(session, dataset_id, account.id)
    outcome = await store_upload(request, dataset_id, account.id)
    return json_answer(UploadResult.of(outcome))


@routes.patch("/ui/api/datasets/{id}/images/{image_id}")
async def caption_api(request: web.Request) -> web.Response:
    """A caption edited in place."""
    account = person_of(request)
    dataset_id, image_id = path_int(request, "id"), path_int(request, "image_id")
    body = await parse_body(request, ImagePatch)
    max_chars = request.app[SETTINGS].max_caption_chars
    async with request.app[SESSIONMAKER].begin() as session:
        image = await recaption_image(
            session, dataset_id, image_id, account.id, body.caption, max_chars=max_chars
        )
    return json_answer(ImageOut.of(image))
