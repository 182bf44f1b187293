"""A job trains on the images that were priced: later uploads and deletions leave its set."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.dataset_images import reclaim_orphan_blobs, release_blobs
from core.db.migrate import alembic_config
from core.db.models import Image
from core.db.session import create_engine
from core.errors import NotFound
from core.job_images import training_files
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import make_account, make_dataset, user_headers
from tests.imagefactory import png_bytes
from tests.queue.conftest import TERMINAL, link_base_models, wait_for

Maker = async_sessionmaker[AsyncSession]
USER = "telegram:7001"


async def submit_on_new_dataset(
    client: TestClient, maker: Maker, **overrides: int
) -> tuple[int, int, list[str]]:
    """A funded account uploads 4 images and submits a tiny-lora job: job, dataset, blob keys."""
    async with maker.begin() as session:
        account = await make_account(session, platform_user_id="7001", balance=100)
        dataset = await make_dataset(session, account.id)
    for seed in range(4):
        await upload(client, dataset.id, seed=seed)
    async with maker() as session:
        keys = list(
            await session.scalars(
                select(Image.blob_key).where(Image.dataset_id == dataset.id).order_by(Image.id)
            )
        )
    body = {
        "dataset_id": dataset.id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "idempotency_key": "snap",
        "overrides": overrides,
    }
    response = await client.post("/v1/jobs", json=body, headers=user_headers(USER))
    assert response.status == 201, await response.text()
    return int((await response.json())["id"]), dataset.id, keys


async def upload(client: TestClient, dataset_id: int, seed: int) -> None:
    form = aiohttp.FormData()
    form.add_field("image", png_bytes(64, 64, seed=seed), filename=f"{seed}.png")
    form.add_field("captions", json.dumps({f"{seed}.png": "a test picture"}))
    response = await client.post(
        f"/v1/datasets/{dataset_id}/images", data=form, headers=user_headers(USER)
    )
    assert response.status == 200, await response.text()
    assert len((await response.json())["added"]) == 1


async def drop_image_row(maker: Maker, blobs: BlobStore, key: str) -> int:
    """Delete an image row as a deletion would, then release its blob as the route does."""
    async with maker.begin() as session:
        await session.execute(delete(Image).where(Image.blob_key == key))
    return await release_blobs(maker, blobs, [key])


async def test_the_training_set_is_the_one_priced_and_its_blobs_outlive_the_images(
    client: TestClient, sessionmaker: Maker, tmp_path: Path
) -> None:
    blobs = client.app[BLOBS]
    job_id, dataset_id, keys = await submit_on_new_dataset(client, sessionmaker)
    await upload(client, dataset_id, seed=99)  # added after submit: not trained
    assert await drop_image_row(sessionmaker, blobs, keys[0]) == 0  # the job still needs it
    assert await reclaim_orphan_blobs(sessionmaker, blobs) == 0  # so does the periodic sweep
    assert await blobs.exists(keys[0])

    async with sessionmaker() as session:
        files = await training_files(session, blobs, job_id, tmp_path)
    assert files == [(blobs.path(key), "a test picture") for key in keys]

    cancelled = await client.post(f"/v1/jobs/{job_id}/cancel", headers=user_headers(USER))
    assert cancelled.status == 200, await cancelled.text()
    # Finished: nothing needs the deleted image's blob any more; the others' rows keep theirs.
    assert await reclaim_orphan_blobs(sessionmaker, blobs) == 1
    assert not await blobs.exists(keys[0])
    assert all([await blobs.exists(key) for key in keys[1:]])


async def test_a_training_set_with_a_lost_file_cannot_train(
    client: TestClient, sessionmaker: Maker, tmp_path: Path
) -> None:
    blobs = client.app[BLOBS]
    job_id, _, keys = await submit_on_new_dataset(client, sessionmaker)
    await blobs.delete(keys[2])
    async with sessionmaker() as session:
        with pytest.raises(NotFound) as refused:
            await training_files(session, blobs, job_id, tmp_path)
    assert refused.value.code == "IMAGE_FILE_MISSING"


async def test_the_migration_gives_waiting_jobs_their_datasets_images(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, command.upgrade, "0001")
            for statement in SEED:
                await connection.execute(text(statement))
            await connection.run_sync(_migrate, command.upgrade, "0002")
            rows = await connection.execute(
                text("SELECT job_id, position, blob_key FROM job_images ORDER BY 1, 2")
            )
            assert [tuple(row) for row in rows] == [(1, 0, "a"), (1, 1, "b")]
            await connection.run_sync(_migrate, command.downgrade, "0001")
            left = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE name = 'job_images'")
            )
            assert left.all() == []
    finally:
        await engine.dispose()


# A queued job (1) and a completed one (2) on a dataset of two images.
SEED = [
    "INSERT INTO accounts (id, balance) VALUES (1, 0)",
    "INSERT INTO datasets (id, account_id, name, description, tags, visibility)"
    " VALUES (1, 1, 'd', '', '[]', 'private')",
    "INSERT INTO images (dataset_id, account_id, content_hash, blob_key, byte_size, width,"
    " height, caption, original_filename)"
    " VALUES (1, 1, 'h1', 'a', 1, 8, 8, '', ''), (1, 1, 'h2', 'b', 1, 8, 8, '', '')",
    *(
        "INSERT INTO jobs (id, account_id, dataset_id, offering_id, preset, params, overrides,"
        " cost, estimated_seconds, idempotency_key, request_hash, reply_to, status, step,"
        " total_steps, attempts, refunded, cancel_requested, fencing_token)"
        f" VALUES ({job_id}, 1, 1, 'tiny-lora', 'fast', '{{}}', '{{}}', 0, 0, 'k{job_id}', 'h',"
        f" '{{}}', '{status}', 0, 0, 0, 0, 0, 0)"
        for job_id, status in ((1, "queued"), (2, "completed"))
    ),
]


def _migrate(connection: Connection, action: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config, revision)


@pytest.mark.slow
async def test_a_worker_trains_on_the_priced_images_only(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
) -> None:
    """Submitted while the queue is off; changed; then a daemon with a queue trains it."""
    quiet = await aiohttp_client(create_app(make_settings()))
    maker, blobs = quiet.app[SESSIONMAKER], quiet.app[BLOBS]
    job_id, dataset_id, keys = await submit_on_new_dataset(quiet, maker, steps=4)
    await upload(quiet, dataset_id, seed=99)
    assert await drop_image_row(maker, blobs, keys[0]) == 0

    settings = make_settings(run_queue=True, lease_seconds=15.0)
    link_base_models(settings.data_dir, shared_base_models)
    busy = await aiohttp_client(create_app(settings))

    async def finished() -> dict[str, Any] | None:
        response = await busy.get(f"/v1/jobs/{job_id}", headers=user_headers(USER))
        view = dict(await response.json())
        return view if view["status"] in TERMINAL else None

    view = await wait_for(finished, timeout=180, every=0.5, what="the job to finish")
    assert view["status"] == "completed", view
    job_file = settings.data_dir / "jobs" / str(job_id) / "attempt-1.json"
    trained = protocol.JobFile.read(job_file).images
    assert [image.path for image in trained] == [blobs.path(key).resolve() for key in keys]
    # Finished: the deleted image's blob is no longer needed; the others' rows keep theirs.
    assert await release_blobs(maker, blobs, keys) == 1
