"""Failures on Ray as a deployment sees them: a worker node killed mid-training, no cluster."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core.db.models import Model
from core.settings import Settings
from daemon.keys import BLOBS, SESSIONMAKER
from daemon.process import free_port
from tests.conftest import make_dataset
from tests.generation.conftest import account_of, call, finished, ledger
from tests.queue.conftest import wait_for
from tests.ray.cluster import RayCluster
from tests.ray.conftest import serve_on_ray

pytestmark = [pytest.mark.ray, pytest.mark.slow]

USER = "telegram:8201"


async def submit_training(client: TestClient, steps: int) -> dict[str, Any]:
    account_id = await account_of(client, USER, grant=500)
    async with client.app[SESSIONMAKER].begin() as session:
        dataset = await make_dataset(session, account_id, images=4, blobs=client.app[BLOBS])
    body = {
        "dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": steps}, "idempotency_key": "ray-node-kill",
    }  # fmt: skip
    return dict(await call(client, "POST", "/v1/jobs", USER, status=201, json=body))


def training_worker(cluster: RayCluster) -> int | None:
    """The pid of the training worker running on one of the cluster's worker nodes."""
    for node in cluster.workers:
        for pid in node.pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"core.training.worker" in cmdline:
                return pid
    return None


async def test_a_killed_worker_node_resumes_on_the_other_from_its_checkpoint(
    aiohttp_client: Any,
    ray_settings: Callable[..., Settings],
    ray_cluster: RayCluster,
    shared_base_models: Path,
    shared_captioner: Path,
) -> None:
    settings = ray_settings()
    client = await serve_on_ray(aiohttp_client, settings, shared_base_models, shared_captioner)
    job = await submit_training(client, steps=30)  # a checkpoint every 3 steps
    checkpoints = settings.data_dir / "jobs" / str(job["id"]) / "checkpoints"

    async def running_with_a_checkpoint_here() -> int | None:
        view = await call(client, "GET", f"/v1/jobs/{job['id']}", USER)
        shipped = any(checkpoints.glob("step-*/meta.json"))
        return training_worker(ray_cluster) if view["status"] == "training" and shipped else None

    worker = await wait_for(running_with_a_checkpoint_here, timeout=240, what="a checkpoint")
    node = ray_cluster.node_of(worker)
    assert node is not None
    try:
        node.kill()  # raylet, agents, the actor and its worker: the whole host at once
        done = await finished(client, USER, job["id"], timeout=300, route="jobs")
    finally:
        ray_cluster.nodes.remove(node)
        ray_cluster.add_worker(f"{node.name}-again")  # the next tests get two nodes again
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    async with client.app[SESSIONMAKER]() as session:
        models = list(await session.scalars(select(Model).where(Model.job_id == job["id"])))
    assert len(models) == 1  # no duplicate model
    assert models[0].summary["stats"]["resumed_from_step"] >= 3  # from the shipped checkpoint
    _, entries = await ledger(client, USER)
    assert sorted(e["kind"] for e in entries) == ["grant", "training_debit"]  # one debit
    ray_cluster.wait_ready(2)


async def test_an_unreachable_cluster_fails_the_start_and_the_lifecycle_settles_it(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared_base_models: Path,
    shared_captioner: Path,
) -> None:
    settings = make_settings(
        run_queue=True,
        executor="ray",
        ray_address=f"127.0.0.1:{free_port()}",  # nothing listens there
        ray_resource="lorabot_gpu",
        max_attempts=2,
    )
    client = await serve_on_ray(aiohttp_client, settings, shared_base_models, shared_captioner)
    job = await submit_training(client, steps=2)
    done = await finished(client, USER, job["id"], timeout=60, route="jobs")
    assert (done["status"], done["attempts"]) == ("failed", 2), done
    assert "could not start a worker" in done["error"] and "unreachable" in done["error"]
    balance, entries = await ledger(client, USER)
    assert sorted(e["kind"] for e in entries) == ["grant", "refund", "training_debit"]
    assert balance == 500
