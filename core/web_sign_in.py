"""Signing in to the web dashboard: one-time links sent by a bot, and browser sessions.

A link and a session are random tokens handed to the person once; the database keeps only
their sha256, so a leaked database signs nobody in. A link is consumed by one guarded
`UPDATE … WHERE used_at IS NULL AND expires_at > now`: of two clicks (or a replay) exactly one
finds the row still open and gets a session; the other is refused.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import get_account
from core.db.models import Account, WebLink, WebSession
from core.db.types import utcnow
from core.errors import Conflict, NotFound

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The sha256 (hex) under which a link or session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    """A new link's secret (shown once, in the bot's message) and when it stops working."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedSession:
    """A new session's cookie value, its CSRF token and its end."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Viewer:
    """Who a session signs in: a person (their surviving account) or an operator."""

    account: Account | None
    is_operator: bool
    csrf_token: str

    @property
    def account_id(self) -> int | None:
        return None if self.account is None else self.account.id


async def issue_link(session: AsyncSession, account_id: int, *, ttl_seconds: int) -> IssuedLink:
    """A one-time sign-in link for an account, valid for `ttl_seconds`."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    link = WebLink(token_hash=token_hash(token), account_id=account_id, expires_at=expires_at)
    session.add(link)
    await session.flush()
    return IssuedLink(token, expires_at)


async def check_link(session: AsyncSession, token: str) -> WebLink:
    """The open link of `token` (nothing changes); refused like `redeem_link` would be."""
    link = await session.get(WebLink, token_hash(token))
    _refuse_closed(link)
    assert link is not None
    return link


def _refuse_closed(link: WebLink | None) -> None:
    if link is None:
        raise NotFound("this sign-in link is unknown", code="WEB_LINK_UNKNOWN")
    if link.used_at is not None:
        raise Conflict(
            "this sign-in link was already used; send /web to the bot for a new one",
            code="WEB_LINK_USED",
        )
    if link.expires_at <= utcnow():
        raise Conflict(
            "this sign-in link has expired; send /web to the bot for a new one",
            code="WEB_LINK_EXPIRED",
        )


async def redeem_link(
    session: AsyncSession, token: str, *, session_ttl_seconds: int
) -> IssuedSession:
    """Consume a link (once, atomically) and open a session for its account."""
    now, hashed = utcnow(), token_hash(token)
    account_id = await session.scalar(
        update(WebLink)
        .where(WebLink.token_hash == hashed, WebLink.used_at.is_(None), WebLink.expires_at > now)
        .values(used_at=now)
        .returning(WebLink.account_id)
    )
    if account_id is None:
        _refuse_closed(await session.get(WebLink, hashed, populate_existing=True))
        raise Conflict("this sign-in link was already used", code="WEB_LINK_USED")
    account = await get_account(session, account_id)
    return await _open_session(session, account.id, False, session_ttl_seconds)


async def open_operator_session(
    session: AsyncSession, *, session_ttl_seconds: int
) -> IssuedSession:
    """A session for an operator (who proved the admin token)."""
    return await _open_session(session, None, True, session_ttl_seconds)


async def _open_session(
    session: AsyncSession, account_id: int | None, is_operator: bool, ttl_seconds: int
) -> IssuedSession:
    token, csrf = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            account_id=account_id,
            is_operator=is_operator,
            csrf_token=csrf,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return IssuedSession(token, csrf, expires_at)


async def find_viewer(session: AsyncSession, token: str) -> Viewer | None:
    """Who the session of a cookie signs in, or None when it is unknown or over."""
    row = await session.scalar(
        select(WebSession).where(
            WebSession.token_hash == token_hash(token), WebSession.expires_at > utcnow()
        )
    )
    if row is None:
        return None
    # Linking two chat accounts merges one into the other: follow it to the survivor.
    account = None if row.account_id is None else await get_account(session, row.account_id)
    return Viewer(account, row.is_operator, row.csrf_token)


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign out: the session's row is removed."""
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


async def purge_expired(session: AsyncSession) -> int:
    """Remove links and sessions that are over; how many rows went."""
    now = utcnow()
    links = await session.execute(delete(WebLink).where(WebLink.expires_at <= now))
    sessions = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(links.rowcount or 0) + int(sessions.rowcount or 0)  # type: ignore[attr-defined]
