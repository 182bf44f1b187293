"""Request parsing: JSON bodies and query strings into pydantic models (errors become 400)."""

import json
import math
from typing import TypeVar, get_origin

from aiohttp import web
from multidict import MultiDict
from pydantic import BaseModel

from core.errors import InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BYTES = 1024 * 1024
# Far above any legitimate body (the deepest is a job's reply_to object inside the body).
MAX_JSON_DEPTH = 32
# A BIGINT has 19 digits; anything much longer is not a number this daemon can use.
MAX_INT_DIGITS = 30


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Validate the JSON body; a bad body raises InvalidInput or pydantic's ValidationError."""
    raw = await _read_limited(request, MAX_JSON_BYTES)
    data = decode_json(raw, what="the body") if raw.strip() else {}
    if not isinstance(data, dict):
        raise InvalidInput("the JSON body must be an object")
    return model.model_validate(data)


class _OverLimit(ValueError):
    """A JSON number the decoder was asked to refuse."""


def _parse_int(digits: str) -> int:
    # Python's own limit is 4,300 digits (a ValueError); an id or amount has at most 19.
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _OverLimit(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OverLimit(f"the number {text[:20]} is too large")
    return value


def _refuse_constant(name: str) -> float:
    raise _OverLimit(f"{name} is not a JSON number")


def decode_json(raw: bytes, *, what: str) -> object:
    """Decode UTF-8 JSON within bounds: nesting depth, integer digits, finite numbers, and
    text that is valid Unicode (no lone surrogates from `\\ud800` escapes).

    Every refusal is InvalidInput, so no JSON route can answer 500 for odd but valid JSON.
    """
    try:
        data = json.loads(
            raw.decode("utf-8-sig"),  # RFC 8259: UTF-8; a leading BOM may be ignored
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
    except _OverLimit as exc:
        raise InvalidInput(f"{what} is refused: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep") from None
    check_json_value(data, what=what)
    return data


def check_json_value(data: object, *, what: str) -> None:
    """InvalidInput when decoded JSON nests too deeply or holds text that is not Unicode."""
    pending: list[tuple[object, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            check_text(value, what=what)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidInput(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)


def check_text(text: str, *, what: str) -> str:
    """The text, or InvalidInput when it is not encodable Unicode (lone surrogates, which is
    also how aiohttp hands on header bytes that are not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} holds text that is not valid UTF-8") from None
    return text


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


def parse_query(request: web.Request, model: type[M], *, skip_blank: bool = False) -> M:
    """Validate the query string: a repeated key keeps its first value, except for a field
    the model declares as a list (`?kind=a&kind=b`), which gets every value.

    `skip_blank` leaves out empty values: a GET form sends a field left empty as `name=`,
    which means the field's default, not an empty value.
    """
    lists = {
        name for name, field in model.model_fields.items() if get_origin(field.annotation) is list
    }
    query = MultiDict(
        (key, value) for key, value in request.query.items() if value.strip() or not skip_blank
    )
    return model.model_validate(
        {key: query.getall(key) if key in lists else query[key] for key in query}
    )


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
