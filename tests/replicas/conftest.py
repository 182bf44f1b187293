"""Replica fixtures: a fresh PostgreSQL database per test, and two `lorabot daemon` processes
on it sharing one DATA_DIR (the blobs live there until the S3 store lands)."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, POSTGRES_ENV, _admin_sql
from tests.imagefactory import png_bytes
from tests.queue.conftest import rpc, shared_base_models

__all__ = ["shared_base_models"]  # a fixture of the queue suites, used here too


@pytest.fixture
def replica_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (skips without a server)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (run `make test` or scripts/postgres.sh)")
    name = f"lorabot_replicas_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def two_replicas(
    data_dir: Path, database_url: str, env: dict[str, str] | None = None
) -> Iterator[tuple[DaemonProcess, DaemonProcess]]:
    """Replicas A and B of one deployment: one database, one DATA_DIR, a log each. A starts
    first, so it wins the leadership while both live."""
    shared = {
        "LORABOT_DATABASE_URL": database_url,
        "LORABOT_LOG_LEVEL": "INFO",
        **CHECK_ANSWERS_ENV,
        **(env or {}),
    }
    with ExitStack() as stack:
        a = stack.enter_context(running_daemon(data_dir, env=shared, log_name="replica-a.log"))
        b = stack.enter_context(running_daemon(data_dir, env=shared, log_name="replica-b.log"))
        yield a, b


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def funded_dataset(
    http: aiohttp.ClientSession, daemon: DaemonProcess, user: str, *, points: int = 500
) -> int:
    """Give `user` points and a dataset of four images through `daemon`; the dataset's id."""
    me = await rpc(http, daemon, "GET", "/v1/me", user=user)
    grant = {"amount": points, "reason": "test", "idempotency_key": f"grant-{user}"}
    path = f"/admin/accounts/{me['id']}/grant"
    await rpc(http, daemon, "POST", path, user=user, admin=True, json=grant)
    body = {"name": "replicas", "trigger_word": "zqx"}
    dataset = await rpc(http, daemon, "POST", "/v1/datasets", user=user, json=body)
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field(
            "image", png_bytes(64, 64, seed=i), filename=f"{i}.png", content_type="image/png"
        )
    await rpc(http, daemon, "POST", f"/v1/datasets/{dataset['id']}/images", user=user, data=form)
    return int(dataset["id"])
