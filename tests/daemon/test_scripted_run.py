"""A scripted run over real HTTP against a real `lorabot daemon` process on a temp DATA_DIR.

The queue is off (`LORABOT_RUN_QUEUE=false`) so the job stays queued and the cancel is the
full-refund case; the queue's own suites cover jobs that run.
"""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.demo_rpc import Rpc, demo_image
from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, logged_mismatches
from tests.imagefactory import png_bytes

ALICE = "telegram:alice"
BOB = "discord:bob"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    env = {"LORABOT_RUN_QUEUE": "false", **CHECK_ANSWERS_ENV}
    with running_daemon(tmp_path / "data", env=env) as process:
        yield process
    assert process.process.returncode == 0, process.log_tail()  # SIGTERM stops it cleanly
    assert logged_mismatches(process.log_path) == []


@pytest.fixture
async def rpc(daemon: DaemonProcess) -> AsyncIterator[Rpc]:
    async with aiohttp.ClientSession() as session:
        yield Rpc(session, daemon)


async def ledger_matches_balance(rpc: Rpc, user: str) -> int:
    """Assert the ledger sums to the balance; return the balance."""
    _, me = await rpc.call("GET", "/v1/me", user=user)
    _, ledger = await rpc.call("GET", "/v1/ledger?limit=500", user=user)
    assert sum(entry["delta"] for entry in ledger["entries"]) == me["balance"] >= 0
    return int(me["balance"])


async def grant(rpc: Rpc, account_id: int, amount: int, key: str) -> tuple[int, Any]:
    body = {"amount": amount, "reason": "scripted run", "idempotency_key": key}
    return await rpc.call("POST", f"/admin/accounts/{account_id}/grant", admin=True, json=body)


def upload_form(files: list[tuple[str, bytes]], captions: dict[str, str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field("image", data, filename=name, content_type="application/octet-stream")
    form.add_field("captions", json.dumps(captions), content_type="application/json")
    return form


def blob_files(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


async def upload_good_and_bad(rpc: Rpc, daemon: DaemonProcess, dataset_id: int) -> None:
    """One upload of good and bad files: answered file by file, nothing bad stored."""
    good = [(f"c{i}.png", demo_image(i)) for i in range(5)]
    bad = [
        ("notes.txt", b"hello, not a picture"),
        ("broken.png", png_bytes(64, 64, seed=3)[:60]),
        ("again.png", demo_image(0)),
    ]
    form = upload_form(good + bad, {name: "a red circle" for name, _ in good})
    path = f"/v1/datasets/{dataset_id}/images"
    _, uploaded = await rpc.call("POST", path, user=ALICE, data=form)
    assert [a["filename"] for a in uploaded["added"]] == [name for name, _ in good]
    assert sorted(r["filename"] for r in uploaded["refused"]) == sorted(n for n, _ in bad)
    assert all(r["code"] and r["message"] for r in uploaded["refused"])
    _, images = await rpc.call("GET", path, user=ALICE)
    assert len(images["images"]) == len(good)
    assert len(blob_files(daemon.data_dir)) == len(good)  # nothing bad was stored


async def stranger_sees_nothing(
    rpc: Rpc, dataset_id: int, job_id: int, job_body: dict[str, Any]
) -> None:
    """Another user can neither see nor use the dataset, nor see or cancel the job."""
    await rpc.call("GET", f"/v1/datasets/{dataset_id}", user=BOB, expect=(404,))
    _, theirs = await rpc.call("POST", "/v1/estimate", user=BOB, json=job_body)
    assert [e["code"] for e in theirs["errors"]] == ["DATASET_NOT_FOUND"]
    await rpc.call(
        "POST", "/v1/jobs", user=BOB, json={**job_body, "idempotency_key": "x"}, expect=(422,)
    )
    await rpc.call("GET", f"/v1/jobs/{job_id}", user=BOB, expect=(404,))
    await rpc.call("POST", f"/v1/jobs/{job_id}/cancel", user=BOB, expect=(404,))


async def test_scripted_run(daemon: DaemonProcess, rpc: Rpc) -> None:
    # Account created on first call.
    status, me = await rpc.call("GET", "/v1/me", user=ALICE)
    assert (status, me["balance"]) == (200, 0)
    account_id = me["id"]

    # A grant repeated with its key applies once.
    first, _ = await grant(rpc, account_id, 5, "welcome")
    repeat, answer = await grant(rpc, account_id, 5, "welcome")
    assert (first, repeat, answer["balance"]) == (201, 200, 5)
    assert await ledger_matches_balance(rpc, ALICE) == 5

    # Dataset, then one upload of good and bad files answered file by file.
    status, dataset = await rpc.call(
        "POST", "/v1/datasets", user=ALICE, json={"name": "circles", "trigger_word": "zqx"}
    )
    assert status == 201
    await upload_good_and_bad(rpc, daemon, dataset["id"])

    # Estimate for tiny-lora.
    job_body = {"dataset_id": dataset["id"], "offering_id": "tiny-lora", "preset": "fast"}
    _, estimate = await rpc.call("POST", "/v1/estimate", user=ALICE, json=job_body)
    assert estimate["ok"] is True and estimate["cost"] == 7

    # Short of points: 402 with the shortfall, nothing debited.
    status, refused = await rpc.call(
        "POST",
        "/v1/jobs",
        user=ALICE,
        json={**job_body, "idempotency_key": "j1"},
        expect=(402,),
    )
    assert refused["error"]["details"]["shortfall"] == 2
    assert await ledger_matches_balance(rpc, ALICE) == 5

    # Funded: the same submit sent 20 times at once with one key → one job, one debit.
    await grant(rpc, account_id, 100, "top-up")
    results = await asyncio.gather(
        *(
            rpc.call("POST", "/v1/jobs", user=ALICE, json={**job_body, "idempotency_key": "j1"})
            for _ in range(20)
        )
    )
    assert Counter(status for status, _ in results) == {201: 1, 200: 19}
    assert len({job["id"] for _, job in results}) == 1
    job = results[0][1]
    assert await ledger_matches_balance(rpc, ALICE) == 98
    _, ledger = await rpc.call("GET", "/v1/ledger", user=ALICE)
    assert [e["kind"] for e in ledger["entries"]].count("training_debit") == 1

    # Another user can neither see nor use the dataset, nor see the job.
    await stranger_sees_nothing(rpc, dataset["id"], job["id"], job_body)

    # Cancel → exact refund, once.
    _, cancelled = await rpc.call("POST", f"/v1/jobs/{job['id']}/cancel", user=ALICE)
    assert (cancelled["status"], cancelled["refunded"]) == ("cancelled", 7)
    await rpc.call("POST", f"/v1/jobs/{job['id']}/cancel", user=ALICE, expect=(409,))
    assert await ledger_matches_balance(rpc, ALICE) == 105

    # The daemon wrote structured access logs.
    lines = [line for line in daemon.log_path.read_text().splitlines() if line.startswith("{")]
    access = [json.loads(line) for line in lines if '"event": "request"' in line]
    assert any(e["route"] == "/v1/jobs" and e["status"] == 201 for e in access)
