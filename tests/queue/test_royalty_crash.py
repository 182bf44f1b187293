"""A paid use of another's dataset survives `kill -9` of the daemon on both sides of its
settlement: the failed job refunds the user and reverses the owner's royalty exactly once."""

from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, logged_mismatches
from tests.daemon.economy import write_economy
from tests.imagefactory import png_bytes
from tests.queue.conftest import kill9, link_base_models, rpc, wait_for, worker_pids

pytestmark = pytest.mark.slow

OWNER, USER = "telegram:5151", "discord:5252"


async def publish_dataset(http: aiohttp.ClientSession, daemon: DaemonProcess) -> int:
    owner = partial(rpc, http, daemon, user=OWNER)
    dataset = await owner("POST", "/v1/datasets", json={"name": "shared", "trigger_word": "zqx"})
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field(
            "image", png_bytes(64, 64, seed=i), filename=f"{i}.png", content_type="image/png"
        )
    await owner("POST", f"/v1/datasets/{dataset['id']}/images", data=form)
    publish = {"visibility": "public", "licence": "CC-BY-4.0"}
    await owner("PATCH", f"/v1/datasets/{dataset['id']}", json=publish)
    return int(dataset["id"])


async def test_a_failed_use_refunds_the_user_and_reverses_the_royalty_once_across_crashes(
    tmp_path: Path, shared_base_models: Path
) -> None:
    data_dir = tmp_path / "data"
    link_base_models(data_dir, shared_base_models)
    env = {
        "LORABOT_LEASE_SECONDS": "15",
        "LORABOT_LOG_LEVEL": "WARNING",
        # One attempt: a killed worker fails the job for good, which settles the use.
        "LORABOT_MAX_ATTEMPTS": "1",
        "LORABOT_ECONOMY_FILE": str(write_economy(tmp_path)),
        **CHECK_ANSWERS_ENV,
    }
    async with aiohttp.ClientSession() as http:
        with running_daemon(data_dir, env=env) as daemon:
            dataset_id = await publish_dataset(http, daemon)
            user = await rpc(http, daemon, "GET", "/v1/me", user=USER)
            grant = {"amount": 500, "reason": "test", "idempotency_key": "g"}
            path = f"/admin/accounts/{user['id']}/grant"
            await rpc(http, daemon, "POST", path, user=USER, admin=True, json=grant)
            body = {
                "dataset_id": dataset_id,
                "offering_id": "tiny-lora",
                "preset": "fast",
                "overrides": {"steps": 400},
                "idempotency_key": "use",
            }
            job = await rpc(http, daemon, "POST", "/v1/jobs", user=USER, json=body)
            # Debited and royalty paid; killed before anything settles the use.
            kill9(daemon.process.pid)
            daemon.process.wait(10)

        with running_daemon(data_dir, env=env) as daemon:

            async def training_worker() -> list[int]:
                view = await rpc(http, daemon, "GET", f"/v1/jobs/{job['id']}", user=USER)
                return worker_pids(daemon.process.pid) if view["status"] == "training" else []

            workers = await wait_for(training_worker, timeout=150, what="the job to train")
            kill9(workers[0])

            async def failed() -> dict[str, Any] | None:
                view = await rpc(http, daemon, "GET", f"/v1/jobs/{job['id']}", user=USER)
                return view if view["status"] == "failed" else None

            view = await wait_for(failed, timeout=120, every=0.3, what="the job to fail")
            assert view["refunded"] == job["cost"]
            # Killed again after the settlement: a restart must not settle anything twice.
            kill9(daemon.process.pid)
            daemon.process.wait(10)

        with running_daemon(data_dir, env=env) as daemon:
            books = {
                who: await rpc(http, daemon, "GET", "/v1/ledger", user=who)
                for who in (OWNER, USER)
            }
            economy = await rpc(http, daemon, "GET", "/admin/economy", user=USER, admin=True)

    kinds = {who: sorted(e["kind"] for e in book["entries"]) for who, book in books.items()}
    assert kinds[USER] == ["grant", "refund", "training_debit"]
    assert kinds[OWNER] == ["royalty", "royalty_reversal"]
    for book in books.values():
        assert book["balance"] == sum(e["delta"] for e in book["entries"])
    assert (books[USER]["balance"], books[OWNER]["balance"]) == (500, 0)
    royalty = job["cost"] // 2
    assert economy["royalties"] == {
        "uses": 1,
        "paid": royalty,
        "reversed": royalty,
        "unrecovered": 0,
    }
    assert logged_mismatches(data_dir / "daemon.log") == []
