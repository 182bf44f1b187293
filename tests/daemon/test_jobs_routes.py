"""Estimate, submit, list, cancel and requeue over real HTTP on a real SQLite file."""

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Job, JobMetric
from core.enums import Visibility
from tests.conftest import ADMIN_HEADERS, job_body, make_account, make_dataset, user_headers

Maker = async_sessionmaker[AsyncSession]
ALICE = "telegram:100"
BOB = "discord:200"


async def _setup(maker: Maker, *, balance: int = 100, images: int = 8, **dataset: Any) -> int:
    async with maker.begin() as session:
        account = await make_account(session, platform_user_id="100", balance=balance)
        return (await make_dataset(session, account.id, images=images, **dataset)).id


async def _submit(
    client: TestClient, dataset_id: int, who: str = ALICE, key: str = "k1"
) -> ClientResponse:
    """POST /v1/jobs for the tiny LoRA on `dataset_id`, as `who`."""
    return await client.post("/v1/jobs", json=job_body(dataset_id, key), headers=user_headers(who))


async def test_estimate_for_tiny_lora(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, caption="")
    response = await client.post(
        "/v1/estimate",
        json={"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"},
        headers=user_headers(ALICE),
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["ok"] is True and body["errors"] == []
    assert body["cost"] == 7 and body["estimated_seconds"] == 6.5 and body["vram_gb"] == 0.5
    assert body["params"]["steps"] == 30
    assert [w["code"] for w in body["warnings"]] == ["UNCAPTIONED_IMAGES"]


async def test_estimate_lists_every_error(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, images=2, width=32, height=48)
    response = await client.post(
        "/v1/estimate",
        json={
            "dataset_id": dataset_id,
            "offering_id": "tiny-lora",
            "preset": "quality",
            "overrides": {"steps": 5000, "rank": 64},
        },
        headers=user_headers(ALICE),
    )
    body = await response.json()
    assert body["ok"] is False
    assert [e["code"] for e in body["errors"]] == ["BOUNDS_EXCEEDED", "TOO_FEW_IMAGES"]
    assert "steps=5000" in body["errors"][0]["message"]
    assert "rank=64" in body["errors"][0]["message"]
    assert [w["code"] for w in body["warnings"]] == ["SMALL_IMAGES"]
    assert body["cost"] == 5 + 5000 * 0.05 * 2  # still priced, so the user sees the effect


async def test_estimate_refusals(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker)

    async def codes(**body: Any) -> list[str]:
        payload = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast", **body}
        response = await client.post("/v1/estimate", json=payload, headers=user_headers(ALICE))
        return [e["code"] for e in (await response.json())["errors"]]

    assert await codes(offering_id="nope") == ["UNKNOWN_OFFERING"]
    assert await codes(preset="ultra") == ["UNKNOWN_PRESET"]
    assert await codes(offering_id="flux-lora") == [
        "BASE_MODEL_MISSING",
        "TOO_FEW_IMAGES",
    ]
    assert "BASE_MODEL_MISSING" in await codes(offering_id="sd15-lora")
    assert await codes(dataset_id=999) == ["DATASET_NOT_FOUND"]
    bad = await client.post(
        "/v1/estimate",
        json={"dataset_id": dataset_id, "offering_id": "tiny-lora", "overrides": {"gamma": 1}},
        headers=user_headers(ALICE),
    )
    assert bad.status == 400
    assert (await bad.json())["error"]["details"]["fields"][0]["loc"] == ["overrides", "gamma"]


async def test_submit_is_paid_idempotent_and_private(
    client: TestClient, sessionmaker: Maker
) -> None:
    dataset_id = await _setup(sessionmaker, balance=10)
    first = await _submit(client, dataset_id)
    job = await first.json()
    assert first.status == 201, job
    assert (job["status"], job["cost"], job["queue_position"]) == ("queued", 7, 1)
    assert job["params"]["trigger_word"] == "zqx" and job["params"]["family"] == "sd15"
    # Nothing ahead of it: it starts now and should take its estimate.
    assert job["starts_in_seconds"] == 0
    eta = job["estimated_seconds"]
    assert job["progress"] == {"step": 0, "total_steps": 30, "loss": None, "eta_seconds": eta}
    again = await _submit(client, dataset_id)
    assert again.status == 200 and (await again.json())["id"] == job["id"]
    other = await client.post(
        "/v1/jobs", json=job_body(dataset_id, preset="balanced"), headers=user_headers(ALICE)
    )
    assert other.status == 409
    assert (await other.json())["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    short = await _submit(client, dataset_id, key="k2")
    error = (await short.json())["error"]
    assert short.status == 402
    assert error["code"] == "INSUFFICIENT_POINTS"
    assert error["details"] == {"shortfall": 4, "balance": 3, "required": 7}
    # Someone else sees neither the job nor the dataset, and cannot train on it.
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=user_headers(BOB))).status == 404
    theirs = await _submit(client, dataset_id, BOB)
    assert theirs.status == 422
    assert (await theirs.json())["error"]["details"]["errors"][0]["code"] == "DATASET_NOT_FOUND"
    me = await (await client.get("/v1/me", headers=user_headers(ALICE))).json()
    ledger = await (await client.get("/v1/ledger", headers=user_headers(ALICE))).json()
    assert me["balance"] == 3 == sum(e["delta"] for e in ledger["entries"])
    assert [(e["kind"], e["delta"]) for e in ledger["entries"]] == [
        ("training_debit", -7),
        ("grant", 10),
    ]
    assert ledger["entries"][0]["reference"] == f"job:{job['id']}"


