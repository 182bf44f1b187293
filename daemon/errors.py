"""One middleware maps domain errors, validation errors and HTTP errors to the JSON error body."""

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientPoints,
    InvalidInput,
    NotFound,
    PreflightRefused,
    ProviderFailed,
    RateLimited,
    TooLarge,
    Unauthorized,
)

log = structlog.get_logger("lorabot.daemon")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A request aiohttp could not parse or whose body it could not decode: the sender's fault.
CLIENT_ERRORS = (HttpProcessingError, web.RequestPayloadError)

# The one table of statuses: by class for raising, by base code for documenting (OpenAPI).
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    InsufficientPoints: 402,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    PreflightRefused: 422,
    RateLimited: 429,
    ProviderFailed: 502,
}
STATUS_OF_CODE: dict[str, int] = {cls.code: status for cls, status in STATUS_OF.items()}

# aiohttp's own HTTP errors (unknown route, wrong method, body over client_max_size) get the
# code of the domain error with their status.
HTTP_CODES: dict[int, str] = {
    **{status: code for code, status in STATUS_OF_CODE.items()},
    405: "METHOD_NOT_ALLOWED",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> web.Response:
    """The one error shape: `{"error": {"code", "message", "details"}}`."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return web.json_response(body, status=status)


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (by the nearest mapped class)."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def domain_error_response(error: DomainError) -> web.Response:
    """A domain error as the JSON error body, with the headers its status calls for."""
    response = error_response(status_of(error), error.code, error.message, error.details)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(math.ceil(error.details.get("retry_after", 1)))
    return response


def validation_details(error: ValidationError) -> dict[str, Any]:
    """Pydantic's field errors, JSON-safe."""
    return {
        "fields": [
            {"loc": [str(p) for p in err["loc"]], "message": err["msg"], "type": err["type"]}
            for err in error.errors(include_url=False, include_context=False, include_input=False)
        ]
    }


def validation_message(error: ValidationError) -> str:
    """The one-line message of a validation error: the first field's place and complaint."""
    fields = validation_details(error)["fields"]
    first = fields[0] if fields else {"loc": [], "message": "invalid"}
    return f"{'.'.join(first['loc']) or 'body'}: {first['message']}"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the JSON error body with a fitting status."""
    try:
        return await handler(request)
    except DomainError as exc:
        return domain_error_response(exc)
    except ValidationError as exc:
        return error_response(
            400, "INVALID_INPUT", validation_message(exc), validation_details(exc)
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "HTTP_ERROR")
        response = error_response(exc.status, code, exc.reason or code.lower())
        # Keep what the exception says beyond its body, e.g. the `Allow` of a 405.
        extra = [(k, v) for k, v in exc.headers.items() if k.lower() != "content-type"]
        response.headers.extend(extra)
        return response
    except CLIENT_ERRORS as exc:
        # Raised while a handler reads the body: a broken chunk, gzip that is not gzip.
        return error_response(400, "INVALID_INPUT", f"the request body is unreadable: {exc}")
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return error_response(500, "INTERNAL", "internal error; the daemon log has the details")


class _ClientErrorsAreWarnings(logging.Filter):
    """aiohttp logs a request it cannot parse (bad request line, header, chunk or encoding) at
    error level with a traceback; that is the sender's fault, and anyone can send one per
    packet. Such a record becomes one warning line; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, CLIENT_ERRORS) and record.levelno > logging.WARNING:
            reason = " ".join(str(exc).split())
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = f"{record.getMessage()}: {reason}", ()
            record.exc_info = record.exc_text = None
        return True


# The logger of the daemon's HTTP protocol handler (handed to aiohttp by the app).
server_logger = logging.getLogger("lorabot.http")
server_logger.addFilter(_ClientErrorsAreWarnings())
