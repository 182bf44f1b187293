"""Hostile numbers over real HTTP, class by class: JSON beyond the decoder's limits, overrides
past every bound, ack ids past BIGINT, loose numbers where money and ids are strict integers.
Each answers a clear 4xx and changes nothing.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import (
    ADMIN_HEADERS,
    RPC_HEADERS,
)
from tests.daemon.hostile import HEADERS, Maker, World, send_json, snapshot

# --- 4. JSON beyond the decoder's limits, on every JSON route

DEEP = {
    "nested 33 deep in a field": lambda body: {**body, "x": json.loads("[" * 33 + "]" * 33)},
    "nested 100000 deep": lambda body: "[" * 100_000 + "]" * 100_000,
    "objects nested 5000 deep": lambda body: '{"a":' * 5000 + "1" + "}" * 5000,
    "integer of 5000 digits": lambda body: {**body, "x": "9" * 5000},
    "integer of 40 digits": lambda body: {**body, "x": "9" * 40},
    "negative integer of 5000 digits": lambda body: {**body, "x": "-" + "9" * 5000},
    "float that overflows": lambda body: {**body, "x": "1e400"},
    "NaN": lambda body: {**body, "x": "NaN"},
    "Infinity": lambda body: {**body, "x": "-Infinity"},
}


def _render(case: Callable[[dict[str, Any]], Any], body: dict[str, Any]) -> bytes:
    shaped = case(body)
    if isinstance(shaped, str):
        return shaped.encode()
    # The hostile value is spliced in raw, as a number token, not as a JSON string.
    text = json.dumps({k: v for k, v in shaped.items() if k != "x"})
    x = shaped["x"]
    raw_x = x if isinstance(x, str) else json.dumps(x)
    return (text[:-1] + (", " if len(shaped) > 1 else "") + f'"x": {raw_x}}}').encode()


@pytest.mark.parametrize("case", list(DEEP), ids=list(DEEP))
async def test_json_past_the_decoders_limits_is_400_on_every_route(
    client: TestClient, world: World, sessionmaker: Maker, case: str
) -> None:
    before = await snapshot(sessionmaker)
    for method, path, headers, body in world.routes():
        status, answer = await send_json(client, method, path, headers, _render(DEEP[case], body))
        assert status == 400, (path, answer)
        assert answer["error"]["code"] == "INVALID_INPUT"
        # Refused by the decoder itself, before any model sees the data.
        assert answer["error"]["message"].startswith("the body is "), answer
    assert await snapshot(sessionmaker) == before


@pytest.mark.parametrize("field", ["dataset_id", "amount", "ids"])
async def test_huge_integers_in_real_fields_are_400(
    client: TestClient, world: World, sessionmaker: Maker, field: str
) -> None:
    before = await snapshot(sessionmaker)
    for digits in ("9" * 20, "9" * 4300, "9" * 10_000):
        number = f"[{digits}]" if field == "ids" else digits
        for method, path, headers, body in world.routes():
            if field not in body:
                continue
            text = json.dumps({**body, field: 0}).replace(f'"{field}": 0', f'"{field}": {number}')
            status, answer = await send_json(client, method, path, headers, text.encode())
            assert status == 400, (path, digits[:5], answer)
    assert await snapshot(sessionmaker) == before


# --- 5. overrides past every bound

HUGE_OVERRIDES = [
    {"steps": 10**18},
    {"steps": 2**63},
    {"resolution": 10**15},
    {"batch_size": 10**12},
    {"rank": 10**9},
    {"alpha": 1e300},
    {"learning_rate": 1e300},
    {"steps": 10**6 + 1},
]


@pytest.mark.parametrize("overrides", HUGE_OVERRIDES)
async def test_overrides_past_the_hard_caps_are_400(
    client: TestClient, world: World, sessionmaker: Maker, overrides: dict[str, Any]
) -> None:
    before = await snapshot(sessionmaker)
    job = {"dataset_id": world.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    for path, extra in (("/v1/estimate", {}), ("/v1/jobs", {"idempotency_key": "big"})):
        response = await client.post(
            path, json={**job, **extra, "overrides": overrides}, headers=HEADERS
        )
        answer = await response.json()
        assert response.status == 400, answer
        assert answer["error"]["details"]["fields"][0]["loc"][:1] == ["overrides"]
    assert await snapshot(sessionmaker) == before


async def test_overrides_at_the_caps_are_priced_and_refused_by_bounds(
    client: TestClient, world: World, sessionmaker: Maker
) -> None:
    before = await snapshot(sessionmaker)
    caps = {"steps": 10**6, "batch_size": 1024, "resolution": 16_384, "rank": 1024}
    job = {"dataset_id": world.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    estimate = await client.post("/v1/estimate", json={**job, "overrides": caps}, headers=HEADERS)
    answer = await estimate.json()
    assert estimate.status == 200 and answer["ok"] is False
    assert [e["code"] for e in answer["errors"]] == ["BOUNDS_EXCEEDED"]
    assert isinstance(answer["cost"], int) and answer["cost"] > 10**9
    submitted = await client.post(
        "/v1/jobs", json={**job, "overrides": caps, "idempotency_key": "caps"}, headers=HEADERS
    )
    assert submitted.status == 422
    assert await snapshot(sessionmaker) == before


async def test_estimate_survives_overflowing_params_from_any_caller(db: Maker) -> None:
    from core.estimate import estimate
    from core.offerings import OfferingRegistry
    from core.settings import BUNDLED_OFFERINGS

    async with db() as session:
        result = await estimate(
            session,
            OfferingRegistry.load(BUNDLED_OFFERINGS),
            account_id=1,
            dataset_id=1,
            offering_id="tiny-lora",
            preset="fast",
            overrides={"resolution": 10**400, "steps": 10**30},
            data_dir=Path("/nonexistent"),
        )
    assert result.ok is False and result.cost == 0
    assert [e.code for e in result.errors] == ["BOUNDS_EXCEEDED"]
    assert "steps=" in result.errors[0].message


# --- 6. ack ids past BIGINT


@pytest.mark.parametrize(
    "ids",
    [
        "[9223372036854775808]",
        "[18446744073709551616]",
        "[1, 99999999999999999999]",
        "[0]",
        "[-1]",
        "[-9223372036854775809]",
    ],
)
async def test_ack_ids_past_bigint_are_400(
    client: TestClient, world: World, sessionmaker: Maker, ids: str
) -> None:
    before = await snapshot(sessionmaker)
    status, answer = await send_json(
        client, "POST", "/v1/notifications/ack", RPC_HEADERS, f'{{"ids": {ids}}}'.encode()
    )
    assert status == 400 and answer["error"]["code"] == "INVALID_INPUT", answer
    assert await snapshot(sessionmaker) == before


async def test_the_largest_bigint_ack_id_is_fine(client: TestClient, world: World) -> None:
    status, answer = await send_json(
        client, "POST", "/v1/notifications/ack", RPC_HEADERS, b'{"ids": [9223372036854775807]}'
    )
    assert status == 200 and answer == {"acknowledged": 0}


# --- 10. money and ids are strict integers

LOOSE = ["true", "false", '"5"', "5.0", "5.5", '"0x5"', "[5]", "null"]


@pytest.mark.parametrize("value", LOOSE)
async def test_loose_numbers_are_not_amounts_or_ids(
    client: TestClient, world: World, sessionmaker: Maker, value: str
) -> None:
    before = await snapshot(sessionmaker)
    grant = f'{{"amount": {value}, "reason": "r", "idempotency_key": "loose"}}'
    job = (
        f'{{"dataset_id": {value}, "offering_id": "tiny-lora", "preset": "fast", '
        '"idempotency_key": "loose"}'
    )
    steps = (
        f'{{"dataset_id": {world.dataset_id}, "offering_id": "tiny-lora", '
        f'"overrides": {{"steps": {value}}}}}'
    )
    cases = [
        ("POST", f"/admin/accounts/{world.account_id}/grant", ADMIN_HEADERS, grant),
        ("POST", "/v1/jobs", HEADERS, job),
        ("POST", "/v1/estimate", HEADERS, job),
        ("POST", "/v1/notifications/ack", RPC_HEADERS, f'{{"ids": [{value}]}}'),
    ]
    if value != "null":  # null means "the preset's value" for an override
        cases.append(("POST", "/v1/estimate", HEADERS, steps))
    for method, path, headers, body in cases:
        status, answer = await send_json(client, method, path, headers, body.encode())
        assert status == 400, (path, body, answer)
    assert await snapshot(sessionmaker) == before


async def test_strict_integers_still_pass(client: TestClient, world: World) -> None:
    response = await client.post(
        f"/admin/accounts/{world.account_id}/grant",
        json={"amount": 5, "reason": "r", "idempotency_key": "ok"},
        headers=ADMIN_HEADERS,
    )
    assert response.status == 201 or response.status == 200
    assert (await response.json())["balance"] == 1005
