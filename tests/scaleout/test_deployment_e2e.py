"""The whole scaled-out deployment, as docker-compose.yml runs it: two daemon replicas on one
PostgreSQL, blobs in the S3 store, GPU work on Ray worker nodes. A job submitted to replica A
trains on a worker node; its progress and its notification are read through replica B; its
model files download from either replica; neither replica keeps a blob or a latent of its own."""

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, job_body, logged_mismatches
from tests.queue.conftest import TERMINAL, link_base_models, rpc, wait_for
from tests.ray.cluster import RESOURCE, RayCluster
from tests.replicas.conftest import funded_dataset
from tests.s3_bucket import S3Bucket

pytestmark = [pytest.mark.postgres, pytest.mark.ray, pytest.mark.s3, pytest.mark.slow]

USER = "telegram:7373"


def deployment_env(
    database_url: str, bucket: S3Bucket, cluster: RayCluster, worker_data_dir: Path
) -> dict[str, str]:
    """What every replica of the deployment shares."""
    store = bucket.settings_fields(prefix="deployment")
    return {
        **CHECK_ANSWERS_ENV,
        "LORABOT_DATABASE_URL": database_url,
        "LORABOT_LOG_LEVEL": "INFO",
        "LORABOT_LEASE_SECONDS": "20",
        **{f"LORABOT_{name.upper()}": str(value) for name, value in store.items()},
        "LORABOT_EXECUTOR": "ray",
        "LORABOT_RAY_ADDRESS": cluster.address,
        "LORABOT_RAY_RESOURCE": RESOURCE,
        "LORABOT_RAY_SLOTS": "2",
        "LORABOT_RAY_WORKER_DATA_DIR": str(worker_data_dir),
        "OMP_NUM_THREADS": "1",
    }


async def _sha256(http: aiohttp.ClientSession, daemon: DaemonProcess, url: str) -> str:
    headers = {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": USER}
    async with http.get(daemon.url + url, headers=headers) as response:
        assert response.status == 200, (daemon.url, url, response.status)
        return hashlib.sha256(await response.read()).hexdigest()


async def test_submitted_to_a_trained_on_ray_served_by_b(
    tmp_path: Path,
    replica_database: str,
    s3_bucket: S3Bucket,
    ray_cluster: RayCluster,
    worker_data_dir: Path,
    shared_base_models: Path,
    http: aiohttp.ClientSession,
) -> None:
    env = deployment_env(replica_database, s3_bucket, ray_cluster, worker_data_dir)
    dirs = {name: tmp_path / name for name in ("a", "b")}  # each replica's own DATA_DIR
    for data_dir in dirs.values():
        link_base_models(data_dir, shared_base_models)
    with ExitStack() as stack:
        a, b = (
            stack.enter_context(running_daemon(data_dir, env=env)) for data_dir in dirs.values()
        )
        dataset = await funded_dataset(http, a, USER)
        job = await rpc(http, a, "POST", "/v1/jobs", user=USER, json=job_body(dataset, "scaleout"))
        seen: list[dict[str, Any]] = []

        async def finished_through_b() -> dict[str, Any] | None:
            view = await rpc(http, b, "GET", f"/v1/jobs/{job['id']}", user=USER)
            seen.append(view)
            return view if view["status"] in TERMINAL else None

        view = await wait_for(finished_through_b, timeout=300, every=0.5, what="the job")
        assert view["status"] == "completed", view
        assert any(v["status"] == "training" and v["progress"]["step"] for v in seen)
        notes = await rpc(http, b, "GET", "/v1/notifications?platform=telegram", user=USER)
        model = await rpc(http, b, "GET", f"/v1/models/{view['model_id']}", user=USER)
        expected = {f["name"]: f["sha256"] for f in model["files"]}
        for replica in (a, b):
            got = {f["name"]: await _sha256(http, replica, f["url"]) for f in model["files"]}
            assert got == expected, replica.url
        ledger = await rpc(http, b, "GET", "/v1/ledger", user=USER)

    told = [n for n in notes["notifications"] if n["kind"] == "job_completed"]
    assert [n["payload"]["model_id"] for n in told] == [view["model_id"]]
    assert sorted(e["kind"] for e in ledger["entries"]) == ["grant", "training_debit"]
    stored = await s3_bucket.names("deployment/models/")
    assert stored, "the model's files are in the shared store"
    for data_dir in dirs.values():
        blobs = data_dir / "blobs"
        assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
        assert not any((data_dir / "cache").rglob("*.safetensors"))  # no latents here
        assert logged_mismatches(data_dir / "daemon.log") == []
    assert any((worker_data_dir / "cache").rglob("*"))  # the worker node cached them
