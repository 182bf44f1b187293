"""Generation requests over real HTTP (queue off): prices, bounds, others' items, keys and
quotes — and nothing charged whenever a request is refused."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.db.models import Job, PaidUse
from core.enums import Visibility
from core.settings import BUNDLED_OFFERINGS
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from daemon.queue import upkeep
from tests.daemon.economy import write_economy
from tests.generation.conftest import PROMPT, account_of, call, generation_body, ledger, model_of


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the test's DATA_DIR) or the module's PostgreSQL database."""
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


# Every bundled offering generates: this one, beside them, trains only.
TRAIN_ONLY = """
[offerings.train-only-lora]
title = "Trains, never generates"
family = "tiny"
base_model = "builtin:tiny-sd15"
resolution = 64
min_images = 4
max_images = 200
bounds = { steps = { min = 1, max = 100 }, rank = { min = 1, max = 8 }, alpha = { min = 0.5, max = 8.0 }, learning_rate = { min = 1e-6, max = 1e-2 }, batch_size = { min = 1, max = 2 }, resolution = { min = 32, max = 64 } }
pricing = { points_per_gpu_second = 1.0, seconds_per_step = 0.05, base_seconds = 5.0, vram_gb = 0.5 }

[offerings.train-only-lora.presets]
fast = { steps = 10, rank = 4, alpha = 4.0, learning_rate = 1e-3, batch_size = 1, resolution = 64 }
"""  # noqa: E501


@pytest.fixture
async def client(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path, database_url: str | None
) -> TestClient:
    offerings = tmp_path / "offerings.toml"
    offerings.write_text(BUNDLED_OFFERINGS.read_text(encoding="utf-8") + TRAIN_ONLY, "utf-8")
    settings = make_settings(
        database_url=database_url,
        economy_file=write_economy(tmp_path),  # royalty_share 0.5
        offerings_file=offerings,
    )
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def alice() -> str:
    """A person of this test alone (a module's tests share its PostgreSQL database)."""
    return f"telegram:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def bob() -> str:
    return f"discord:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def lora(tmp_path: Path) -> Path:
    """A stand-in LoRA file: these requests are priced and queued, never rendered."""
    path = tmp_path / "pytorch_lora_weights.safetensors"
    path.write_bytes(b"weights")
    return path


def asked(body: dict[str, Any]) -> dict[str, Any]:
    """A submit body without what only a submit takes: the estimate's body."""
    return {k: v for k, v in body.items() if k not in {"idempotency_key", "quote_id"}}


async def jobs_and_uses(client: TestClient, *users: str) -> tuple[int, int]:
    """The generations and paid uses of these people."""
    ids = [await account_of(client, user) for user in users]
    async with client.app[SESSIONMAKER]() as session:
        jobs = await session.scalar(
            select(func.count(Job.id)).where(Job.kind == "generate", Job.account_id.in_(ids))
        )
        uses = await session.scalar(select(func.count(PaidUse.id)).where(PaidUse.user_id.in_(ids)))
    return int(jobs or 0), int(uses or 0)


async def test_the_estimate_prices_images_and_warns_without_the_trigger_word(
    client: TestClient, lora: Path, alice: str
) -> None:
    model = await model_of(client, alice, lora)
    body = {"model_id": model, "prompt": "a red circle", "count": 2}
    estimate = await call(client, "POST", "/v1/generations/estimate", alice, json=body)
    assert estimate["ok"] and estimate["errors"] == []
    # tiny-lora: 2 points an image at 8 steps and 64 px; own model: no price per use.
    assert (estimate["cost"], estimate["price_per_use"], estimate["image_count"]) == (4, 0, 2)
    assert estimate["estimated_seconds"] == 2.0
    assert estimate["params"] | {"steps": 8, "resolution": 64, "seed": None} == estimate["params"]
    assert [w["code"] for w in estimate["warnings"]] == ["TRIGGER_WORD_MISSING"]
    assert estimate["quote"]["cost"] == 4

    sheet = {"model_id": model, "prompt": PROMPT, "strengths": [0, 0.5, 1], "steps": 16}
    priced = await call(client, "POST", "/v1/generations/estimate", alice, json=sheet)
    assert (priced["cost"], priced["image_count"], priced["warnings"]) == (12, 3, [])
    # A sheet is bounded by its strengths (2..8), not by the images a request may ask (1..4).
    five = sheet | {"strengths": [0, 0.4, 0.7, 1.0, 1.2], "steps": 8}
    priced = await call(client, "POST", "/v1/generations/estimate", alice, json=five)
    assert (priced["ok"], priced["cost"], priced["image_count"]) == (True, 10, 5)


