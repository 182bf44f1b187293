"""Daemon suites' fixtures."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.settings import Settings
from daemon.app import create_app
from tests.daemon.hostile import Maker, World, make_world
from tests.daemon.market import Market


@pytest.fixture
async def world(client: TestClient, sessionmaker: Maker) -> World:
    """One account with points, a dataset of 8 captioned images, and one notification."""
    return await make_world(sessionmaker)


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
