"""Webhooks of the fake Bot API: `setWebhook`, `deleteWebhook`, `getWebhookInfo`, and delivery.

As Telegram does: while a webhook is set, `getUpdates` is refused with 409 Conflict and every
pending update is POSTed to the webhook as JSON, with the registered secret in the
`X-Telegram-Bot-Api-Secret-Token` header; an answer other than 2xx (or no answer) keeps the
update pending and it is sent again later, so `getWebhookInfo` shows it with the last error.
Updates go out one at a time, in order (Telegram's `max_connections` of 1). The checks on the
URL are those of a local Bot API server (`--local`, which a base URL like this fake's stands
for): http:// and any port are allowed there, where api.telegram.org wants https on 443, 80,
88 or 8443.
"""

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from tests.bots.fakes.telegram_stars import BotApiError, _flag

SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]*")
GET_UPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
# What a long poll that was waiting when the webhook got set is answered.
POLL_ENDED_BY_WEBHOOK = "Conflict: terminated by setWebhook request"


@dataclass
class Delivery:
    """One POST of an update to the webhook and how it was answered."""

    update_id: int
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    answered_at: float = field(default_factory=time.monotonic)


@dataclass
class Webhook:
    """The webhook as `setWebhook` registered it."""

    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class WebhookState:
    """What the webhook side of the fake remembers."""

    hook: Webhook | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    # Seconds before an update that was not accepted is sent again (Telegram backs off more).
    retry_seconds: float = 0.3
    task: asyncio.Task[None] | None = None


class WebhookDelivery:
    """Mixed into `FakeTelegram`: the webhook methods and the delivery loop."""

    webhook: WebhookState
    updates: list[dict[str, Any]]
    allowed_updates: list[str]
    _changed: asyncio.Condition

    if TYPE_CHECKING:  # what FakeTelegram provides

        def _wanted(self, update: dict[str, Any]) -> bool: ...

        async def _notify(self) -> None: ...

    # -- the Bot API -------------------------------------------------------------------
    async def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        url = str(p.get("url") or "")
        if not url:  # "Use an empty string to remove webhook integration."
            return await self._m_deletewebhook(p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BotApiError(400, "Bad Request: bad webhook: Failed to resolve host")
        secret = p.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if len(secret) > 256:
                raise BotApiError(400, "Bad Request: secret token is too long")
            if not SECRET_CHARS.fullmatch(secret):
                raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("allowed_updates") is not None:  # unset: the previous setting stays
            allowed = p["allowed_updates"]
            self.allowed_updates = json.loads(allowed) if isinstance(allowed, str) else allowed
        if _flag(p.get("drop_pending_updates")):
            self.updates.clear()
        self.webhook.hook = Webhook(url, secret or None, int(p.get("max_connections") or 40))
        if self.webhook.task is None or self.webhook.task.done():
            self.webhook.task = asyncio.get_running_loop().create_task(self._deliver_all())
        return True

    async def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        self.webhook.hook = None
        if _flag(p.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def _m_getwebhookinfo(self, _: dict[str, Any]) -> dict[str, Any]:
        hook = self.webhook.hook
        if hook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        info: dict[str, Any] = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": sum(1 for u in self.updates if self._wanted(u)),
            "max_connections": hook.max_connections,
        }
        if self.allowed_updates:
            info["allowed_updates"] = self.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    def _refuse_get_updates(self, *, waiting: bool = False) -> None:
        """getUpdates and a webhook exclude each other (`waiting`: a long poll under way)."""
        if self.webhook.hook is not None:
            raise BotApiError(409, POLL_ENDED_BY_WEBHOOK if waiting else GET_UPDATES_CONFLICT)

    # -- delivery ----------------------------------------------------------------------
    async def _deliver_all(self) -> None:
        """POST pending updates in order while a webhook is set; return once it is removed."""
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                async with self._changed:
                    while True:
                        hook = self.webhook.hook
                        # Updates of a type the bot did not ask for are never delivered.
                        self.updates[:] = [u for u in self.updates if self._wanted(u)]
                        if hook is None:
                            return
                        if self.updates:
                            break
                        await self._changed.wait()
                update = self.updates[0]
                if await self._post(http, hook, update):
                    with contextlib.suppress(ValueError):  # dropped meanwhile
                        self.updates.remove(update)
                else:
                    await asyncio.sleep(self.webhook.retry_seconds)

    async def _post(
        self, http: aiohttp.ClientSession, hook: Webhook, update: dict[str, Any]
    ) -> bool:
        headers: dict[str, str] = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        status: int | None = None
        try:
            async with http.post(hook.url, json=update, headers=headers) as resp:
                status = resp.status
                await resp.read()
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientError:
            error = "Connection reset by peer"
        self.webhook.deliveries.append(Delivery(update["update_id"], status))
        await self._notify()
        if status is not None and 200 <= status < 300:
            return True
        hook.last_error_date, hook.last_error_message = int(time.time()), error
        return False

    async def _stop_delivery(self) -> None:
        task = self.webhook.task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- for tests ---------------------------------------------------------------------
    async def wait_delivery(
        self, predicate: Callable[[Delivery], bool], timeout: float = 30.0
    ) -> Delivery:
        """The first delivery to the webhook (accepted or not) matching `predicate`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for delivery in self.webhook.deliveries:
                    if predicate(delivery):
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = self.webhook.deliveries
                    raise AssertionError(f"timed out; deliveries so far: {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