async def test_anothers_published_model_costs_its_price_per_use_and_pays_a_royalty(
    client: TestClient, lora: Path, alice: str, bob: str
) -> None:
    model = await model_of(client, alice, lora, visibility=Visibility.public, price_per_use=10)
    await account_of(client, bob, grant=100)
    body = generation_body(model, "g1", count=1)
    estimate = await call(client, "POST", "/v1/generations/estimate", bob, json=asked(body))
    assert (estimate["cost"], estimate["price_per_use"]) == (2 + 10, 10)
    # The breakdown: the compute by the offering's rule, then the owner's price per use.
    parts = [(item["part"], item["points"]) for item in estimate["breakdown"]["items"]]
    assert parts == [("rendering", 2), ("price_per_use", 10)]
    assert estimate["breakdown"]["rate"] == {"points_per_image": 2.0, "default_steps": 8}
    body["quote_id"] = estimate["quote"]["id"]
    created = await call(client, "POST", "/v1/generations", bob, status=201, json=body)
    assert created["status"] == "queued" and created["cost"] == 12
    assert isinstance(created["seed"], int)  # picked by the daemon, recorded in the job
    again = await call(client, "POST", "/v1/generations", bob, json=body)
    assert (again["id"], again["seed"], again["cost"]) == (created["id"], created["seed"], 12)

    bob_balance, bob_entries = await ledger(client, bob)
    alice_balance, alice_entries = await ledger(client, alice)
    assert (bob_balance, alice_balance) == (100 - 12, 5)  # royalty_share 0.5 of the price
    assert sorted(e["kind"] for e in bob_entries) == ["generation_debit", "grant"]
    assert [e["kind"] for e in alice_entries] == ["royalty"]
    job = await call(client, "GET", f"/v1/jobs/{created['id']}", bob)
    assert job["kind"] == "generate" and job["params"]["seed"] == created["seed"]

    cancelled = await call(client, "POST", f"/v1/jobs/{created['id']}/cancel", bob)
    assert cancelled["refunded_now"] == 12
    assert ((await ledger(client, bob))[0], (await ledger(client, alice))[0]) == (100, 0)


