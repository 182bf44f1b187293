"""Request parsing: JSON bodies and query strings into pydantic models (errors become 400)."""

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from core.errors import InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BYTES = 1024 * 1024


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Validate the JSON body; a bad body raises InvalidInput or pydantic's ValidationError."""
    raw = await _read_limited(request, MAX_JSON_BYTES)
    if not raw.strip():
        data: object = {}
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the JSON body must be an object")
    return model.model_validate(data)


async def _read_limited(request: web.Request, limit: int) -> bytes:
    # The app's client_max_size is sized for image uploads; JSON bodies get a far lower cap,
    # checked while reading so a chunked body without Content-Length cannot exceed it.
    too_large = TooLarge(f"the JSON body is larger than {limit} bytes", limit=limit)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_query(request: web.Request, model: type[M]) -> M:
    """Validate the query string (a repeated key keeps its first value)."""
    return model.model_validate(dict(request.query))


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter, e.g. `{id}`; anything else is a 400."""
    value = request.match_info[name]
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {value!r}") from None
    if not 0 < number < 2**63:
        raise InvalidInput(f"{name} is out of range")
    return number
