"""Domain errors. Each has a stable UPPER_SNAKE `code`; the daemon maps the class to HTTP."""

from typing import Any


class DomainError(Exception):
    """Base of every error a user or operator may be shown."""

    code = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class NotFound(DomainError):
    """Missing, or not the acting account's (both look the same from outside)."""

    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class InsufficientPoints(DomainError):
    code = "INSUFFICIENT_POINTS"


class PreflightRefused(DomainError):
    code = "PREFLIGHT_REFUSED"


class TooLarge(DomainError):
    code = "TOO_LARGE"


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class RateLimited(DomainError):
    code = "RATE_LIMITED"
