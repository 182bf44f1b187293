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


class TooLargeError(RpcError):
    """413: the upload is too large."""


class PreflightRefusedError(RpcError):
    """422: the training would not run (too few images, base model missing...)."""


class RateLimitedError(RpcError):
    """429: slow down."""


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


def error_from_response(status: int, body: Any) -> RpcError:
    """Build the typed exception for an error response body (or a non-JSON one)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "HTTP_ERROR", "message": f"daemon answered HTTP {status}"}
    cls = _BY_STATUS.get(status, RpcError)
    details = error.get("details")
    return cls(
        status,
        str(error.get("code") or "ERROR"),
        str(error.get("message") or ""),
        details if isinstance(details, dict) else {},
    )
