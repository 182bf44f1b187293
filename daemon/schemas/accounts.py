"""Accounts, their identities and links, and the ledger as a person sees it."""

from datetime import datetime

from pydantic import Field

from core.enums import LedgerKind, Platform
from daemon.schemas.common import MAX_ID, MAX_POINTS, Answer, Body
from daemon.schemas.languages import Language


class IdentityOut(Answer):
    platform: Platform
    platform_user_id: str


class AccountOut(Answer):
    id: int
    balance: int
    identities: list[IdentityOut]
    daily_spending_cap: int | None = Field(
        description="Most points spent per UTC day; null: none."
    )
    created_at: datetime


class MeOut(AccountOut):
    spent_today: int = Field(description="Points spent since 00:00 UTC, net of refunds.")
    language: Language = Field("en", description="The language the bots answer this identity in.")


class MePatch(Body):
    daily_spending_cap: int | None = Field(
        strict=True,
        ge=0,
        le=MAX_POINTS,
        description="Most points that may be spent per UTC day; null removes the cap.",
    )


class LinkCodeOut(Answer):
    code: str
    expires_at: datetime
    expires_in_seconds: int


class LinkIn(Body):
    code: str = Field(min_length=4, max_length=16)


class LinkOut(Answer):
    account: AccountOut
    moved_points: int
    merged_account_id: int


class LedgerQuery(Body):
    limit: int = Field(50, ge=1, le=500, description="Entries per page.")
    before_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Page: entries older than this id."
    )


class LedgerEntryOut(Answer):
    id: int
    delta: int
    kind: LedgerKind
    reference: str | None
    balance_after: int
    created_at: datetime


class LedgerOut(Answer):
    balance: int
    entries: list[LedgerEntryOut]
