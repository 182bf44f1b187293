"""Browsing the marketplace and earnings over real HTTP, on SQLite and (when a server is set)
PostgreSQL."""

import uuid
from typing import Any

import pytest

from core.db.models import Dataset, Job, Model, PaidUse
from core.enums import ItemKind
from tests.daemon.market import (
    ALICE,
    BOB,
    Market,
)


async def test_browsing_lists_public_items_only(market: Market) -> None:
    await market.dataset("private set")
    unlisted = await market.dataset("unlisted set", visibility="unlisted", licence="CC0-1.0")
    public = await market.dataset("public set", visibility="public", licence="CC0-1.0")
    private_model, unlisted_model, public_model = [
        await market.model(name) for name in ("private m", "unlisted m", "public m")
    ]
    await market.publish("models", unlisted_model, visibility="unlisted", licence="CC0-1.0")
    await market.publish("models", public_model, visibility="public", licence="CC0-1.0")
    for who in (ALICE, BOB):  # the owner browses like anyone else
        datasets = await market.browse("datasets", who)
        assert [d["id"] for d in datasets["items"]] == [public] and datasets["total"] == 1
        assert datasets["items"][0]["owned"] is (who is ALICE)
        models = await market.browse("models", who)
        assert [m["id"] for m in models["items"]] == [public_model] and models["total"] == 1
    listed = (await market.call("GET", "/v1/datasets?include_public=true", BOB))[1]
    assert [d["id"] for d in listed["datasets"] if d["name"].startswith(market.token)] == [public]
    own = (await market.call("GET", "/v1/datasets", ALICE))[1]["datasets"]
    assert len([d for d in own if d["name"].startswith(market.token)]) == 3
    own_models = (await market.call("GET", "/v1/models", ALICE))[1]["models"]
    assert {private_model, unlisted_model, public_model} <= {m["id"] for m in own_models}
    assert (await market.call("GET", "/v1/models", BOB))[1]["models"] == []
    # Making a public item private takes it off the pages at once.
    await market.publish("datasets", public, visibility="private")
    assert (await market.browse("datasets", BOB))["items"] == []
    assert unlisted not in [d["id"] for d in (await market.browse("datasets", BOB))["items"]]


async def test_search_tags_sort_and_pages(market: Market) -> None:
    licence = {"licence": "CC0-1.0"}
    # Published in this order; `early` is created first but published last.
    early = await market.dataset("Early Bird", tags=["Bird"], **licence)
    cats = await market.dataset("Cats 50%", tags=["Cat", "Émile"], visibility="public", **licence)
    other = await market.dataset("cats 500", tags=["cats"], visibility="public", **licence)
    under = await market.dataset("a_b", tags=["cat"], visibility="public", **licence)
    plain = await market.dataset("axb", tags=[], visibility="public", **licence)
    await market.publish("datasets", early, visibility="public")

    async def ids(**query: Any) -> list[int]:
        return [d["id"] for d in (await market.browse("datasets", BOB, **query))["items"]]

    assert await ids() == [early, plain, under, other, cats]
    assert await ids(q=f"{market.token} CATS") == [other, cats]
    assert await ids(q=f"{market.token} cats 50%") == [cats]  # % is a character, not a wildcard
    assert await ids(q=f"{market.token} a_b") == [under]  # so is _
    assert await ids(tag="CAT") == [under, cats]  # exact tag, any case: not "cats"
    assert await ids(tag="émile") == [cats]
    assert await ids(tag="ca") == []

    await market.set_uses(Dataset, cats, 9)
    await market.set_uses(Dataset, plain, 3)
    await market.set_uses(Dataset, other, 3)
    # Equal uses: the newer id first, so a page boundary never moves an item.
    assert await ids(sort="most_used") == [cats, plain, other, under, early]

    pages = [
        await market.browse("datasets", BOB, sort="most_used", per_page=2, page=page)
        for page in (1, 2, 3, 4)
    ]
    assert [[d["id"] for d in p["items"]] for p in pages] == [
        [cats, plain],
        [other, under],
        [early],
        [],
    ]
    assert {(p["total"], p["per_page"]) for p in pages} == {(5, 2)}
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    card = pages[0]["items"][0]
    assert card == {
        "id": cats,
        "name": f"{market.token} Cats 50%",
        "trigger_word": "zqx",
        "description": "",
        "tags": ["Cat", "Émile"],
        "image_count": 0,
        "licence": "CC0-1.0",
        "uses": 9,
        "published_at": card["published_at"],
        "owned": False,
    }


