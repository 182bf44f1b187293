"""All three job kinds through the Ray executor on a real local cluster, with real tiny models.

The daemon (`create_app`, this test process its Ray driver) runs on the head node, which offers
none of the GPU stand-in; the workers run on the two worker nodes with their own DATA_DIR.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.settings import Settings
from daemon.executors.ray import RayExecutor
from daemon.keys import BLOBS, EXECUTOR, SESSIONMAKER
from tests.captioning.conftest import caption_body, captioning_dataset, images_of
from tests.conftest import make_dataset, user_headers
from tests.generation.conftest import account_of, call, finished, generation_body, ledger
from tests.ray.conftest import serve_on_ray

pytestmark = [pytest.mark.ray, pytest.mark.slow]

USER = "telegram:8101"
STEPS = 4  # a checkpoint, with its sample, at every step


async def download(client: TestClient, url: str) -> tuple[int, str, bytes]:
    response = await client.get(url, headers=user_headers(USER))
    return response.status, response.content_type, await response.read()


async def train(client: TestClient) -> dict[str, Any]:
    account_id = await account_of(client, USER, grant=500)
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, account_id, images=4, blobs=client.app[BLOBS])
    body = {
        "dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": STEPS}, "idempotency_key": "ray-train",
    }  # fmt: skip
    job = await call(client, "POST", "/v1/jobs", USER, status=201, json=body)
    done = await finished(client, USER, job["id"], timeout=300, route="jobs")
    assert done["status"] == "completed", done
    return dict(done)


async def test_train_generate_and_caption_run_on_the_cluster(
    aiohttp_client: Any,
    ray_settings: Callable[..., Settings],
    shared_base_models: Path,
    shared_captioner: Path,
    worker_data_dir: Path,
) -> None:
    settings = ray_settings()
    client = await serve_on_ray(aiohttp_client, settings, shared_base_models, shared_captioner)
    assert isinstance(client.app[EXECUTOR], RayExecutor)

    trained = await train(client)
    listed = await call(client, "GET", f"/v1/jobs/{trained['id']}/checkpoints", USER)
    # Every step but the last, which is the model itself.
    assert [c["step"] for c in listed["checkpoints"]] == list(range(1, STEPS))
    for checkpoint in listed["checkpoints"]:
        sample = next(f for f in checkpoint["files"] if f["name"] == checkpoint["sample"])
        status, media, data = await download(client, sample["url"])
        assert (status, media, len(data)) == (200, "image/png", sample["size"])
    model = await call(client, "GET", f"/v1/models/{trained['model_id']}", USER)
    for role in ("lora_kohya", "lora_diffusers"):
        entry = next(f for f in model["files"] if f["role"] == role)
        status, _, data = await download(client, entry["url"])
        assert (status, len(data)) == (200, entry["size"]) and data[8:9] == b"{"  # safetensors
    # What a local worker leaves, the Ray one left too: the job file and its log.
    job_dir = settings.data_dir / "jobs" / str(trained["id"])
    assert {p.name for p in job_dir.iterdir()} >= {"attempt-1.json", "attempt-1.log"}
    # The workers used their host's DATA_DIR (latent cache), not the daemon's.
    assert any((worker_data_dir / "cache").rglob("*.safetensors"))
    assert not (settings.data_dir / "cache").exists()

    body = generation_body(trained["model_id"], "ray-gen", count=2, seed=5, steps=1)
    created = await call(client, "POST", "/v1/generations", USER, status=201, json=body)
    generated = await finished(client, USER, created["id"], timeout=240)
    assert generated["status"] == "completed", generated
    assert [image["name"] for image in generated["images"]] == ["image-0.png", "image-1.png"]
    for image in generated["images"]:
        status, media, data = await download(client, image["url"])
        assert (status, media, len(data)) == (200, "image/png", image["size"])

    dataset_id = await captioning_dataset(client, "discord:8102", images=3)
    path = f"/v1/datasets/{dataset_id}/captions"
    job = await call(client, "POST", path, "discord:8102", status=201, json=caption_body())
    captioned = await finished(client, "discord:8102", job["id"], timeout=240, route="jobs")
    assert captioned["status"] == "completed", captioned
    assert all(image["caption"] for image in await images_of(client, "discord:8102", dataset_id))

    _, entries = await ledger(client, USER)
    assert sorted(e["kind"] for e in entries) == ["generation_debit", "grant", "training_debit"]
    assert not client.app[EXECUTOR].running()
