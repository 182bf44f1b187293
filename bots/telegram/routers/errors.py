"""One place that turns daemon errors and stale buttons into a polite answer."""

import structlog
from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bots.common import texts
from bots.common.errors import DaemonUnavailable, RpcError, StaleStateError
from bots.common.screens import StaleAction

log = structlog.get_logger(__name__)


async def _reply(event: ErrorEvent, text: str, checkout: str = texts.CHECKOUT_FAILED) -> None:
    update = event.update
    if update.pre_checkout_query is not None:
        # Telegram cancels a payment whose pre-checkout is not answered in 10 s: refuse it.
        await update.pre_checkout_query.answer(ok=False, error_message=str(checkout))
    elif update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


async def on_stale_state(event: ErrorEvent) -> None:
    """Another tap or replica moved the conversation on first: it stays as that one left it."""
    await _reply(event, texts.STATE_MOVED_ON)


async def on_rpc_error(event: ErrorEvent) -> None:
    """The daemon refused: show its message."""
    assert isinstance(event.exception, RpcError)
    await _reply(event, texts.ERROR.format(message=event.exception.message))


async def on_daemon_down(event: ErrorEvent) -> None:
    """The daemon is unreachable."""
    log.warning("daemon_unavailable", error=str(event.exception))
    await _reply(event, str(texts.DAEMON_DOWN), texts.CHECKOUT_DOWN)


async def on_stale(event: ErrorEvent) -> None:
    """A button or answer that no longer fits the conversation."""
    await _reply(event, str(texts.STALE_BUTTON))


def build() -> Router:
    """The error router."""
    router = Router(name="errors")
    router.errors.register(on_stale_state, ExceptionTypeFilter(StaleStateError))
    router.errors.register(on_rpc_error, ExceptionTypeFilter(RpcError))
    router.errors.register(on_daemon_down, ExceptionTypeFilter(DaemonUnavailable))
    router.errors.register(on_stale, ExceptionTypeFilter(StaleAction))
    return router