async def test_anothers_private_model_looks_missing_and_costs_nothing(
    client: TestClient, lora: Path, alice: str, bob: str
) -> None:
    hidden = await model_of(client, alice, lora)
    await account_of(client, bob, grant=100)
    answers = []
    for model_id in (hidden, 10**12):
        body = generation_body(model_id, f"k{model_id}")
        estimate = await call(client, "POST", "/v1/generations/estimate", bob, json=asked(body))
        refused = await call(client, "POST", "/v1/generations", bob, status=422, json=body)
        codes = [e["code"] for e in refused["error"]["details"]["errors"]]
        answers.append((estimate["ok"], [e["code"] for e in estimate["errors"]], codes))
        assert str(model_id) in refused["error"]["message"]
    assert answers[0] == answers[1] == (False, ["MODEL_NOT_FOUND"], ["MODEL_NOT_FOUND"])
    assert (await ledger(client, bob))[0] == 100
    assert await jobs_and_uses(client, alice, bob) == (0, 0)


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"count": 5}, "images=5 is outside 1..4"),
        ({"steps": 51}, "steps=51 is outside 1..50"),
        ({"resolution": 256}, "resolution=256 is outside 32..128"),
        ({"resolution": 100}, "resolution=100 is not a multiple of 8"),
    ],
)
async def test_out_of_bounds_is_refused_with_the_limits_and_charges_nothing(
    client: TestClient, lora: Path, alice: str, fields: dict[str, Any], complaint: str
) -> None:
    model = await model_of(client, alice, lora)
    await account_of(client, alice, grant=100)
    body = generation_body(model, "k", **fields)
    refused = await call(client, "POST", "/v1/generations", alice, status=422, json=body)
    errors = refused["error"]["details"]["errors"]
    assert [e["code"] for e in errors] == ["BOUNDS_EXCEEDED"] and complaint in errors[0]["message"]
    assert (await ledger(client, alice))[0] == 100
    assert await jobs_and_uses(client, alice) == (0, 0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"strengths": [0, 1], "count": 2}, "count must be 1"),
        ({"strengths": [1.0]}, "strengths"),
        ({"strengths": [0, 1, 2, 0, 1, 2, 0, 1, 2]}, "strengths"),
        ({"strength": 2.5}, "strength"),
        ({"strength": True}, "strength"),
        ({"prompt": "   "}, "white space"),
        ({"prompt": "a\x00b"}, "control characters"),
        ({"prompt": "x" * 1001}, "prompt"),
        ({"count": 0}, "count"),
        ({"seed": -1}, "seed"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_malformed_requests_are_400_and_charge_nothing(
    client: TestClient, lora: Path, alice: str, fields: dict[str, Any], field: str
) -> None:
    model = await model_of(client, alice, lora)
    await account_of(client, alice, grant=100)
    refused = await call(
        client, "POST", "/v1/generations", alice, status=400, json=generation_body(model, "k")
        | fields
    )  # fmt: skip
    assert refused["error"]["code"] == "INVALID_INPUT" and field in str(refused["error"])
    assert await jobs_and_uses(client, alice) == (0, 0)


async def test_unavailable_generation_insufficient_points_and_key_conflicts(
    client: TestClient, lora: Path, alice: str
) -> None:
    plain = await model_of(client, alice, lora, offering_id="train-only-lora")
    refused = await call(
        client, "POST", "/v1/generations", alice, status=422, json=generation_body(plain, "f")
    )
    errors = refused["error"]["details"]["errors"]
    assert [e["code"] for e in errors] == ["GENERATION_UNAVAILABLE"]
    assert "does not offer generation" in errors[0]["message"]

    model = await model_of(client, alice, lora)
    poor = await call(
        client, "POST", "/v1/generations", alice, status=402, json=generation_body(model, "p")
    )
    assert poor["error"]["code"] == "INSUFFICIENT_POINTS"
    await account_of(client, alice, grant=10)
    first = generation_body(model, "same", seed=3)
    await call(client, "POST", "/v1/generations", alice, status=201, json=first)
    other = await call(
        client, "POST", "/v1/generations", alice, status=409, json=first | {"seed": 4}
    )
    assert other["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert (await ledger(client, alice))[0] == 10 - 2


async def test_a_changed_price_refuses_the_quote_with_a_fresh_one(
    client: TestClient, lora: Path, alice: str, bob: str
) -> None:
    model = await model_of(client, alice, lora, visibility=Visibility.public, price_per_use=10)
    await account_of(client, bob, grant=100)
    body = generation_body(model, "q")
    estimate = await call(client, "POST", "/v1/generations/estimate", bob, json=asked(body))
    quote = estimate["quote"]
    await call(client, "PATCH", f"/v1/models/{model}", alice, json={"price_per_use": 20})
    refused = await call(
        client, "POST", "/v1/generations", bob, status=409, json=body | {"quote_id": quote["id"]}
    )
    error = refused["error"]
    assert (error["code"], error["details"]["quoted"], error["details"]["cost"]) == (
        "QUOTE_CHANGED", 12, 22,
    )  # fmt: skip
    assert (await ledger(client, bob))[0] == 100
    fresh = body | {"quote_id": error["details"]["quote"]["id"]}
    assert (await call(client, "POST", "/v1/generations", bob, status=201, json=fresh))[
        "cost"
    ] == 22


async def test_generations_are_their_owners_alone(
    client: TestClient, lora: Path, alice: str, bob: str
) -> None:
    model = await model_of(client, alice, lora, visibility=Visibility.public)
    await account_of(client, bob, grant=20)
    mine = await call(
        client, "POST", "/v1/generations", bob, status=201, json=generation_body(model, "m")
    )
    listed = await call(client, "GET", "/v1/generations", bob)
    assert [g["id"] for g in listed["generations"]] == [mine["id"]]
    assert (await call(client, "GET", "/v1/generations", alice))["generations"] == []
    for path in (f"/v1/generations/{mine['id']}", f"/v1/generations/{mine['id']}/files/x.png"):
        await call(client, "GET", path, alice, status=404)
    await call(client, "GET", f"/v1/generations/{mine['id']}/files/image-0.png", bob, status=404)


async def test_upkeep_keeps_the_images_a_result_names_and_sweeps_orphans(
    client: TestClient, lora: Path, alice: str, tmp_path: Path
) -> None:
    blobs = client.app[BLOBS]
    kept = await blobs.put_file("generations/job-1/attempt-1", "image-0.png", lora)
    orphan = await blobs.put_file("generations/job-2/attempt-1", "image-0.png", lora)
    account = await account_of(client, alice)
    async with client.app[SESSIONMAKER].begin() as session:
        result = {"images": [{"name": "image-0.png", "key": kept}], "sheet": None}
        session.add(
            Job(account_id=account, kind="generate", offering_id="tiny-lora", preset="",
                params={}, overrides={}, result=result, cost=0, idempotency_key="u",
                request_hash="h", reply_to={})
        )  # fmt: skip
    async with client.app[SESSIONMAKER]() as session:
        referenced = await upkeep.referenced_model_keys(session)
    assert await upkeep.sweep_orphan_model_files(blobs, referenced, min_age_seconds=0) == 1
    assert await blobs.exists(kept) and not await blobs.exists(orphan)
