"""`kill -9` of a real `lorabot daemon` mid-training, then a restart on the same DATA_DIR."""

import json
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, logged_mismatches
from tests.imagefactory import png_bytes
from tests.queue.conftest import (
    TERMINAL,
    kill9,
    link_base_models,
    pid_alive,
    rpc,
    wait_for,
    worker_pids,
)

pytestmark = pytest.mark.slow

USER = "telegram:4242"
ENV = {"LORABOT_LEASE_SECONDS": "15", "LORABOT_LOG_LEVEL": "WARNING", **CHECK_ANSWERS_ENV}


call = partial(rpc, user=USER)


async def submit_job(http: aiohttp.ClientSession, daemon: DaemonProcess) -> dict[str, Any]:
    me = await call(http, daemon, "GET", "/v1/me")
    grant = {"amount": 500, "reason": "test", "idempotency_key": "crash-grant"}
    await call(http, daemon, "POST", f"/admin/accounts/{me['id']}/grant", admin=True, json=grant)
    dataset = await call(
        http, daemon, "POST", "/v1/datasets", json={"name": "crash", "trigger_word": "zqx"}
    )
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field(
            "image", png_bytes(64, 64, seed=i), filename=f"{i}.png", content_type="image/png"
        )
    await call(http, daemon, "POST", f"/v1/datasets/{dataset['id']}/images", data=form)
    body = {
        "dataset_id": dataset["id"],
        "offering_id": "tiny-lora",
        "preset": "fast",
        "overrides": {"steps": 20},
        "idempotency_key": "crash-job",
    }
    return dict(await call(http, daemon, "POST", "/v1/jobs", json=body))


async def test_killed_daemon_leaves_no_job_stuck_lost_or_charged_twice(
    tmp_path: Path, shared_base_models: Path
) -> None:
    data_dir = tmp_path / "data"
    link_base_models(data_dir, shared_base_models)
    async with aiohttp.ClientSession() as http:
        with running_daemon(data_dir, env=ENV) as daemon:
            job = await submit_job(http, daemon)
            checkpoints = data_dir / "jobs" / str(job["id"]) / "checkpoints"

            async def training_with_checkpoint() -> list[int]:
                view = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}")
                ready = view["status"] == "training" and any(checkpoints.glob("step-*/meta.json"))
                return worker_pids(daemon.process.pid) if ready else []

            workers = await wait_for(training_with_checkpoint, timeout=150, what="a checkpoint")
            kill9(daemon.process.pid)
            daemon.process.wait(10)

            async def workers_gone() -> bool:
                return not any(pid_alive(pid) for pid in workers)

            await wait_for(workers_gone, timeout=10, what="orphaned workers to exit")

        with running_daemon(data_dir, env=ENV) as daemon:

            async def finished() -> dict[str, Any] | None:
                view = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}")
                return view if view["status"] in TERMINAL else None

            view = await wait_for(finished, timeout=240, every=0.5, what="the job to finish")
            assert view["status"] == "completed", view
            me = await call(http, daemon, "GET", "/v1/me")
            ledger = await call(http, daemon, "GET", "/v1/ledger")
            jobs = await call(http, daemon, "GET", "/v1/jobs")

    kinds = sorted(entry["kind"] for entry in ledger["entries"])
    assert kinds == ["grant", "training_debit"], json.dumps(ledger)
    assert me["balance"] == sum(entry["delta"] for entry in ledger["entries"]) == 500 - job["cost"]
    assert [j["id"] for j in jobs["jobs"]] == [job["id"]]
    assert logged_mismatches(data_dir / "daemon.log") == []
