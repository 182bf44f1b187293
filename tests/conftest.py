"""Shared fixtures: settings on a temporary DATA_DIR, the app and its client, builders.

- `settings`: tokens set, SQLite in `tmp_path`, `run_queue=False` (jobs stay queued, so
  money and state tests are deterministic); `make_settings(**overrides)` for other shapes.
- `app` / `client`: `create_app(settings)` served by pytest-aiohttp on 127.0.0.1.
- The answer check: every daemon the tests build has `check_answers` on, so each answer of a
  described route is compared with the model `/openapi.json` documents for it (see
  `daemon/answer_check.py`). Every app served through `aiohttp_client` or `aiohttp_server` is
  collected by `served_apps`; a test whose daemon answered unlike its documentation fails at
  teardown, naming the route, the status and the difference. `lorabot daemon` processes get
  the same check through `CHECK_ANSWERS_ENV`; `logged_mismatches` reads their log.
- `sessionmaker`: the running app's sessionmaker; `db`: a migrated SQLite database without
  HTTP (domain tests); `postgres_url`: a fresh PostgreSQL database per test module;
  `s3_bucket`: a fresh bucket on the test S3 server per test module.
- Builders: `make_account`, `make_dataset` (optionally with real image files), `grant`.
- Headers: `user_headers("telegram:1")`, `ADMIN_HEADERS`, `RPC_HEADERS`.
"""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from core.accounts import account_for_identity
from core.blobs import BlobStore, sha256_hex
from core.db.migrate import upgrade_to_head
from core.db.models import Account, Dataset, Image
from core.db.session import create_engine, make_sessionmaker
from core.enums import LedgerKind, Platform, Visibility
from core.ledger import post_entry
from core.settings import Settings
from daemon.answer_check import ANSWER_MISMATCHES
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests.s3_bucket import S3_ENV, S3Bucket

REPO = Path(__file__).resolve().parents[1]
RPC_TOKEN = "test-rpc-token"
ADMIN_TOKEN = "test-admin-token"
RPC_HEADERS = {"Authorization": f"Bearer {RPC_TOKEN}"}
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
POSTGRES_ENV = "LORABOT_TEST_POSTGRES_URL"
CHECK_ANSWERS_ENV = {"LORABOT_CHECK_ANSWERS": "true"}


def user_headers(user: str = "telegram:1001") -> dict[str, str]:
    """Headers of a bot call acting for `user` (`<platform>:<platform_user_id>`)."""
    return {**RPC_HEADERS, "X-User": user}


def run_lorabot(*args: str, env: dict[str, str], **run: Any) -> subprocess.CompletedProcess[str]:
    """`lorabot ARGS` as a process in the checkout: this environment plus `env`, text output."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        **run,
    )


def job_body(dataset_id: int, key: str = "k1", **extra: Any) -> dict[str, Any]:
    """A POST /v1/jobs body: the tiny LoRA's fast preset on `dataset_id`."""
    return {
        "dataset_id": dataset_id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "idempotency_key": key,
        **extra,
    }


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on `tmp_path/data` with test tokens; keyword arguments override fields."""

    def build(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": None,
            "rpc_token": RPC_TOKEN,
            "admin_token": ADMIN_TOKEN,
            "run_queue": False,
            "log_level": "WARNING",
            "check_answers": True,
        }
        fields.update(overrides)
        return Settings(**fields)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def served_apps() -> Iterator[list[web.Application]]:
    """The apps a test served; after it, an answer unlike its route's documentation fails it."""
    apps: list[web.Application] = []
    yield apps
    mismatches = [str(m) for app in apps for m in app.get(ANSWER_MISMATCHES, [])]
    if mismatches:
        pytest.fail(
            f"{len(mismatches)} answer(s) unlike the model their route documents:\n"
            + "\n".join(mismatches),
            pytrace=False,
        )


@pytest.fixture
def aiohttp_client(
    aiohttp_client: Callable[..., Awaitable[TestClient]], served_apps: list[web.Application]
) -> Callable[..., Awaitable[TestClient]]:
    """pytest-aiohttp's `aiohttp_client`, noting the app it serves in `served_apps`."""

    async def serve(target: Any, *args: Any, **kwargs: Any) -> TestClient:
        client = await aiohttp_client(target, *args, **kwargs)
        if client.app is not None:
            served_apps.append(client.app)
        return client

    return serve


