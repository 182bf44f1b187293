"""The points ledger: every change of a balance is one idempotent, append-only entry."""

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Account, LedgerEntry
from core.enums import LedgerKind
from core.errors import Conflict, InsufficientPoints, InvalidInput, NotFound

MAX_KEY_CHARS = 200


def request_hash(delta: int, kind: LedgerKind | str, fingerprint: str | None) -> str:
    """The hash that tells a repeated request from a different one under the same key."""
    payload = json.dumps([int(delta), str(kind), fingerprint], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


async def lock_account(session: AsyncSession, account_id: int) -> Account:
    """Load an account holding its row lock (PostgreSQL), so money changes on it serialize.

    SQLite needs no row lock: every write transaction begins IMMEDIATE and holds the write lock.
    """
    account = await session.scalar(
        select(Account)
        .where(Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


async def lock_accounts(session: AsyncSession, account_ids: Iterable[int]) -> None:
    """Lock several accounts in ascending id order, so two transactions that both move money
    on the same two accounts (a use of each other's items) cannot deadlock."""
    for account_id in sorted(set(account_ids)):
        await lock_account(session, account_id)


async def find_entry(session: AsyncSession, account_id: int, key: str) -> LedgerEntry | None:
    """The entry an idempotency key already produced on an account, if any."""
    return await session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.account_id == account_id, LedgerEntry.idempotency_key == key
        )
    )


async def post_entry(
    session: AsyncSession,
    *,
    account_id: int,
    delta: int,
    kind: LedgerKind,
    idempotency_key: str,
    reference: str | None = None,
    fingerprint: str | None = None,
) -> tuple[LedgerEntry, bool]:
    """Append an entry and move the balance with it; a repeated key returns the first entry."""
    _check_request(delta, idempotency_key)
    digest = request_hash(delta, kind, fingerprint)
    await lock_account(session, account_id)
    existing = await find_entry(session, account_id, idempotency_key)
    if existing is not None:
        if existing.request_hash != digest:
            raise Conflict(
                f"idempotency key {idempotency_key!r} was already used for another request",
                code="IDEMPOTENCY_CONFLICT",
                idempotency_key=idempotency_key,
            )
        return existing, False
    # One statement both checks and moves the balance, so no interleaving can go below zero.
    new_balance = await session.scalar(
        update(Account)
        .where(Account.id == account_id, Account.balance + delta >= 0)
        .values(balance=Account.balance + delta)
        .returning(Account.balance)
    )
    if new_balance is None:
        current = await balance(session, account_id)
        raise InsufficientPoints(
            f"not enough points: {-delta} needed, {current} available",
            shortfall=-delta - current,
            balance=current,
            required=-delta,
        )
    entry = LedgerEntry(
        account_id=account_id,
        delta=delta,
        kind=str(kind),
        reference=reference,
        idempotency_key=idempotency_key,
        request_hash=digest,
        balance_after=new_balance,
    )
    session.add(entry)
    await session.flush()
    return entry, True


def _check_request(delta: int, key: str) -> None:
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise InvalidInput("a ledger delta must be an integer number of points")
    if delta == 0:
        raise InvalidInput("a ledger entry must move at least one point")
    if not key or len(key) > MAX_KEY_CHARS:
        raise InvalidInput(f"an idempotency key must have 1 to {MAX_KEY_CHARS} characters")


async def balance(session: AsyncSession, account_id: int) -> int:
    """The account's current balance."""
    value = await session.scalar(select(Account.balance).where(Account.id == account_id))
    if value is None:
        raise NotFound(f"account {account_id} does not exist")
    return int(value)


async def balances(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, int]:
    """The current balance of each account, in one query."""
    rows = await session.execute(
        select(Account.id, Account.balance).where(Account.id.in_(set(account_ids)))
    )
    return {account_id: int(value) for account_id, value in rows}


async def ledger_sum(session: AsyncSession, account_id: int) -> int:
    """The sum of the account's entries (equals `balance` unless something is broken)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
            LedgerEntry.account_id == account_id
        )
    )
    return int(total or 0)


async def list_entries(
    session: AsyncSession, account_id: int, *, limit: int = 50, before_id: int | None = None
) -> list[LedgerEntry]:
    """The account's entries, newest first (page with `before_id`)."""
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    rows = await session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit))
    return list(rows)


async def ledger_by_kind(session: AsyncSession) -> dict[str, int]:
    """Net points moved by each kind of entry, over every account."""
    rows = await session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.delta)).group_by(LedgerEntry.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}
