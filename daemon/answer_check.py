"""The answer check: every JSON answer of a described route against the model it documents.

Off by default; `LORABOT_CHECK_ANSWERS=true` turns it on (the test suite does, for every daemon
it starts). An answer matches when its status is one the route documents and its body is the
model of that status (the response model on success, `ErrorResponse` on error): the body must
validate and round-trip, `Model.model_validate(body).model_dump(mode="json") == body`, so a
missing, extra, renamed or coerced field is a mismatch. A mismatch changes no answer: it is
logged (`answer_mismatch`) and kept on the app (`ANSWER_MISMATCHES`) for whoever checks.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from daemon.openapi import Description, ErrorResponse, description_of, documented_errors

log = structlog.get_logger("lorabot.daemon")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_DIFFERENCES = 5


@dataclass(frozen=True)
class Mismatch:
    """One answer that is not what its route documents."""

    route: str  # e.g. "GET /v1/jobs/{id}"
    status: int
    problem: str

    def __str__(self) -> str:
        return f"{self.route} answered {self.status}: {self.problem}"


ANSWER_MISMATCHES = web.AppKey("answer_mismatches", list[Mismatch])


@web.middleware
async def answer_check_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Compare each answer of a described route with its documented model.

    It sits outside the error middleware, so it sees error answers as they are sent.
    """
    response = await handler(request)
    route = request.match_info.route
    info = description_of(route.handler)
    if info is None or route.resource is None or not isinstance(response, web.Response):
        return response
    path = route.resource.canonical
    problem = answer_problem(path, info, response)
    if problem is not None:
        mismatch = Mismatch(f"{request.method} {path}", response.status, problem)
        request.app[ANSWER_MISMATCHES].append(mismatch)
        log.error("answer_mismatch", route=mismatch.route, status=mismatch.status, problem=problem)
    return response


def answer_problem(path: str, info: Description, response: web.Response) -> str | None:
    """What is wrong with an answer of the route at `path`, or None when it is as documented."""
    status = response.status
    if status >= 400:
        if status not in documented_errors(path, info) and status not in ALWAYS_POSSIBLE:
            return f"the error status {status} is not documented for this route"
        model: type[BaseModel] | None = ErrorResponse
    elif status in info.success_statuses:
        model = info.response
    else:
        return f"the status {status} is not documented (documented: {info.success_statuses})"
    if model is None:
        return None  # a route that documents no JSON body (a file, the OpenAPI document)
    if response.content_type != "application/json":
        return f"{response.content_type} instead of the JSON body {model.__name__}"
    return body_problem(model, _json_body(response))


# Any route can fail on the way in (rate limit) or inside (a bug): both are ErrorResponse.
ALWAYS_POSSIBLE = frozenset({429, 500})


def body_problem(model: type[BaseModel], body: Any) -> str | None:
    """Whether `body` is exactly a `model`: it validates and dumps back to itself."""
    try:
        again = model.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        return f"not a {model.__name__}: {exc}"
    differences = list(_differences(body, again, "body"))
    if not differences:
        return None
    shown = "; ".join(differences[:MAX_DIFFERENCES])
    more = len(differences) - MAX_DIFFERENCES
    return f"not exactly a {model.__name__}: {shown}" + (f" (+{more} more)" if more > 0 else "")


def _json_body(response: web.Response) -> Any:
    raw = response.body
    if not isinstance(raw, bytes | bytearray):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _differences(sent: Any, model: Any, where: str) -> list[str]:
    """Where the body as sent differs from the body as the model writes it."""
    if isinstance(sent, dict) and isinstance(model, dict):
        found = [f"{where}.{key} is not in the model" for key in sent.keys() - model.keys()]
        found += [f"{where}.{key} is missing" for key in model.keys() - sent.keys()]
        for key in sent.keys() & model.keys():
            found += _differences(sent[key], model[key], f"{where}.{key}")
        return found
    if isinstance(sent, list) and isinstance(model, list) and len(sent) == len(model):
        return [
            difference
            for index, (a, b) in enumerate(zip(sent, model, strict=True))
            for difference in _differences(a, b, f"{where}[{index}]")
        ]
    if sent != model or (type(sent) is not type(model) and not _same_number(sent, model)):
        return [f"{where} is {sent!r}, the model writes {model!r}"]
    return []


def _same_number(a: Any, b: Any) -> bool:
    # JSON has one number type: 3 and 3.0 are the same value on the wire.
    return all(isinstance(n, int | float) and not isinstance(n, bool) for n in (a, b))
