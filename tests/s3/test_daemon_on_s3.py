"""A daemon whose blobs live in S3 (the test SeaweedFS): an upload, an image download, a real
tiny training and a model file download all go through the bucket, and DATA_DIR/blobs stays
empty."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from core import worker_protocol as protocol
from core.blobs.s3 import S3BlobStore
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import make_account, make_dataset, user_headers
from tests.imagefactory import png_bytes
from tests.queue.conftest import TERMINAL, link_base_models, wait_for
from tests.s3_bucket import S3Bucket

pytestmark = [pytest.mark.s3, pytest.mark.slow]
USER = "telegram:8101"


async def upload_images(client: TestClient, dataset_id: int, count: int) -> list[dict[str, Any]]:
    form = aiohttp.FormData()
    for seed in range(count):
        form.add_field("image", png_bytes(64, 64, seed=seed), filename=f"{seed}.png")
    form.add_field("captions", json.dumps({f"{s}.png": "a test picture" for s in range(count)}))
    response = await client.post(
        f"/v1/datasets/{dataset_id}/images", data=form, headers=user_headers(USER)
    )
    assert response.status == 200, await response.text()
    return list((await response.json())["added"])


async def download(client: TestClient, path: str) -> bytes:
    response = await client.get(path, headers=user_headers(USER))
    assert response.status == 200, await response.text()
    return await response.read()


async def test_uploads_trainings_and_downloads_go_through_the_bucket(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    s3_bucket: S3Bucket,
) -> None:
    fields = s3_bucket.settings_fields(prefix="daemon")
    settings = make_settings(run_queue=True, lease_seconds=15.0, **fields)
    link_base_models(settings.data_dir, shared_base_models)
    client = await aiohttp_client(create_app(settings))
    assert isinstance(client.app[BLOBS], S3BlobStore)
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id="8101", balance=1000)
        dataset = await make_dataset(session, account.id)

    added = await upload_images(client, dataset.id, 4)
    stored = await s3_bucket.names("daemon/images/")
    assert len(stored) == 4
    image = await download(client, f"/v1/datasets/{dataset.id}/images/{added[0]['id']}/file")
    assert f"daemon/images/{hashlib.sha256(image).hexdigest()[:2]}" in {
        name.rsplit("/", 1)[0] for name in stored
    }

    body = {
        "dataset_id": dataset.id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "overrides": {"steps": 4},
        "idempotency_key": "s3-training",
    }
    response = await client.post("/v1/jobs", json=body, headers=user_headers(USER))
    assert response.status == 201, await response.text()
    job_id = (await response.json())["id"]

    async def finished() -> dict[str, Any] | None:
        view = json.loads(await download(client, f"/v1/jobs/{job_id}"))
        return view if view["status"] in TERMINAL else None

    view = await wait_for(finished, timeout=240, every=0.5, what="the training to finish")
    assert view["status"] == "completed", view
    model = json.loads(await download(client, f"/v1/models/{view['model_id']}"))
    lora = next(f for f in model["files"] if f["name"].endswith(".safetensors"))
    data = await download(client, f"/v1/models/{model['id']}/files/{lora['name']}")
    assert len(data) == lora["size"] and len(data) > 0
    assert any(name.startswith(f"daemon/models/job-{job_id}/") for name in await s3_bucket.names())

    blobs_dir = settings.data_dir / "blobs"
    assert not blobs_dir.exists() or not any(blobs_dir.iterdir())
    # The worker trained on downloads in the job's own folder, removed once it completed.
    inputs = (settings.data_dir / "jobs" / str(job_id) / "inputs").resolve()
    trained = protocol.JobFile.read(inputs.parent / "attempt-1.json").images
    assert len(trained) == 4 and all(image.path.is_relative_to(inputs) for image in trained)
    assert not inputs.exists()
