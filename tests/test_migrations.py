"""`alembic upgrade head` builds the schema from nothing, and the models agree with it."""

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from core.db.base import Base
from core.db.migrate import upgrade_to_head
from core.db.session import create_engine
from tests.conftest import REPO, run_lorabot

TABLES = {
    "accounts",
    "identities",
    "link_codes",
    "ledger_entries",
    "datasets",
    "images",
    "jobs",
    "job_metrics",
    "models",
    "notifications",
    "alembic_version",
}


def _differences(connection: Connection) -> list:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "render_as_batch": connection.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


async def _upgrade_and_compare(url: str) -> tuple[set[str], list]:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # a second upgrade is a no-op
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    return tables, diff


async def test_sqlite_upgrade_from_empty_matches_models(tmp_path: Path) -> None:
    tables, diff = await _upgrade_and_compare(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    assert tables >= TABLES
    assert diff == []


@pytest.mark.postgres
async def test_postgres_upgrade_from_empty_matches_models(postgres_url: str) -> None:
    tables, diff = await _upgrade_and_compare(postgres_url)
    assert tables >= TABLES
    assert diff == []


def test_alembic_cli_and_lorabot_migrate(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    alembic = [sys.executable, "-m", "alembic", "-x", f"url={url}"]
    subprocess.run([*alembic, "upgrade", "head"], cwd=REPO, check=True, capture_output=True)
    check = subprocess.run([*alembic, "check"], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    env = {"LORABOT_DATA_DIR": str(tmp_path / "var"), "LORABOT_DATABASE_URL": ""}
    out = run_lorabot("migrate", env=env, check=True)
    assert "up to date" in out.stdout
    assert (tmp_path / "var" / "lorabot.sqlite3").is_file()