async def test_public_dataset_is_usable_by_others(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, visibility=Visibility.public)
    async with sessionmaker.begin() as session:
        await make_account(session, platform="discord", platform_user_id="200", balance=20)
    response = await _submit(client, dataset_id, BOB)
    assert response.status == 201, await response.text()


async def test_preflight_refusal_is_422_and_changes_nothing(
    client: TestClient, sessionmaker: Maker
) -> None:
    dataset_id = await _setup(sessionmaker, images=3)
    response = await _submit(client, dataset_id)
    body = await response.json()
    assert response.status == 422
    assert body["error"]["code"] == "PREFLIGHT_REFUSED"
    assert [e["code"] for e in body["error"]["details"]["errors"]] == ["TOO_FEW_IMAGES"]
    me = await (await client.get("/v1/me", headers=user_headers(ALICE))).json()
    assert me["balance"] == 100
    jobs = await (await client.get("/v1/jobs", headers=user_headers(ALICE))).json()
    assert jobs["jobs"] == []


async def test_cancel_refunds_exactly_once(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, balance=20)
    job = await (await _submit(client, dataset_id)).json()
    assert (
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers(BOB))
    ).status == 404
    cancelled = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers(ALICE))
    body = await cancelled.json()
    assert cancelled.status == 200, body
    assert (body["status"], body["refunded"], body["refunded_now"]) == ("cancelled", 7, 7)
    twice = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers(ALICE))
    assert (twice.status, (await twice.json())["error"]["code"]) == (409, "JOB_FINISHED")
    admin = await client.post(f"/admin/jobs/{job['id']}/cancel", headers=ADMIN_HEADERS)
    assert admin.status == 409
    me = await (await client.get("/v1/me", headers=user_headers(ALICE))).json()
    ledger = await (await client.get("/v1/ledger", headers=user_headers(ALICE))).json()
    assert me["balance"] == 20 == sum(e["delta"] for e in ledger["entries"])
    # Requeue of a refunded job is refused: its refund is settled once per job.
    requeue = await client.post(f"/admin/jobs/{job['id']}/requeue", headers=ADMIN_HEADERS)
    assert (requeue.status, (await requeue.json())["error"]["code"]) == (409, "REQUEUE_REFUNDED")


