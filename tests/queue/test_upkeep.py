"""Upkeep on real files: the latent cache budget (LRU) and orphaned blobs."""

import os
import time
from pathlib import Path

from core.blobs import BlobStore
from daemon.queue.upkeep import enforce_cache_budget, sweep_orphan_blobs


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


def test_only_old_unreferenced_blobs_are_swept(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    kept = blobs.put_bytes(b"referenced")
    orphan = blobs.put_bytes(b"orphan")
    young = blobs.put_bytes(b"young orphan")
    source = tmp_path / "lora.safetensors"
    source.write_bytes(b"weights")
    model_orphan = blobs.put_file("models/job-1/attempt-1", "lora.safetensors", source)
    old = time.time() - 7200
    for key in (kept, orphan, model_orphan):
        os.utime(blobs.path(key), (old, old))
    assert sweep_orphan_blobs(blobs, {kept}) == 2
    assert blobs.exists(kept) and blobs.exists(young)
    assert not blobs.exists(orphan) and not blobs.exists(model_orphan)
