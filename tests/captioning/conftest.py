"""Caption fixtures: the tiny captioner built once per session by `lorabot make-tiny-captioner`
(a child process, so this test process never imports torch), daemons on a test DATA_DIR that
find it as `builtin:tiny-blip`, and helpers that drive caption jobs over real HTTP."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from core.db.models import Image
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import make_account, make_dataset, run_lorabot, user_headers
from tests.queue.conftest import TERMINAL, link_base_models, wait_for

CAPTIONED = "my own words"


@pytest.fixture(scope="session")
def shared_captioner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `base-models` folder holding the builtin tiny captioner (`tiny-blip`)."""
    root = tmp_path_factory.mktemp("caption-base") / "base-models"
    built = run_lorabot("make-tiny-captioner", str(root / "tiny-blip"), env={}, timeout=300)
    assert built.returncode == 0, built.stderr
    return root


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the test's DATA_DIR) or the module's PostgreSQL database."""
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


async def serve(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    shared: Path | None = None,
    **overrides: Any,
) -> TestClient:
    """A daemon (`create_app`) on the test's DATA_DIR, holding the shared captioner if given
    (a daemon that runs no caption worker needs none: the builtin is built on first use)."""
    settings = make_settings(**overrides)
    if shared is not None:
        link_base_models(settings.data_dir, shared)
    return await aiohttp_client(create_app(settings))


async def captioning_dataset(
    client: TestClient,
    user: str,
    *,
    balance: int = 100,
    images: int = 4,
    captioned: int = 0,
    trigger_word: str | None = "zqx",
) -> int:
    """A funded account of `user` with a dataset of real image files, the first `captioned`
    of them captioned CAPTIONED and the rest without a caption; the dataset's id."""
    platform, user_id = user.split(":")
    async with client.app[SESSIONMAKER].begin() as session:
        account = await make_account(
            session, platform=platform, platform_user_id=user_id, balance=balance
        )
        dataset = await make_dataset(
            session,
            account.id,
            images=images,
            caption="",
            trigger_word=trigger_word,
            blobs=client.app[BLOBS],
        )
        ids = await session.scalars(
            select(Image.id).where(Image.dataset_id == dataset.id).order_by(Image.id)
        )
        first = list(ids)[:captioned]
        if first:
            await session.execute(
                update(Image).where(Image.id.in_(first)).values(caption=CAPTIONED)
            )
    return dataset.id


async def call(
    client: TestClient, method: str, path: str, user: str, *, status: int = 200, **kwargs: Any
) -> Any:
    """One RPC call of `user` that must answer `status`; its JSON."""
    response = await client.request(method, path, headers=user_headers(user), **kwargs)
    body = await response.json()
    assert response.status == status, (method, path, response.status, body)
    return body


async def images_of(client: TestClient, user: str, dataset_id: int) -> list[dict[str, Any]]:
    """The dataset's images as the images route lists them."""
    return list((await call(client, "GET", f"/v1/datasets/{dataset_id}/images", user))["images"])


async def finished(client: TestClient, user: str, job_id: int, timeout: float = 120) -> Any:
    """The job once it is completed, failed or cancelled."""

    async def final() -> Any:
        job = await call(client, "GET", f"/v1/jobs/{job_id}", user)
        return job if job["status"] in TERMINAL else None

    return await wait_for(final, timeout=timeout, every=0.3, what=f"job {job_id} to finish")


def caption_body(key: str = "cap-1", **choices: Any) -> dict[str, Any]:
    """A POST /v1/datasets/{id}/captions body."""
    return {"idempotency_key": key, **choices}
