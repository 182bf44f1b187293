"""`kill -9` of the leading replica mid-training: the other leads within seconds, requeues the
orphan, and the job completes once; everything is served through the replica it was not
submitted to."""

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import job_body, logged_mismatches
from tests.queue.conftest import (
    TERMINAL,
    kill9,
    link_base_models,
    pid_alive,
    rpc,
    wait_for,
    worker_pids,
)
from tests.replicas.conftest import funded_dataset, two_replicas

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

USER = "telegram:6262"
ENV = {"LORABOT_LEASE_SECONDS": "15"}


async def _download(http: aiohttp.ClientSession, daemon: DaemonProcess, url: str) -> str:
    headers = {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": USER}
    async with http.get(daemon.url + url, headers=headers) as response:
        assert response.status == 200, (daemon.url, url, response.status)
        return hashlib.sha256(await response.read()).hexdigest()


async def _training_with_checkpoint(
    http: aiohttp.ClientSession, b: DaemonProcess, job_id: int, checkpoints: Path
) -> dict[str, Any] | None:
    view = await rpc(http, b, "GET", f"/v1/jobs/{job_id}", user=USER)
    saved = any(checkpoints.glob("step-*/meta.json"))
    return view if view["status"] == "training" and view["progress"]["step"] and saved else None


async def test_killed_leader_hands_the_training_over_and_it_completes_once(
    tmp_path: Path,
    replica_database: str,
    shared_base_models: Path,
    http: aiohttp.ClientSession,
) -> None:
    data_dir = tmp_path / "data"
    link_base_models(data_dir, shared_base_models)
    with two_replicas(data_dir, replica_database, ENV) as (a, b):
        dataset = await funded_dataset(http, a, USER)
        body = job_body(dataset, "takeover", overrides={"steps": 20})
        job = await rpc(http, a, "POST", "/v1/jobs", user=USER, json=body)
        checkpoints = data_dir / "jobs" / str(job["id"]) / "checkpoints"

        async def progress_seen_through_b() -> dict[str, Any] | None:
            return await _training_with_checkpoint(http, b, job["id"], checkpoints)

        await wait_for(progress_seen_through_b, timeout=150, every=0.5, what="a checkpoint")
        workers = worker_pids(a.process.pid)
        assert workers and not worker_pids(b.process.pid)  # A leads; B only serves
        kill9(a.process.pid)
        a.process.wait(10)
        killed_at = time.monotonic()

        async def b_runs_it() -> list[int]:
            return worker_pids(b.process.pid)

        await wait_for(b_runs_it, timeout=15, every=0.1, what="B to lead and start the job")
        assert time.monotonic() - killed_at < 8.0
        assert not any(pid_alive(pid) for pid in workers)  # A's worker died with A

        async def finished() -> dict[str, Any] | None:
            view = await rpc(http, b, "GET", f"/v1/jobs/{job['id']}", user=USER)
            return view if view["status"] in TERMINAL else None

        view = await wait_for(finished, timeout=240, every=0.5, what="the job to finish")
        assert view["status"] == "completed", view
        me = await rpc(http, b, "GET", "/v1/me", user=USER)
        ledger = await rpc(http, b, "GET", "/v1/ledger", user=USER)
        jobs = await rpc(http, b, "GET", "/v1/jobs", user=USER)
        models = await rpc(http, b, "GET", "/v1/models", user=USER)
        notes = await rpc(http, b, "GET", "/v1/notifications?platform=telegram", user=USER)
        model = await rpc(http, b, "GET", f"/v1/models/{view['model_id']}", user=USER)
        from_b = {f["name"]: await _download(http, b, f["url"]) for f in model["files"]}
        with running_daemon(
            data_dir,
            env={**ENV, "LORABOT_DATABASE_URL": replica_database},
            log_name="replica-a-again.log",
        ) as again:
            from_a = {f["name"]: await _download(http, again, f["url"]) for f in model["files"]}

    assert from_a == from_b == {f["name"]: f["sha256"] for f in model["files"]}
    kinds = sorted(entry["kind"] for entry in ledger["entries"])
    assert kinds == ["grant", "training_debit"], json.dumps(ledger)
    assert me["balance"] == sum(e["delta"] for e in ledger["entries"]) == 500 - job["cost"]
    assert [j["id"] for j in jobs["jobs"]] == [job["id"]]
    assert [m["id"] for m in models["models"]] == [view["model_id"]]
    told = [n for n in notes["notifications"] if n["kind"] == "job_completed"]
    assert [n["payload"]["model_id"] for n in told] == [view["model_id"]]
    assert "requeued jobs of an earlier daemon" in (data_dir / "replica-b.log").read_text()
    for log in ("replica-a.log", "replica-b.log", "replica-a-again.log"):
        assert logged_mismatches(data_dir / log) == []
