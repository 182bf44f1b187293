"""Accounts and their chat identities; linking two identities into one account."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from core import activity
from core.db.models import (
    Account,
    Activity,
    Dataset,
    Identity,
    Image,
    Job,
    LinkCode,
    Model,
    Notification,
    PaidUse,
    Purchase,
    Quote,
)
from core.db.types import utcnow
from core.enums import ActivityKind, LedgerKind, Platform
from core.errors import Conflict, InvalidInput, NotFound
from core.ledger import lock_account, post_entry

# No 0/O, 1/I/L: the code is read from one chat and typed into another.
LINK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 8
MAX_USER_ID_CHARS = 64


def parse_identity(value: str) -> tuple[Platform, str]:
    """Parse `<platform>:<platform_user_id>` (the `X-User` header) into its canonical parts.

    Spacing around either part and the platform's letter case do not make another identity:
    `" Telegram : 42 "` is `telegram:42`, for the account and for the rate limit alike.
    """
    platform, sep, user_id = value.partition(":")
    platform, user_id = platform.strip().lower(), user_id.strip()
    if not sep or not user_id:
        raise InvalidInput("X-User must look like '<platform>:<platform_user_id>'")
    try:
        parsed = Platform(platform)
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        raise InvalidInput(f"unknown platform {platform!r}; known: {known}") from None
    # isprintable() is False for lone surrogates too: undecodable header bytes are refused here.
    if len(user_id) > MAX_USER_ID_CHARS or not user_id.isprintable():
        raise InvalidInput(f"platform user id must be 1-{MAX_USER_ID_CHARS} printable characters")
    return parsed, user_id


def canonical_identity(value: str) -> str:
    """The one spelling of an `X-User` value, `<platform>:<platform_user_id>`."""
    platform, user_id = parse_identity(value)
    return f"{platform.value}:{user_id}"


async def get_account(session: AsyncSession, account_id: int) -> Account:
    """An account with its identities, following merges to the surviving account."""
    seen: set[int] = set()
    while True:
        account = await session.scalar(
            select(Account)
            .where(Account.id == account_id)
            .options(selectinload(Account.identities))
            .execution_options(populate_existing=True)
        )
        if account is None:
            raise NotFound(f"account {account_id} does not exist")
        if account.merged_into_id is None or account.id in seen:
            return account
        seen.add(account.id)
        account_id = account.merged_into_id


async def find_account_for_identity(
    session: AsyncSession, platform: Platform, platform_user_id: str
) -> Account | None:
    """The account of an identity, or None when the identity was never seen (reads only)."""
    # One query for the identity and its account (every request makes it).
    account = await session.scalar(
        select(Account)
        .join(Identity, Identity.account_id == Account.id)
        .where(Identity.platform == platform, Identity.platform_user_id == platform_user_id)
        .options(selectinload(Account.identities))
        .execution_options(populate_existing=True)
    )
    if account is None or account.merged_into_id is None:
        return account
    return await get_account(session, account.merged_into_id)


async def account_for_identity(
    session: AsyncSession, platform: Platform, platform_user_id: str
) -> Account:
    """The account of an identity, created with the identity on first sight (race-safe)."""
    for _ in range(3):
        found = await find_account_for_identity(session, platform, platform_user_id)
        if found is not None:
            return found
        try:
            # A savepoint: losing the race to a concurrent first call leaves our transaction
            # usable, and the retry finds the winner's identity.
            async with session.begin_nested():
                account = Account(balance=0)
                session.add(account)
                await session.flush()
                session.add(
                    Identity(
                        account_id=account.id,
                        platform=str(platform),
                        platform_user_id=platform_user_id,
                    )
                )
                await session.flush()
        except IntegrityError:
            continue
        return await get_account(session, account.id)
    raise Conflict("could not create the account; please retry", code="RETRY")


async def create_link_code(session: AsyncSession, account_id: int, ttl_seconds: int) -> LinkCode:
    """Issue a one-time code that joins whoever redeems it to this account."""
    code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    link = LinkCode(
        code=code,
        account_id=account_id,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    )
    session.add(link)
    await session.flush()
    return link


@dataclass
class LinkResult:
    account: Account
    moved_points: int
    merged_account_id: int


async def redeem_link_code(session: AsyncSession, code: str, redeemer: Account) -> LinkResult:
    """Merge the redeemer's account into the code issuer's account (one balance, one history)."""
    link = await session.scalar(
        select(LinkCode).where(LinkCode.code == code.strip().upper()).with_for_update()
    )
    if link is None:
        raise NotFound("unknown link code", code="LINK_CODE_UNKNOWN")
    if link.used_at is not None:
        raise Conflict("this link code was already used", code="LINK_CODE_USED")
    if link.expires_at <= utcnow():
        raise Conflict("this link code has expired; ask for a new one", code="LINK_CODE_EXPIRED")
    target = await get_account(session, link.account_id)
    if target.id == redeemer.id:
        raise Conflict("this code belongs to your own account", code="LINK_SELF")
    # Lock both rows in id order so two crossing links cannot deadlock.
    for account_id in sorted((target.id, redeemer.id)):
        await lock_account(session, account_id)
    await _refuse_platform_clash(session, target.id, redeemer.id)
    link.used_at = utcnow()
    joined = select(Identity.platform).where(Identity.account_id == redeemer.id)
    platforms = sorted(set(await session.scalars(joined)))
    moved = await _move_balance(session, code=link.code, source=redeemer.id, target=target.id)
    await _move_belongings(session, source=redeemer.id, target=target.id)
    await session.execute(
        update(Account).where(Account.id == redeemer.id).values(merged_into_id=target.id)
    )
    await activity.record(
        session,
        account_id=target.id,
        kind=ActivityKind.accounts_linked,
        payload={"merged_account_id": redeemer.id, "platforms": platforms, "moved_points": moved},
        dedupe_key=f"link:{link.code}",
    )
    return LinkResult(
        account=await get_account(session, target.id),
        moved_points=moved,
        merged_account_id=redeemer.id,
    )


async def _refuse_platform_clash(session: AsyncSession, target_id: int, source_id: int) -> None:
    rows = await session.execute(
        select(Identity.account_id, Identity.platform).where(
            Identity.account_id.in_((target_id, source_id))
        )
    )
    platforms: dict[int, set[str]] = {target_id: set(), source_id: set()}
    for account_id, platform in rows:
        platforms[account_id].add(platform)
    clash = sorted(platforms[target_id] & platforms[source_id])
    if clash:
        raise Conflict(
            f"both accounts already have a {clash[0]} identity; an account holds one per platform",
            code="LINK_SAME_PLATFORM",
            platforms=clash,
        )


async def _move_balance(session: AsyncSession, *, code: str, source: int, target: int) -> int:
    amount = int(await session.scalar(select(Account.balance).where(Account.id == source)) or 0)
    if amount == 0:
        return 0
    reference = f"link:{code}"
    await post_entry(
        session,
        account_id=source,
        delta=-amount,
        kind=LedgerKind.link_transfer,
        idempotency_key=f"{reference}:out",
        reference=f"{reference}:to:{target}",
    )
    await post_entry(
        session,
        account_id=target,
        delta=amount,
        kind=LedgerKind.link_transfer,
        idempotency_key=f"{reference}:in",
        reference=f"{reference}:from:{source}",
    )
    return amount


async def _move_belongings(session: AsyncSession, *, source: int, target: int) -> None:
    await _rename_clashes(session, Dataset, Dataset.name, source, target, " (linked {id})")
    await _rename_clashes(session, Job, Job.idempotency_key, source, target, "#linked{id}")
    # The joined account's history (its activity feed too) is the surviving account's now.
    for model in (Identity, Dataset, Image, Job, Model, Notification, Purchase, Quote, Activity):
        await session.execute(
            update(model).where(model.account_id == source).values(account_id=target)
        )
    # The target holds the points now: a royalty reversal takes them from there.
    for column in (PaidUse.owner_id, PaidUse.user_id):
        await session.execute(update(PaidUse).where(column == source).values({column: target}))


async def _rename_clashes(
    session: AsyncSession,
    model: type[Dataset] | type[Job],
    column: InstrumentedAttribute[str],
    source: int,
    target: int,
    suffix: str,
) -> None:
    """Rename the source's rows whose unique-per-account value the target already uses."""
    taken = select(column).where(model.account_id == target)
    rows = await session.execute(
        select(model.id, column).where(model.account_id == source, column.in_(taken))
    )
    for row_id, value in rows.all():
        await session.execute(
            update(model)
            .where(model.id == row_id)
            .values({column: value + suffix.format(id=row_id)})
        )


async def count_accounts(session: AsyncSession) -> int:
    """Accounts that are not merged into another."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Account).where(Account.merged_into_id.is_(None))
        )
        or 0
    )


async def list_accounts(session: AsyncSession, *, after_id: int = 0, limit: int) -> list[Account]:
    """Surviving accounts with their identities, by id, after `after_id` (operators)."""
    rows = await session.scalars(
        select(Account)
        .where(Account.merged_into_id.is_(None), Account.id > after_id)
        .options(selectinload(Account.identities))
        .order_by(Account.id)
        .limit(limit)
    )
    return list(rows)
