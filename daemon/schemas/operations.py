"""Operators' routes (grants, accounts, stats) and liveness."""

from pydantic import Field

from daemon.schemas.accounts import AccountOut, LedgerEntryOut
from daemon.schemas.common import KEY, MAX_ID, MAX_POINTS, Answer, Body


class GrantIn(Body):
    amount: int = Field(
        strict=True,
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        description="Points to add (negative takes points away).",
    )
    reason: str = Field(min_length=1, max_length=150)
    idempotency_key: str = KEY


class GrantOut(Answer):
    entry: LedgerEntryOut
    balance: int
    created: bool


class AdminAccountsQuery(Body):
    limit: int = Field(100, ge=1, le=1000)
    after_id: int = Field(0, ge=0, le=MAX_ID, description="Page: accounts with a larger id.")


class AdminAccountsOut(Answer):
    accounts: list[AccountOut]


class StatsOut(Answer):
    accounts: int
    jobs_by_status: dict[str, int]
    points_outstanding: int
    ledger_by_kind: dict[str, int]
    queued: int


class HealthOut(Answer):
    status: str
    version: str
