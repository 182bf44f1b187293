"""Cost transparency: every estimate's breakdown comes from its price rule and sums to the
cost a job is charged; a dataset shows its storage footprint and, when priced, its price."""

import math
import random
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core.breakdown import ExactPart, apportion
from core.db.models import Image, LedgerEntry
from core.economy import StoragePrice
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import make_account, make_dataset, user_headers
from tests.daemon.economy import ECONOMY, write_economy

USER = "telegram:4401"
HEADERS = user_headers(USER)


async def own_dataset(client: TestClient, images: int = 8) -> int:
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id="4401", balance=5000)
        dataset = await make_dataset(session, account.id, images=images)
        return dataset.id


def summed(breakdown: dict[str, Any]) -> int:
    return sum(item["points"] for item in breakdown["items"])


def test_apportioned_parts_always_sum_to_the_rounded_up_total() -> None:
    chance = random.Random(11)
    for _ in range(2000):
        parts = [
            ExactPart(f"p{n}", chance.uniform(0, 50) * chance.choice([1, 0.1, 0.01]), "")
            for n in range(chance.randint(1, 4))
        ]
        result = apportion(parts, {})
        exact = sum(part.points for part in parts)
        assert result.total == math.ceil(round(exact, 9))
        for part, item in zip(parts, result.items, strict=True):
            assert math.floor(round(part.points, 9)) <= item.points <= math.floor(part.points) + 1


async def test_a_training_estimate_breaks_its_cost_into_gpu_time_and_overhead(
    client: TestClient,
) -> None:
    dataset_id = await own_dataset(client)
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    answer = await (await client.post("/v1/estimate", json=body, headers=HEADERS)).json()
    # tiny-lora fast: 30 steps × 0.05 GPU-s = 1.5 GPU-s, plus 5 GPU-s overhead, at 1 point
    # per GPU-s: 6.5 → 7 points; the rounded-up point goes to the part with the fraction.
    assert answer["cost"] == 7
    breakdown = answer["breakdown"]
    assert [(i["part"], i["points"]) for i in breakdown["items"]] == [
        ("gpu_time", 2),
        ("overhead", 5),
    ]
    assert breakdown["rate"] == {"points_per_gpu_second": 1.0, "seconds_per_step": 0.05}
    assert breakdown["per_step"] == 0.05
    assert "30 steps" in breakdown["items"][0]["detail"]


async def test_every_training_breakdown_sums_to_the_points_its_job_is_charged(
    client: TestClient,
) -> None:
    dataset_id = await own_dataset(client)
    for n, overrides in enumerate(
        [{}, {"steps": 123}, {"steps": 7, "batch_size": 3}, {"resolution": 96, "steps": 999}]
    ):
        body = {
            "dataset_id": dataset_id,
            "offering_id": "tiny-lora",
            "preset": "balanced",
            "overrides": overrides,
        }
        estimate = await (await client.post("/v1/estimate", json=body, headers=HEADERS)).json()
        assert estimate["ok"], estimate["errors"]
        assert summed(estimate["breakdown"]) == estimate["cost"]
        rate = estimate["breakdown"]["rate"]
        per_step = rate["seconds_per_step"] * rate["points_per_gpu_second"]
        assert estimate["breakdown"]["per_step"] == round(per_step, 6)
        job = await client.post(
            "/v1/jobs", json={**body, "idempotency_key": f"b{n}"}, headers=HEADERS
        )
        assert job.status == 201, await job.text()
        reference = f"job:{(await job.json())['id']}"
        async with client.app[SESSIONMAKER]() as session:
            debit = await session.scalar(
                select(LedgerEntry.delta).where(LedgerEntry.reference == reference)
            )
        assert debit == -estimate["cost"]


async def test_a_caption_estimate_is_priced_per_image_and_its_parts_sum_to_the_cost(
    client: TestClient,
) -> None:
    dataset_id = await own_dataset(client, images=5)
    async with client.app[SESSIONMAKER].begin() as session:
        first = await session.scalar(select(Image).where(Image.dataset_id == dataset_id))
        assert first is not None
        first.caption = ""
    path = f"/v1/datasets/{dataset_id}/captions/estimate"
    for images, expected in (("uncaptioned", 1), ("all", 5)):
        answer = await (await client.post(path, json={"images": images}, headers=HEADERS)).json()
        assert answer["image_count"] == expected
        # The bundled captioner: 1.0 point per image.
        assert answer["cost"] == expected
        assert answer["breakdown"]["items"] == [
            {
                "part": "captioning",
                "points": expected,
                "detail": f"{expected} image(s) at 1.0 points each",
            }
        ]
        assert answer["breakdown"]["rate"] == {"points_per_image": 1.0}
        assert answer["breakdown"]["per_step"] is None


def test_a_generation_breakdown_is_the_price_rule_with_its_rounding() -> None:
    from core.offerings import Generation, GenerationBounds, IntRange

    span = IntRange(min=1, max=4096)
    generation = Generation(
        points_per_image=3.0,
        seconds_per_image=1.0,
        default_steps=20,
        bounds=GenerationBounds(steps=span, images=span, resolution=span),
    )
    for images, steps, resolution in ((1, 20, 64), (3, 7, 96), (4, 50, 32)):
        sizes = {"images": images, "steps": steps, "resolution": resolution}
        breakdown = generation.breakdown(64, **sizes)
        exact = images * (resolution / 64) ** 2 * steps / 20 * 3.0
        assert breakdown.total == generation.cost(64, **sizes) == math.ceil(round(exact, 9))
        [item] = breakdown.items
        assert (item.part, item.points) == ("rendering", breakdown.total)


async def test_a_dataset_shows_its_footprint_and_storage_is_unpriced_by_default(
    client: TestClient,
) -> None:
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id="4401")
        dataset = await make_dataset(session, account.id, images=3, blobs=client.app[BLOBS])
        sizes = list(
            await session.scalars(select(Image.byte_size).where(Image.dataset_id == dataset.id))
        )
    answer = await (await client.get(f"/v1/datasets/{dataset.id}", headers=HEADERS)).json()
    assert answer["bytes"] == sum(sizes) > 0
    assert answer["storage_points_per_month"] == 0


async def test_a_priced_storage_shows_what_a_dataset_costs_a_month(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    priced = ECONOMY + "\n[storage]\npoints_per_gb_month = 2000000\n"
    settings = make_settings(economy_file=write_economy(tmp_path, priced))
    client = await aiohttp_client(create_app(settings))
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(session, platform_user_id="4401")
        dataset = await make_dataset(session, account.id, images=2)
        rows = await session.scalars(select(Image).where(Image.dataset_id == dataset.id))
        for image in rows:
            image.byte_size = 1234  # 2 × 1234 bytes at 2,000,000 points per GB: 4.936 → 5
    answer = await (await client.get(f"/v1/datasets/{dataset.id}", headers=HEADERS)).json()
    assert (answer["bytes"], answer["storage_points_per_month"]) == (2468, 5)
    assert StoragePrice().points_per_month(10**12) == 0
    assert StoragePrice(points_per_gb_month=1.5).points_per_month(2 * 10**9) == 3
