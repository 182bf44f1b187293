"""Accounts on a real SQLite file: first sight under concurrency, and what a link moves."""

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts import (
    LINK_ALPHABET,
    account_for_identity,
    create_link_code,
    get_account,
    parse_identity,
    redeem_link_code,
)
from core.db.models import Dataset, Image, Job
from core.economy import MarketRules
from core.enums import Platform
from core.errors import InvalidInput
from core.jobs import JobRequest, submit_job
from core.ledger import ledger_sum
from core.offerings import OfferingRegistry
from core.settings import BUNDLED_OFFERINGS
from tests.conftest import make_account, make_dataset

Maker = async_sessionmaker[AsyncSession]


@pytest.mark.parametrize("value", ["telegram", "telegram:", ":5", "icq:5", "discord:" + "9" * 65])
def test_bad_identities_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_identity(value)


async def test_first_sight_under_concurrency_makes_one_account(db: Maker) -> None:
    async def first_call() -> int:
        async with db.begin() as session:
            return (await account_for_identity(session, Platform.telegram, "77")).id

    assert len(set(await asyncio.gather(*(first_call() for _ in range(20))))) == 1


async def test_link_moves_points_datasets_images_and_jobs(db: Maker, tmp_path: Path) -> None:
    await _link_scenario(db, tmp_path)


@pytest.mark.postgres
async def test_link_on_postgres(pg: Maker, tmp_path: Path) -> None:
    await _link_scenario(pg, tmp_path)


async def _link_scenario(db: Maker, tmp_path: Path) -> None:
    """Two accounts with points, same-named datasets and same-keyed jobs, linked into one."""
    registry = OfferingRegistry.load(BUNDLED_OFFERINGS)
    async with db.begin() as session:
        tg, dc = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
        target = await make_account(session, platform_user_id=tg, balance=10)
        source = await make_account(
            session, platform=Platform.discord, platform_user_id=dc, balance=30
        )
        await make_dataset(session, target.id, name="cats", images=4)
        theirs = await make_dataset(session, source.id, name="cats", images=5)
        for account in (target, source):
            await submit_job(
                session,
                registry,
                MarketRules(),
                account_id=account.id,
                platform=None,
                platform_user_id=None,
                request=JobRequest(
                    theirs.id if account is source else theirs.id - 1,
                    "tiny-lora",
                    "fast",
                    "same-key",
                ),
                data_dir=tmp_path,
            )
        link = await create_link_code(session, target.id, ttl_seconds=60)
    assert len(link.code) == 8 and set(link.code) <= set(LINK_ALPHABET)
    async with db.begin() as session:
        redeemer = await account_for_identity(session, Platform.discord, dc)
        result = await redeem_link_code(session, link.code, redeemer)
    assert result.moved_points == 23  # 30 minus the 7-point job
    async with db() as session:
        merged = await get_account(session, source.id)  # follows merged_into_id
        assert merged.id == target.id and merged.balance == 3 + 23
        assert await ledger_sum(session, target.id) == merged.balance
        assert await ledger_sum(session, source.id) == 0
        names = sorted(
            await session.scalars(select(Dataset.name).where(Dataset.account_id == target.id))
        )
        assert names == ["cats", f"cats (linked {theirs.id})"]
        owners = select(Image.account_id).where(Image.account_id.in_((target.id, source.id)))
        assert set(await session.scalars(owners)) == {target.id}
        jobs = select(Job).where(Job.account_id.in_((target.id, source.id)))
        jobs_now = list(await session.scalars(jobs))
        keys = sorted(job.idempotency_key for job in jobs_now)
        assert {job.account_id for job in jobs_now} == {target.id}
        assert keys[0] == "same-key" and keys[1].startswith("same-key#linked")
        found = await account_for_identity(session, Platform.discord, dc)
        assert found.id == target.id
