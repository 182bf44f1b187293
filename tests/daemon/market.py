"""Shared by the marketplace suites: a daemon with builders of the items they publish,
browse and earn from, and the check that a hidden item answers like a missing one.

The PostgreSQL database is shared by a module's tests, so every test names its items with a
token of its own and browses with `q=<token>`: it sees its own items and nothing else.
"""

import re
import uuid
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from core.db.models import Dataset, Job, Model
from core.enums import JobStatus
from core.models_registry import blob_prefix, store_files
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import user_headers
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
        return response.status, await body_of(response)

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
            files = await store_files(self.client.app[BLOBS], prefix, paths)
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


async def body_of(response: ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    return await response.read()


def normalized(answer: Answer, item_id: int) -> Answer:
    """The answer with the asked id blanked out: what is left must not tell two ids apart."""
    word = re.compile(rf"\b{item_id}\b")

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and key == "message":  # an error's words may name the id
            return word.sub("<id>", node)
        return "<id>" if key.endswith("_id") and node == item_id else node

    return answer[0], walk(answer[1])


async def looks_missing(market: Market, method: str, path: str, hidden: int, **kw: Any) -> Answer:
    """Ask for `hidden` and for an id that does not exist; both answers must be one."""
    seen = await market.call(method, path.format(id=hidden), BOB, **kw)
    missing = await market.call(method, path.format(id=MISSING), BOB, **kw)
    assert normalized(seen, hidden) == normalized(missing, MISSING), (path, seen, missing)
    return seen


async def dataset_row(market: Market, dataset_id: int) -> tuple[Any, ...]:
    async with market.maker() as session:
        row = await session.get(Dataset, dataset_id)
        assert row is not None
        return row.name, row.visibility, row.licence, row.published_at, row.updated_at


async def model_row(market: Market, model_id: int) -> tuple[Any, ...]:
    async with market.maker() as session:
        row = await session.get(Model, model_id)
        assert row is not None
        return row.name, row.visibility, row.licence, row.price_per_use, row.published_at
