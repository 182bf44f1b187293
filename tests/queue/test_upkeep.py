"""Upkeep on real files: the latent cache budget (LRU) and orphaned blobs."""

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.blobs import LocalBlobStore
from core.db.models import Image, LinkCode
from core.db.types import utcnow
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER, SETTINGS
from daemon.queue.setup import run_upkeep
from daemon.queue.upkeep import enforce_cache_budget, sweep_orphan_model_files
from tests.conftest import make_account, make_dataset


def test_cache_budget_deletes_least_recently_used_files_first(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "latents"
    cache.mkdir(parents=True)
    now = time.time()
    for i in range(4):
        path = cache / f"{i}.bin"
        path.write_bytes(b"x" * 100)
        os.utime(path, (now - 1000 + i * 100, now - 1000 + i * 100))
    removed, freed = enforce_cache_budget(tmp_path / "cache", budget_bytes=250)
    assert (removed, freed) == (2, 200)
    assert sorted(p.name for p in cache.iterdir()) == ["2.bin", "3.bin"]
    assert enforce_cache_budget(tmp_path / "cache", budget_bytes=250) == (0, 0)


async def test_only_old_unreferenced_model_files_are_swept(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    source = tmp_path / "lora.safetensors"
    source.write_bytes(b"weights")
    kept = await blobs.put_file("models/job-1/attempt-1", "lora.safetensors", source)
    orphan = await blobs.put_file("models/job-2/attempt-1", "lora.safetensors", source)
    young = await blobs.put_file("models/job-3/attempt-1", "lora.safetensors", source)
    image = await blobs.put_bytes(b"an image blob", namespace="images")
    old = time.time() - 7200
    for key in (kept, orphan, image):
        os.utime(blobs.path(key), (old, old))
    assert await sweep_orphan_model_files(blobs, {kept}) == 1
    assert await blobs.exists(kept) and await blobs.exists(young)
    assert await blobs.exists(image)  # images are reclaimed under the upload locks, not here
    assert not await blobs.exists(orphan)


async def test_upkeep_pass_on_a_running_daemon(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    """Expired link codes go; unreferenced image and model blobs go; referenced ones stay."""
    client = await aiohttp_client(create_app(make_settings(run_queue=True)))
    app = client.app
    blobs = app[BLOBS]
    kept = await blobs.put_bytes(b"an image a row points at", namespace="images")
    orphan = await blobs.put_bytes(b"an image nobody points at", namespace="images")
    source = app[SETTINGS].data_dir / "lora.safetensors"
    source.write_bytes(b"weights")
    model_orphan = await blobs.put_file("models/job-9/attempt-1", "lora.safetensors", source)
    old = time.time() - 7200
    os.utime(blobs.path(model_orphan), (old, old))
    async with app[SESSIONMAKER].begin() as session:
        account = await make_account(session)
        dataset = await make_dataset(session, account.id)
        session.add(
            Image(
                dataset_id=dataset.id,
                account_id=account.id,
                content_hash="0" * 64,
                blob_key=kept,
                byte_size=10,
                width=8,
                height=8,
            )
        )
        session.add(
            LinkCode(code="OLDCODE1", account_id=account.id, expires_at=utcnow() - timedelta(1))
        )
    report = await run_upkeep(app)
    assert (report.link_codes, report.orphan_blobs) == (1, 2)
    assert await blobs.exists(kept)
    assert not await blobs.exists(orphan) and not await blobs.exists(model_orphan)
