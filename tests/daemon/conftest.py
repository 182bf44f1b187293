"""Daemon suites' fixtures."""

import pytest
from aiohttp.test_utils import TestClient

from tests.daemon.hostile import Maker, World, make_world


@pytest.fixture
async def world(client: TestClient, sessionmaker: Maker) -> World:
    """One account with points, a dataset of 8 captioned images, and one notification."""
    return await make_world(sessionmaker)
