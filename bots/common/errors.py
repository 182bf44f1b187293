"""RPC errors as typed exceptions carrying the daemon's code, message and details."""

from typing import Any


class RpcError(Exception):
    """The daemon answered with an error body `{"error": {code, message, details}}`."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class InvalidInputError(RpcError):
    """400: the request was malformed or a value out of bounds."""


class AuthError(RpcError):
    """401/403: the bot's RPC token is missing or wrong."""


class InsufficientPointsError(RpcError):
    """402: not enough points; `details` carries `shortfall`, `balance`, `required`."""

    @property
    def shortfall(self) -> int:
        return int(self.details.get("shortfall", 0))


class NotFoundError(RpcError):
    """404: missing, or not the acting account's."""


class ConflictError(RpcError):
    """409: the state does not allow it (e.g. a dataset in use, an idempotency conflict)."""


class StaleStateError(ConflictError):
    """409 STALE_STATE: the conversation moved on (another tap, another bot replica) since it
    was read; `details` carries `current_version`."""

    @property
    def current_version(self) -> int:
        return int(self.details.get("current_version", 0))


class TooLargeError(RpcError):
    """413: the upload is too large."""


class PreflightRefusedError(RpcError):
    """422: the training would not run (too few images, base model missing...)."""


class RateLimitedError(RpcError):
    """429: slow down."""


# -- points: buying and quotes (bots-pay) ------------------------------------------------
class PackUnavailableError(NotFoundError):
    """404 PACK_UNAVAILABLE: the pack is unknown, or withdrawn from sale since it was shown."""


class SkuUnknownError(NotFoundError):
    """404 SKU_UNKNOWN: no pack is sold as this Discord SKU (the entitlement stays unconsumed)."""


class QuoteError(ConflictError):
    """409: the price a summary quoted no longer holds; `details` carries `quoted` (or null),
    `cost` and a fresh `quote` (`id`, `cost`, `expires_at`) to show and confirm."""

    @property
    def fresh_quote(self) -> dict[str, Any] | None:
        quote = self.details.get("quote")
        return quote if isinstance(quote, dict) else None


class QuoteExpiredError(QuoteError):
    """409 QUOTE_EXPIRED: the quote's few minutes are over."""


class QuoteChangedError(QuoteError):
    """409 QUOTE_CHANGED: the price of the same training changed since the quote."""


class DaemonUnavailable(Exception):
    """The daemon could not be reached, even after retries."""


_BY_STATUS: dict[int, type[RpcError]] = {
    400: InvalidInputError,
    401: AuthError,
    402: InsufficientPointsError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    422: PreflightRefusedError,
    429: RateLimitedError,
}


# Codes that get a narrower type than their status does.
_BY_CODE: dict[str, type[RpcError]] = {
    "PACK_UNAVAILABLE": PackUnavailableError,
    "SKU_UNKNOWN": SkuUnknownError,
    "QUOTE_EXPIRED": QuoteExpiredError,
    "QUOTE_CHANGED": QuoteChangedError,
    "STALE_STATE": StaleStateError,
}


def error_from_response(status: int, body: Any) -> RpcError:
    """Build the typed exception for an error response body (or a non-JSON one)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "HTTP_ERROR", "message": f"daemon answered HTTP {status}"}
    code = str(error.get("code") or "ERROR")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, RpcError)
    details = error.get("details")
    return cls(
        status,
        code,
        str(error.get("message") or ""),
        details if isinstance(details, dict) else {},
    )