@pytest.fixture
def aiohttp_server(
    aiohttp_server: Callable[..., Awaitable[TestServer]], served_apps: list[web.Application]
) -> Callable[..., Awaitable[TestServer]]:
    """pytest-aiohttp's `aiohttp_server`, noting the app it serves in `served_apps`."""

    async def serve(app: web.Application, *args: Any, **kwargs: Any) -> TestServer:
        served_apps.append(app)
        return await aiohttp_server(app, *args, **kwargs)

    return serve


def logged_mismatches(log_path: Path) -> list[str]:
    """The `answer_mismatch` lines a `lorabot daemon` process started with
    `CHECK_ANSWERS_ENV` wrote to its log."""
    if not log_path.exists():
        return []
    lines = log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if "answer_mismatch" in line]


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@pytest.fixture
def sessionmaker(client: TestClient) -> async_sessionmaker[AsyncSession]:
    """The running app's sessionmaker (same database the routes use)."""
    return client.app[SESSIONMAKER]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated SQLite database in `tmp_path`, without any HTTP."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'domain.sqlite3'}")
    await upgrade_to_head(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _admin_sql(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test module (skips without a server)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (run `make test` or scripts/postgres.sh)")
    name = f"lorabot_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[S3Bucket]:
    """A fresh bucket on the test S3 server for one test module (skips without a server)."""
    endpoint = os.environ.get(S3_ENV)
    if not endpoint:
        pytest.skip(f"{S3_ENV} is not set (run `make test` or scripts/seaweedfs.sh)")
    bucket = S3Bucket(endpoint_url=endpoint, name=f"lorabot-test-{uuid.uuid4().hex[:12]}")
    asyncio.run(bucket.create())
    yield bucket
    asyncio.run(bucket.remove())


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated PostgreSQL database (shared by the module's tests: use fresh accounts)."""
    engine = create_engine(postgres_url)
    await upgrade_to_head(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def grant(
    session: AsyncSession, account_id: int, amount: int, key: str | None = None
) -> None:
    """Give an account points through the ledger (as an operator would)."""
    await post_entry(
        session,
        account_id=account_id,
        delta=amount,
        kind=LedgerKind.grant,
        idempotency_key=key or f"test-grant:{uuid.uuid4().hex}",
    )


async def make_account(
    session: AsyncSession,
    *,
    platform: Platform | str = Platform.telegram,
    platform_user_id: str | None = None,
    balance: int = 0,
) -> Account:
    """An account with one identity and `balance` points granted through the ledger."""
    user_id = platform_user_id or uuid.uuid4().hex[:12]
    account = await account_for_identity(session, Platform(platform), user_id)
    if balance:
        await grant(session, account.id, balance)
        await session.refresh(account)
    return account


async def make_dataset(
    session: AsyncSession,
    account_id: int,
    *,
    images: int = 0,
    name: str | None = None,
    trigger_word: str | None = "zqx",
    visibility: Visibility = Visibility.private,
    width: int = 64,
    height: int = 64,
    caption: str = "a test picture",
    blobs: BlobStore | None = None,
) -> Dataset:
    """A dataset with `images` image rows; with `blobs`, real PNG files are stored for them."""
    from tests.imagefactory import encode, shapes_image

    dataset = Dataset(
        account_id=account_id,
        name=name or f"set-{uuid.uuid4().hex[:8]}",
        trigger_word=trigger_word,
        description="",
        tags=[],
        visibility=str(visibility),
    )
    session.add(dataset)
    await session.flush()
    for index in range(images):
        data = encode(shapes_image(width, height, seed=dataset.id * 1000 + index), "PNG")
        key = await blobs.put_bytes(data) if blobs else f"unstored/{dataset.id}/{index}"
        session.add(
            Image(
                dataset_id=dataset.id,
                account_id=account_id,
                content_hash=sha256_hex(data),
                blob_key=key,
                byte_size=len(data),
                width=width,
                height=height,
                caption=caption,
                original_filename=f"img{index}.png",
            )
        )
    await session.flush()
    return dataset
