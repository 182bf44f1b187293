"""The ledger's rules on a real SQLite database: idempotency, conflicts, no negative balance."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Account
from core.enums import LedgerKind
from core.errors import Conflict, InsufficientPoints, InvalidInput, NotFound
from core.ledger import balance, ledger_sum, list_entries, post_entry
from tests.conftest import make_account

Maker = async_sessionmaker[AsyncSession]


async def test_repeated_key_applies_once(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
    for _ in range(3):
        async with db.begin() as session:
            entry, created = await post_entry(
                session,
                account_id=account.id,
                delta=50,
                kind=LedgerKind.grant,
                idempotency_key="grant-1",
                reference="welcome",
            )
    async with db() as session:
        assert await balance(session, account.id) == 50
        assert await ledger_sum(session, account.id) == 50
        entries = await list_entries(session, account.id)
    assert [(e.delta, e.balance_after, e.reference) for e in entries] == [(50, 50, "welcome")]
    assert created is False


@pytest.mark.parametrize(
    ("delta", "kind", "fingerprint"),
    [(51, LedgerKind.grant, None), (50, LedgerKind.purchase, None), (50, LedgerKind.grant, "x")],
)
async def test_same_key_other_content_is_a_conflict(
    db: Maker, delta: int, kind: LedgerKind, fingerprint: str | None
) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        await post_entry(
            session, account_id=account.id, delta=50, kind=LedgerKind.grant, idempotency_key="k"
        )
    with pytest.raises(Conflict) as caught:
        async with db.begin() as session:
            await post_entry(
                session,
                account_id=account.id,
                delta=delta,
                kind=kind,
                idempotency_key="k",
                fingerprint=fingerprint,
            )
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    async with db() as session:
        assert await balance(session, account.id) == 50


async def test_debit_beyond_balance_is_refused_with_the_shortfall(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session, balance=30)
    with pytest.raises(InsufficientPoints) as caught:
        async with db.begin() as session:
            await post_entry(
                session,
                account_id=account.id,
                delta=-45,
                kind=LedgerKind.training_debit,
                idempotency_key="job:1",
            )
    assert caught.value.details == {"shortfall": 15, "balance": 30, "required": 45}
    async with db() as session:
        assert await balance(session, account.id) == 30
        assert await ledger_sum(session, account.id) == 30
    # The refused key was not spent: the same debit succeeds once the points are there.
    async with db.begin() as session:
        await post_entry(
            session, account_id=account.id, delta=15, kind=LedgerKind.grant, idempotency_key="g2"
        )
        entry, created = await post_entry(
            session,
            account_id=account.id,
            delta=-45,
            kind=LedgerKind.training_debit,
            idempotency_key="job:1",
        )
    assert created and entry.balance_after == 0


@pytest.mark.parametrize(("delta", "key"), [(0, "k"), (5, ""), (5, "k" * 201), (True, "k")])
async def test_bad_entries_are_refused(db: Maker, delta: int, key: str) -> None:
    async with db.begin() as session:
        account = await make_account(session)
    with pytest.raises(InvalidInput):
        async with db.begin() as session:
            await post_entry(
                session,
                account_id=account.id,
                delta=delta,
                kind=LedgerKind.grant,
                idempotency_key=key,
            )


async def test_unknown_account(db: Maker) -> None:
    with pytest.raises(NotFound):
        async with db.begin() as session:
            await post_entry(
                session, account_id=999, delta=5, kind=LedgerKind.grant, idempotency_key="k"
            )


async def test_database_refuses_a_negative_balance(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
    with pytest.raises(IntegrityError):
        async with db.begin() as session:
            row = await session.scalar(select(Account).where(Account.id == account.id))
            row.balance = -1


async def test_entries_newest_first_and_paged(db: Maker) -> None:
    async with db.begin() as session:
        account = await make_account(session)
        for i in range(5):
            await post_entry(
                session,
                account_id=account.id,
                delta=i + 1,
                kind=LedgerKind.grant,
                idempotency_key=f"g{i}",
            )
    async with db() as session:
        first = await list_entries(session, account.id, limit=2)
        rest = await list_entries(session, account.id, limit=10, before_id=first[-1].id)
    assert [e.delta for e in first] == [5, 4]
    assert [e.delta for e in rest] == [3, 2, 1]
