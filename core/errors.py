"""Domain errors. Each has a stable UPPER_SNAKE `code`; the daemon maps the class to HTTP."""

import re
from typing import Any


class DomainError(Exception):
    """Base of every error a user or operator may be shown.

    A subclass's `code` is its name in UPPER_SNAKE (`NotFound` -> `NOT_FOUND`), so the class
    and the code clients see cannot drift apart; a raise may still give a finer `code=`.
    """

    code = "ERROR"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).upper()

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    """The request is malformed or breaks a rule (400)."""


class Unauthorized(DomainError):
    """No valid credentials (401)."""


class InsufficientPoints(DomainError):
    """The balance does not cover the price (402)."""


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this (403)."""


class NotFound(DomainError):
    """Missing, or not the acting account's (both look the same from outside) (404)."""


class Conflict(DomainError):
    """Clashes with the current state, e.g. a name taken or a code used (409)."""


class TooLarge(DomainError):
    """Over a size limit (413)."""


class PreflightRefused(DomainError):
    """The job failed its preflight checks; `details` lists the issues (422)."""


class RateLimited(DomainError):
    """Too many requests; retry later (429)."""


class ProviderFailed(DomainError):
    """A payment provider refused or could not be reached; nothing was changed (502)."""
