"""Generation fixtures: tiny LoRAs trained once per session (in a child process, so the HTTP
suites' test process never imports torch), builders of models that carry a LoRA file, and
helpers that drive generations over HTTP."""

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.blobs import BlobStore
from core.db.models import Job, Model
from core.db.types import utcnow
from core.enums import JobStatus, Licence, Visibility
from core.models_registry import blob_prefix, store_files
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import ADMIN_HEADERS, user_headers
from tests.queue.conftest import TERMINAL, shared_base_models, wait_for

__all__ = ["shared_base_models"]  # a fixture of the queue suites, used here too

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "zqx a red circle"


@pytest.fixture(scope="session")
def trained_loras(shared_base_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`{"unet": path, "text": path}`: diffusers LoRA files of the tiny SD-1.5 (trigger zqx),
    one on the UNet only, one on the UNet and the text encoder."""
    out = tmp_path_factory.mktemp("loras")
    subprocess.run(
        [sys.executable, "-m", "tests.generation.train_loras", str(shared_base_models.parent),
         str(out)],
        cwd=REPO_ROOT, check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    return {name: out / name / "pytorch_lora_weights.safetensors" for name in ("unet", "text")}


async def make_model(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    account_id: int,
    lora: Path,
    *,
    visibility: Visibility = Visibility.private,
    price_per_use: int = 0,
    offering_id: str = "tiny-lora",
) -> int:
    """A model of a completed training of `account_id`, with `lora` stored as its
    diffusers file; published (CC-BY) at `price_per_use` unless private."""
    async with sessionmaker.begin() as session:
        job = Job(
            account_id=account_id,
            offering_id=offering_id,
            preset="fast",
            params={},
            overrides={},
            cost=0,
            idempotency_key=uuid.uuid4().hex,
            request_hash="h",
            reply_to={},
            status=JobStatus.completed,
        )
        session.add(job)
        await session.flush()
        prefix = blob_prefix(job.id, 1)
        published = visibility.is_published
        model = Model(
            job_id=job.id,
            account_id=account_id,
            offering_id=offering_id,
            name=f"model #{job.id}",
            trigger_word="zqx",
            format="lora-safetensors",
            blob_prefix=prefix,
            files=await store_files(blobs, prefix, {"lora_diffusers": lora}),
            summary={},
            visibility=str(visibility),
            licence=str(Licence.cc_by) if published else None,
            price_per_use=price_per_use,
            published_at=utcnow() if published else None,
        )
        session.add(model)
        await session.flush()
        return model.id


async def model_of(
    client: TestClient, owner: str, lora: Path, **fields: Any
) -> int:  # a model of `owner` (an X-User) in the client's daemon
    return await make_model(
        client.app[SESSIONMAKER], client.app[BLOBS], await account_of(client, owner), lora,
        **fields,
    )  # fmt: skip


async def account_of(client: TestClient, user: str, *, grant: int = 0) -> int:
    """The account id of `user`, granted `grant` points by an operator first."""
    me = await (await client.get("/v1/me", headers=user_headers(user))).json()
    if grant:
        body = {"amount": grant, "reason": "test", "idempotency_key": uuid.uuid4().hex}
        path = f"/admin/accounts/{me['id']}/grant"
        response = await client.post(path, json=body, headers=ADMIN_HEADERS)
        assert response.status == 201, await response.text()
    return int(me["id"])


def generation_body(model_id: int, key: str, **fields: Any) -> dict[str, Any]:
    """A POST /v1/generations body with the trigger word in the prompt."""
    return {"model_id": model_id, "prompt": PROMPT, "idempotency_key": key, **fields}


async def call(
    client: TestClient, method: str, path: str, user: str, *, status: int = 200, **kw: Any
) -> Any:
    """One RPC call of `user` that must answer `status`; its JSON."""
    response = await client.request(method, path, headers=user_headers(user), **kw)
    body = await response.json()
    assert response.status == status, (response.status, body)
    return body


async def finished(
    client: TestClient, user: str, job_id: int, *, timeout: float, route: str = "generations"
) -> Any:
    """The generation (or with `route="jobs"`, the job) once it is in a final status."""

    async def final() -> Any:
        view = await call(client, "GET", f"/v1/{route}/{job_id}", user)
        return view if view["status"] in TERMINAL else None

    return await wait_for(final, timeout=timeout, every=0.2, what=f"{route} {job_id} to end")


async def ledger(client: TestClient, user: str) -> tuple[int, list[dict[str, Any]]]:
    """The balance of `user` and their ledger entries (which must sum to it)."""
    book = await call(client, "GET", "/v1/ledger", user)
    assert book["balance"] == sum(entry["delta"] for entry in book["entries"]) >= 0
    return book["balance"], book["entries"]
