"""`Transport`: the daemon's RPC over one aiohttp session (headers, retries, typed errors).

`bots.common.client.DaemonClient` builds one typed method per route on it.
"""

import asyncio
import json
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import structlog
from pydantic import BaseModel

from bots.common.errors import DaemonUnavailable, error_from_response
from bots.common.i18n import PLATFORM_LOCALE
from bots.common.schemas import Actor

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

# A refused connection never reached the daemon, so any request may be sent again. A dropped
# one may have been processed: only calls that are safe to repeat are retried then.
_NOT_SENT = (aiohttp.ClientConnectorError, ConnectionRefusedError)
_MAYBE_SENT = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, asyncio.TimeoutError)


class Transport:
    """Requests to the daemon on behalf of chat users (`Actor`) and of the bot itself."""

    def __init__(
        self,
        base_url: str,
        rpc_token: str | None,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 120.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = rpc_token
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        """Whether the session is closed (the bot is stopping, or not started)."""
        return self._session is None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, actor: Actor | None) -> dict[str, str]:
        headers = {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if actor is not None:
            headers["X-User"] = actor.header
            reported = PLATFORM_LOCALE.get()
            if reported:
                headers["X-User-Locale"] = reported  # stored by the daemon when it changes
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        actor: Actor | None,
        *,
        json_body: Any = None,
        form: Any = None,
        params: dict[str, Any] | None = None,
        repeatable: bool | None = None,
        raw: bool = False,
        attempts: int | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        """Send one request, retrying connection failures; return (status, JSON or bytes)."""
        if self._session is None:
            raise RuntimeError("DaemonClient used outside `async with`")
        repeatable = method == "GET" if repeatable is None else repeatable
        attempts = attempts or self._attempts
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        for attempt in range(1, attempts + 1):
            data = form() if callable(form) else form
            try:
                async with self._session.request(
                    method,
                    self._base + path,
                    headers=self._headers(actor),
                    json=json_body,
                    data=data,
                    params=params,
                    timeout=limit or self._timeout,
                ) as resp:
                    body: Any = await resp.read()
                    if resp.status >= 400:
                        raise error_from_response(resp.status, _json_or_none(body))
                    return resp.status, body if raw else _json_or_none(body)
            except _NOT_SENT + _MAYBE_SENT as exc:
                if not (isinstance(exc, _NOT_SENT) or repeatable) or attempt == attempts:
                    raise DaemonUnavailable(f"daemon unreachable: {exc}") from exc
                log.warning("daemon_retry", path=path, attempt=attempt, error=str(exc))
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def _get(self, path: str, actor: Actor | None, model: type[M], **params: Any) -> M:
        _, body = await self._call("GET", path, actor, params=clean(params))
        return model.model_validate(body)

    async def _send(
        self, method: str, path: str, actor: Actor | None, model: type[M], **kwargs: Any
    ) -> M:
        _, body = await self._call(method, path, actor, **kwargs)
        return model.model_validate(body)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """The fields that are set (the daemon's defaults stand for the others)."""
    return {k: v for k, v in values.items() if v is not None}