async def test_model_pages_show_cards_with_samples_and_family(market: Market) -> None:
    first = await market.model("Sunset")
    second = await market.model("sunrise", offering_id="retired-lora")
    for model_id, tags in ((first, ["Sky"]), (second, ["sky", "dawn"])):
        await market.publish(
            "models",
            model_id,
            visibility="public",
            licence="CC-BY-4.0",
            tags=tags,
            price_per_use=3,
        )
    await market.set_uses(Model, first, 2)
    page = await market.browse("models", BOB, tag="SKY", sort="most_used")
    assert [m["id"] for m in page["items"]] == [first, second] and page["total"] == 2
    card = page["items"][0]
    assert card == {
        "id": first,
        "name": f"{market.token} Sunset",
        "trigger_word": "zqx",
        "offering_id": "tiny-lora",
        "base_family": "tiny",
        "description": "",
        "tags": ["Sky"],
        "licence": "CC-BY-4.0",
        "price_per_use": 3,
        "uses": 2,
        "samples": [f"/v1/models/{first}/files/samples.png"],
        "published_at": card["published_at"],
        "owned": False,
    }
    assert page["items"][1]["base_family"] is None  # its offering is no longer configured
    found = await market.browse("models", BOB, q=f"{market.token} SUNR")
    assert [m["id"] for m in found["items"]] == [second]
    assert [m["id"] for m in (await market.browse("models", BOB, tag="dawn"))["items"]] == [second]


@pytest.mark.parametrize(
    "query",
    [
        {"per_page": "0"},
        {"per_page": "999"},
        {"per_page": "ten"},
        {"page": "0"},
        {"page": "100001"},
        {"sort": "oldest"},
        {"q": "x" * 101},
        {"colour": "red"},
    ],
)
async def test_bad_browse_queries_are_400(market: Market, query: dict[str, str]) -> None:
    await market.dataset("listed", visibility="public", licence="CC0-1.0")
    for kind in ("datasets", "models"):
        status, answer = await market.call("GET", f"/v1/marketplace/{kind}", BOB, params=query)
        assert status == 400, (kind, query)
        assert answer["error"]["code"] == "INVALID_INPUT" and answer["error"]["details"]["fields"]


async def test_earnings_sum_royalties_less_reversals_per_item(market: Market) -> None:
    owner, user = await market.account(ALICE), await market.account(BOB)
    earning = await market.dataset("earning", visibility="public", licence="CC0-1.0")
    used_private = await market.dataset("was public")
    idle = await market.dataset("idle", visibility="unlisted", licence="CC0-1.0")
    await market.dataset("never shown")
    model_id = await market.model("earning model")
    await market.publish("models", model_id, visibility="public", licence="CC0-1.0")
    theirs = await market.dataset("bob's", BOB, visibility="public", licence="CC0-1.0")
    uses = [
        (ItemKind.dataset, earning, 10, 2, 0),
        (ItemKind.dataset, earning, 25, 5, 5),  # refunded in full
        (ItemKind.dataset, earning, 20, 4, 1),  # refunded in part
        (ItemKind.dataset, used_private, 15, 3, 0),
        (ItemKind.model, model_id, 40, 8, 0),
    ]
    async with market.maker.begin() as session:
        for kind, item_id, price, royalty, reversed_ in uses:
            job = Job(
                account_id=user,
                offering_id="tiny-lora",
                preset="fast",
                params={},
                overrides={},
                cost=price,
                idempotency_key=uuid.uuid4().hex,
                request_hash="h",
                reply_to={},
            )
            session.add(job)
            await session.flush()
            session.add(
                PaidUse(
                    job_id=job.id,
                    item_kind=str(kind),
                    item_id=item_id,
                    owner_id=owner,
                    user_id=user,
                    price=price,
                    royalty=royalty,
                    reversed=reversed_,
                )
            )
    await market.set_uses(Dataset, earning, 3)
    status, answer = await market.call("GET", "/v1/earnings", ALICE)
    assert status == 200
    mine = [i for i in answer["items"] if i["name"].startswith(market.token)]
    assert [(i["item_kind"], i["id"], i["visibility"], i["uses"], i["earned"]) for i in mine] == [
        ("dataset", earning, "public", 3, 2 + 0 + 3),
        ("dataset", used_private, "private", 0, 3),
        ("dataset", idle, "unlisted", 0, 0),
        ("model", model_id, "public", 0, 8),
    ]
    assert answer["total_earned"] == sum(i["earned"] for i in answer["items"])
    bobs = (await market.call("GET", "/v1/earnings", BOB))[1]
    assert [
        (i["id"], i["earned"]) for i in bobs["items"] if i["name"].startswith(market.token)
    ] == [(theirs, 0)]
