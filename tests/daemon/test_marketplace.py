"""Publishing, browsing and earnings over real HTTP, on SQLite and (when a server is set)
PostgreSQL.

The PostgreSQL database is shared by the module's tests, so every test names its items with
a token of its own and browses with `q=<token>`: it sees its own items and nothing else.
"""

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from core.db.models import Dataset, Image, Job, Model, PaidUse
from core.enums import ItemKind, JobStatus
from core.models_registry import blob_prefix, store_files
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import make_dataset, user_headers
from tests.imagefactory import png_bytes

ALICE = user_headers("telegram:market-alice")
BOB = user_headers("discord:market-bob")
MISSING = 10**15
Answer = tuple[int, Any]


class Market:
    """A daemon and builders of the items the tests publish, browse and earn from."""

    def __init__(self, client: TestClient, scratch: Path) -> None:
        self.client, self.scratch = client, scratch
        self.token = uuid.uuid4().hex[:8]

    @property
    def maker(self) -> Any:
        return self.client.app[SESSIONMAKER]

    async def call(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> Answer:
        response = await self.client.request(method, path, headers=headers, **kw)
        return response.status, await _body(response)

    async def account(self, headers: dict[str, str]) -> int:
        return (await self.call("GET", "/v1/me", headers))[1]["id"]

    async def dataset(self, name: str, headers: dict[str, str] = ALICE, **fields: Any) -> int:
        """A dataset named `<token> <name>`, created over HTTP with `fields`."""
        body = {"name": f"{self.token} {name}", "trigger_word": "zqx", **fields}
        status, created = await self.call("POST", "/v1/datasets", headers, json=body)
        assert status == 201, created
        return created["id"]

    async def model(
        self, name: str, owner: dict[str, str] = ALICE, *, offering_id: str = "tiny-lora"
    ) -> int:
        """A private model of a completed job, with a LoRA file and a samples image stored."""
        account_id = await self.account(owner)
        folder = self.scratch / uuid.uuid4().hex
        folder.mkdir()
        (folder / "lora.safetensors").write_bytes(b"weights of " + name.encode())
        (folder / "samples.png").write_bytes(png_bytes(16, 16))
        async with self.maker.begin() as session:
            job = Job(
                account_id=account_id,
                offering_id=offering_id,
                preset="fast",
                params={},
                overrides={},
                cost=7,
                idempotency_key=uuid.uuid4().hex,
                request_hash="h",
                reply_to={},
                status=JobStatus.completed,
            )
            session.add(job)
            await session.flush()
            prefix = blob_prefix(job.id, 1)
            paths = {
                "lora_diffusers": folder / "lora.safetensors",
                "samples": folder / "samples.png",
            }
            files = store_files(self.client.app[BLOBS], prefix, paths)
            model = Model(
                job_id=job.id,
                account_id=account_id,
                offering_id=offering_id,
                name=f"{self.token} {name}",
                trigger_word="zqx",
                format="lora-safetensors",
                blob_prefix=prefix,
                files=files,
                summary={"final_loss": 0.1, "steps": 30},
            )
            session.add(model)
            await session.flush()
            return model.id

    async def publish(self, kind: str, item_id: int, headers: dict[str, str] = ALICE, **body: Any):
        status, answer = await self.call("PATCH", f"/v1/{kind}/{item_id}", headers, json=body)
        assert status == 200, answer
        return answer

    async def browse(self, kind: str, headers: dict[str, str] = ALICE, **query: Any) -> Any:
        status, page = await self.call(
            "GET", f"/v1/marketplace/{kind}", headers, params={"q": self.token, **query}
        )
        assert status == 200, page
        return page

    async def set_uses(self, item: type[Dataset] | type[Model], item_id: int, uses: int) -> None:
        async with self.maker.begin() as session:
            await session.execute(update(item).where(item.id == item_id).values(uses=uses))


async def _body(response: ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    return await response.read()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the test's DATA_DIR) or the module's PostgreSQL database."""
    # Resolved here, outside the event loop: `postgres_url` creates its database with asyncio.
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


@pytest.fixture
async def market(
    database_url: str | None,
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Market:
    client = await aiohttp_client(create_app(make_settings(database_url=database_url)))
    return Market(client, tmp_path)


def _normalized(answer: Answer, item_id: int) -> Answer:
    """The answer with the asked id blanked out: what is left must not tell two ids apart."""
    word = re.compile(rf"\b{item_id}\b")

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return word.sub("<id>", node)
        return "<id>" if key.endswith("_id") and node == item_id else node

    return answer[0], walk(answer[1])


async def _looks_missing(market: Market, method: str, path: str, hidden: int, **kw: Any) -> Answer:
    """Ask for `hidden` and for an id that does not exist; both answers must be one."""
    seen = await market.call(method, path.format(id=hidden), BOB, **kw)
    missing = await market.call(method, path.format(id=MISSING), BOB, **kw)
    assert _normalized(seen, hidden) == _normalized(missing, MISSING), (path, seen, missing)
    return seen


async def _dataset_row(market: Market, dataset_id: int) -> tuple[Any, ...]:
    async with market.maker() as session:
        row = await session.get(Dataset, dataset_id)
        assert row is not None
        return row.name, row.visibility, row.licence, row.published_at, row.updated_at


async def _model_row(market: Market, model_id: int) -> tuple[Any, ...]:
    async with market.maker() as session:
        row = await session.get(Model, model_id)
        assert row is not None
        return row.name, row.visibility, row.licence, row.price_per_use, row.published_at


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
    before = await _dataset_row(market, dataset_id)
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
        assert await _dataset_row(market, dataset_id) == before, body

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
    before = await _model_row(market, model_id)
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
        assert await _model_row(market, model_id) == before, body
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
    seen = await _looks_missing(market, "PATCH", "/v1/models/{id}", hidden, json={"tags": []})
    assert seen[0] == 404
    assert (await _model_row(market, model_id))[3] == 12


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
    assert (await _model_row(market, model_id))[1] == "private"
    for price, ok in [(4, False), (5, True), (50, True), (51, False)]:
        status, _ = await market.call(
            "PATCH", f"/v1/models/{model_id}", ALICE, json={"price_per_use": price}
        )
        assert (status == 200) is ok, price
    published = await market.publish(
        "models", model_id, visibility="public", licence="CC0-1.0", price_per_use=5
    )
    assert published["price_per_use"] == 5


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
        status, _ = await _looks_missing(market, method, path, target, **kw)
        assert status == 404, path
    file_path = f"/v1/datasets/{{id}}/images/{image_id}/file"
    assert (await _looks_missing(market, "GET", file_path, pictures.id))[0] == 404
    for route, extra in (("/v1/estimate", {}), ("/v1/jobs", {"idempotency_key": "k"})):
        bodies = {}
        for dataset_id in (hidden, MISSING):
            body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
            bodies[dataset_id] = await market.call("POST", route, BOB, json={**body, **extra})
        assert _normalized(bodies[hidden], hidden) == _normalized(bodies[MISSING], MISSING)
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
