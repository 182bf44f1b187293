"""Publishing over real HTTP, on SQLite and (when a server is set) PostgreSQL: the licence
and price rules, and who may see and use a published, unlisted or private item."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.db.models import Image
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS
from tests.conftest import make_dataset
from tests.daemon.market import (
    ALICE,
    BOB,
    MISSING,
    Market,
    dataset_row,
    looks_missing,
    model_row,
    normalized,
)


async def test_publishing_a_dataset_asks_for_a_licence(market: Market) -> None:
    status, refused = await market.call(
        "POST",
        "/v1/datasets",
        ALICE,
        json={"name": f"{market.token} open", "visibility": "public"},
    )
    assert (status, refused["error"]["code"]) == (400, "LICENCE_REQUIRED")
    assert "CC-BY-4.0" in refused["error"]["details"]["licences"]
    assert (await market.browse("datasets"))["total"] == 0
    mine = await market.call("GET", "/v1/datasets", ALICE)
    assert not [d for d in mine[1]["datasets"] if d["name"].startswith(market.token)]

    dataset_id = await market.dataset("cats", description="fluffy")
    before = await dataset_row(market, dataset_id)
    path = f"/v1/datasets/{dataset_id}"
    for body, code in [
        ({"visibility": "unlisted"}, "LICENCE_REQUIRED"),
        ({"visibility": "public", "name": "renamed"}, "LICENCE_REQUIRED"),
        ({"visibility": "public", "licence": "WTFPL"}, "INVALID_INPUT"),
        ({"licence": None}, "INVALID_INPUT"),
        ({"visibility": "hidden", "licence": "CC0-1.0"}, "INVALID_INPUT"),
    ]:
        status, answer = await market.call("PATCH", path, ALICE, json=body)
        assert (status, answer["error"]["code"]) == (400, code), body
        assert await dataset_row(market, dataset_id) == before, body

    licensed = await market.publish("datasets", dataset_id, licence="CC-BY-4.0")
    assert (licensed["visibility"], licensed["published_at"]) == ("private", None)
    unlisted = await market.publish("datasets", dataset_id, visibility="unlisted")
    assert unlisted["licence"] == "CC-BY-4.0" and unlisted["published_at"] is not None
    public = await market.publish("datasets", dataset_id, visibility="public")
    assert public["published_at"] == unlisted["published_at"]  # first published, kept
    assert public["uses"] == 0
    private = await market.publish("datasets", dataset_id, visibility="private")
    assert (private["published_at"], private["licence"]) == (None, "CC-BY-4.0")


async def test_publishing_a_model_keeps_to_the_rules(market: Market) -> None:
    model_id = await market.model("portrait")
    path = f"/v1/models/{model_id}"
    before = await model_row(market, model_id)
    for body, code in [
        ({"visibility": "public"}, "LICENCE_REQUIRED"),
        ({"visibility": "unlisted", "price_per_use": 5}, "LICENCE_REQUIRED"),
        ({"licence": "MIT", "visibility": "public"}, "INVALID_INPUT"),
        (
            {"licence": "CC0-1.0", "visibility": "public", "price_per_use": 1001},
            "PRICE_OUT_OF_BOUNDS",
        ),
        ({"price_per_use": -1}, "PRICE_OUT_OF_BOUNDS"),
        ({"price_per_use": 10**25}, "PRICE_OUT_OF_BOUNDS"),
        ({"price_per_use": "5"}, "INVALID_INPUT"),
        ({"price_per_use": True}, "INVALID_INPUT"),
        ({"name": " "}, "INVALID_INPUT"),
        ({"tags": ["x" * 33]}, "INVALID_INPUT"),
        ({"owner": "me"}, "INVALID_INPUT"),
    ]:
        status, answer = await market.call("PATCH", path, ALICE, json=body)
        assert (status, answer["error"]["code"]) == (400, code), body
        assert await model_row(market, model_id) == before, body
    bounds = (await market.call("PATCH", path, ALICE, json={"price_per_use": 1001}))[1]
    assert bounds["error"]["details"] == {
        "min_price_per_use": 0,
        "max_price_per_use": 1000,
        "price_per_use": 1001,
    }

    published = await market.publish(
        "models",
        model_id,
        name=f"{market.token} Portrait v2",
        description="soft light",
        tags=["Portrait", "portrait", "35mm"],
        visibility="public",
        licence="OpenRAIL-M",
        price_per_use=12,
    )
    assert published["tags"] == ["Portrait", "35mm"]
    assert (published["visibility"], published["licence"], published["price_per_use"]) == (
        "public",
        "OpenRAIL-M",
        12,
    )
    assert published["base_family"] == "tiny" and published["owned"] is True
    assert published["samples"] == [f"/v1/models/{model_id}/files/samples.png"]
    assert published["published_at"] is not None
    # Others may look, never change: 403 for a published model, 404 for a private one.
    status, answer = await market.call("PATCH", path, BOB, json={"price_per_use": 0})
    assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")
    hidden = await market.model("hidden")
    seen = await looks_missing(market, "PATCH", "/v1/models/{id}", hidden, json={"tags": []})
    assert seen[0] == 404
    assert (await model_row(market, model_id))[3] == 12


async def test_price_bounds_come_from_the_economy_file(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    economy = tmp_path / "economy.toml"
    economy.write_text("[market]\nmin_price_per_use = 5\nmax_price_per_use = 50\n")
    client = await aiohttp_client(create_app(make_settings(economy_file=economy)))
    market = Market(client, tmp_path)
    model_id = await market.model("priced")
    # The stored price (0) is below the floor: it cannot be published at that price.
    status, answer = await market.call(
        "PATCH",
        f"/v1/models/{model_id}",
        ALICE,
        json={"visibility": "public", "licence": "CC0-1.0"},
    )
    assert (status, answer["error"]["code"]) == (400, "PRICE_OUT_OF_BOUNDS")
    assert (await model_row(market, model_id))[1] == "private"
    for price, ok in [(4, False), (5, True), (50, True), (51, False)]:
        status, _ = await market.call(
            "PATCH", f"/v1/models/{model_id}", ALICE, json={"price_per_use": price}
        )
        assert (status == 200) is ok, price
    published = await market.publish(
        "models", model_id, visibility="public", licence="CC0-1.0", price_per_use=5
    )
    assert published["price_per_use"] == 5


async def test_private_items_answer_others_exactly_like_missing_ones(market: Market) -> None:
    hidden = await market.dataset("secret")
    owner = await market.account(ALICE)
    async with market.maker.begin() as session:
        pictures = await make_dataset(
            session, owner, images=4, name=f"{market.token} pics", blobs=market.client.app[BLOBS]
        )
        image_id = await session.scalar(select(Image.id).where(Image.dataset_id == pictures.id))
    model_id = await market.model("secret model")
    for method, path, kw in [
        ("GET", "/v1/datasets/{id}", {}),
        ("GET", "/v1/datasets/{id}/images", {}),
        ("PATCH", "/v1/datasets/{id}", {"json": {"description": "mine"}}),
        ("DELETE", "/v1/datasets/{id}", {}),
        ("GET", "/v1/models/{id}", {}),
        ("GET", "/v1/models/{id}/files/lora.safetensors", {}),
        ("GET", "/v1/models/{id}/files/samples.png", {}),
    ]:
        target = model_id if "models" in path else hidden
        status, _ = await looks_missing(market, method, path, target, **kw)
        assert status == 404, path
    file_path = f"/v1/datasets/{{id}}/images/{image_id}/file"
    assert (await looks_missing(market, "GET", file_path, pictures.id))[0] == 404
    for route, extra in (("/v1/estimate", {}), ("/v1/jobs", {"idempotency_key": "k"})):
        bodies = {}
        for dataset_id in (hidden, MISSING):
            body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
            bodies[dataset_id] = await market.call("POST", route, BOB, json={**body, **extra})
        assert normalized(bodies[hidden], hidden) == normalized(bodies[MISSING], MISSING)
        assert "DATASET_NOT_FOUND" in json.dumps(bodies[hidden][1]), route
    assert (await market.call("GET", "/v1/jobs", BOB))[1]["jobs"] == []


async def test_unlisted_items_are_usable_by_id(market: Market) -> None:
    owner = await market.account(ALICE)
    async with market.maker.begin() as session:
        dataset = await make_dataset(session, owner, images=6, name=f"{market.token} shared")
    await market.publish("datasets", dataset.id, visibility="unlisted", licence="CC-BY-SA-4.0")
    status, seen = await market.call("GET", f"/v1/datasets/{dataset.id}", BOB)
    assert status == 200 and seen["owned"] is False and seen["image_count"] == 6
    assert seen["licence"] == "CC-BY-SA-4.0"
    body = {"dataset_id": dataset.id, "offering_id": "tiny-lora", "preset": "fast"}
    status, estimate = await market.call("POST", "/v1/estimate", BOB, json=body)
    assert status == 200 and estimate["ok"] is True, estimate
    status, refused = await market.call(
        "PATCH", f"/v1/datasets/{dataset.id}", BOB, json={"name": "mine"}
    )
    assert (status, refused["error"]["code"]) == (403, "FORBIDDEN")

    model_id = await market.model("shared model")
    await market.publish("models", model_id, visibility="unlisted", licence="CC-BY-NC-4.0")
    status, card = await market.call("GET", f"/v1/models/{model_id}", BOB)
    assert status == 200 and card["owned"] is False and card["licence"] == "CC-BY-NC-4.0"
    weights = await market.client.get(f"/v1/models/{model_id}/files/lora.safetensors", headers=BOB)
    assert weights.status == 200 and await weights.read() == b"weights of shared model"
    samples = await market.client.get(card["samples"][0], headers=BOB)
    assert samples.status == 200 and samples.content_type == "image/png"