async def test_queue_positions_and_admin_views(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, balance=50)
    ids = []
    for key in ("a", "b", "c"):
        response = await client.post(
            "/v1/jobs", json=job_body(dataset_id, key), headers=user_headers(ALICE)
        )
        ids.append((await response.json())["id"])
    await client.post(f"/admin/jobs/{ids[0]}/cancel", headers=ADMIN_HEADERS)
    third = await (await client.get(f"/v1/jobs/{ids[2]}", headers=user_headers(ALICE))).json()
    assert third["queue_position"] == 2
    # Each waiting tiny job is estimated at 6.5 s; one slot works through them in turn.
    assert third["starts_in_seconds"] == 6.5
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    estimate = await client.post("/v1/estimate", json=body, headers=user_headers(ALICE))
    outlook = await estimate.json()
    assert (outlook["queue_ahead"], outlook["starts_in_seconds"]) == (2, 13.0)
    listed = await (await client.get("/admin/jobs?status=queued", headers=ADMIN_HEADERS)).json()
    assert [j["id"] for j in listed["jobs"]] == [ids[2], ids[1]]
    stats = await (await client.get("/admin/stats", headers=ADMIN_HEADERS)).json()
    assert stats["jobs_by_status"]["queued"] == 2 and stats["jobs_by_status"]["cancelled"] == 1
    assert stats["points_outstanding"] == 50 - 14
    assert stats["ledger_by_kind"] == {"grant": 50, "training_debit": -21, "refund": 7}
    accounts = await (await client.get("/admin/accounts", headers=ADMIN_HEADERS)).json()
    assert [a["balance"] for a in accounts["accounts"]] == [36]
    bad = await client.get("/admin/jobs?status=bogus", headers=ADMIN_HEADERS)
    assert bad.status == 400


async def test_job_metrics_are_the_loss_curve(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker)
    job = await (await _submit(client, dataset_id)).json()
    async with sessionmaker.begin() as session:
        session.add_all(
            JobMetric(job_id=job["id"], step=step, loss=1.0 / step, lr=1e-3) for step in (2, 1)
        )
    response = await client.get(f"/v1/jobs/{job['id']}/metrics", headers=user_headers(ALICE))
    body = await response.json()
    assert [(p["step"], p["loss"]) for p in body["points"]] == [(1, 1.0), (2, 0.5)]
    hidden = await client.get(f"/v1/jobs/{job['id']}/metrics", headers=user_headers(BOB))
    assert hidden.status == 404
    assert (await client.get("/v1/jobs/abc", headers=user_headers(ALICE))).status == 400


async def _setjob_body(maker: Maker, job_id: int, **values: Any) -> None:
    async with maker.begin() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def test_cancel_while_running_refunds_the_unused_share(
    client: TestClient, sessionmaker: Maker
) -> None:
    dataset_id = await _setup(sessionmaker, balance=20)
    job = await (await _submit(client, dataset_id)).json()
    await _setjob_body(sessionmaker, job["id"], status="training", step=15, total_steps=30)
    response = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user_headers(ALICE))
    body = await response.json()
    assert (body["status"], body["refunded_now"]) == ("cancelled", 3)  # 7 * 15 // 30
    me = await (await client.get("/v1/me", headers=user_headers(ALICE))).json()
    assert me["balance"] == 20 - 7 + 3


async def test_requeue_rules(client: TestClient, sessionmaker: Maker) -> None:
    dataset_id = await _setup(sessionmaker, balance=20)
    job = await (await _submit(client, dataset_id)).json()
    queued = await client.post(f"/admin/jobs/{job['id']}/requeue", headers=ADMIN_HEADERS)
    assert (queued.status, (await queued.json())["error"]["code"]) == (409, "JOB_NOT_REQUEUABLE")
    # A job that ended without a refund (its debit stands) may run again, at no new charge.
    await _setjob_body(sessionmaker, job["id"], status="failed", error="boom", attempts=3)
    requeued = await client.post(f"/admin/jobs/{job['id']}/requeue", headers=ADMIN_HEADERS)
    body = await requeued.json()
    assert requeued.status == 200, body
    assert (body["status"], body["attempts"], body["error"], body["queue_position"]) == (
        "queued",
        0,
        None,
        1,
    )
    me = await (await client.get("/v1/me", headers=user_headers(ALICE))).json()
    assert me["balance"] == 13
    missing = await client.post("/admin/jobs/999/requeue", headers=ADMIN_HEADERS)
    assert missing.status == 404
