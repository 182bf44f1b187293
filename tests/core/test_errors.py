"""Error codes are part of the wire contract: the name-derived codes must stay these strings."""

import pytest

from core import errors


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (errors.InvalidInput, "INVALID_INPUT"),
        (errors.Unauthorized, "UNAUTHORIZED"),
        (errors.InsufficientPoints, "INSUFFICIENT_POINTS"),
        (errors.Forbidden, "FORBIDDEN"),
        (errors.NotFound, "NOT_FOUND"),
        (errors.Conflict, "CONFLICT"),
        (errors.TooLarge, "TOO_LARGE"),
        (errors.PreflightRefused, "PREFLIGHT_REFUSED"),
        (errors.RateLimited, "RATE_LIMITED"),
    ],
)
def test_code_is_the_class_name_in_upper_snake(cls: type[errors.DomainError], code: str) -> None:
    assert cls.code == code
    assert cls("x").code == code
    assert cls("x", code="FINER").code == "FINER"  # a raise may still be more specific
    assert errors.DomainError("x").code == "ERROR"
