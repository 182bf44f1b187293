"""Fixtures of the dataset tests: each runs on a real SQLite file and on PostgreSQL."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.blobs import LocalBlobStore
from core.db.migrate import upgrade_to_head
from core.db.session import create_engine, make_sessionmaker
from tests.core.datasets.builders import Sessionmaker


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    return request.getfixturevalue("postgres_url")  # one fresh database per module


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[Sessionmaker]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield make_sessionmaker(engine)
    if engine.dialect.name == "postgresql":  # the module's tests share the database
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "TRUNCATE job_metrics, models, jobs, images, datasets, ledger_entries, "
                    "identities, link_codes, notifications, accounts RESTART IDENTITY CASCADE"
                )
            )
    await engine.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")
