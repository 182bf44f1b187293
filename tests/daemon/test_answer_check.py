"""The answer check flags an answer unlike the model its route documents, and only such."""

from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from core.errors import Conflict
from core.settings import Settings
from daemon.answer_check import ANSWER_MISMATCHES, Mismatch, body_problem
from daemon.app import create_app
from daemon.openapi import describe


class Point(BaseModel):
    x: int
    label: str | None
    weight: float


def test_an_exact_body_passes() -> None:
    assert body_problem(Point, {"x": 1, "label": None, "weight": 2}) is None  # 2 is 2.0 in JSON


def test_extra_missing_and_coerced_fields_are_named() -> None:
    extra = body_problem(Point, {"x": 1, "label": "a", "weight": 1.0, "colour": "red"})
    assert extra is not None and "body.colour is not in the model" in extra
    missing = body_problem(Point, {"x": 1, "weight": 1.0})
    assert missing is not None and "label" in missing and "Field required" in missing
    coerced = body_problem(Point, {"x": "1", "label": "a", "weight": 1.0})
    assert coerced == "not exactly a Point: body.x is '1', the model writes 1"


def test_a_bad_nested_item_is_located() -> None:
    class Points(BaseModel):
        points: list[Point]

    body = {"points": [{"x": 1, "label": None, "weight": 1.0}, {"x": True, "label": None}]}
    problem = body_problem(Points, body)
    assert problem is not None and "points.1" in problem


def _app_with_routes(settings: Settings) -> web.Application:
    app = create_app(settings)

    @describe(summary="answers a Point", response=Point)
    async def good(request: web.Request) -> web.Response:
        return web.json_response({"x": 1, "label": None, "weight": 0.5})

    @describe(summary="answers a Point with one field too many", response=Point)
    async def extra(request: web.Request) -> web.Response:
        return web.json_response({"x": 1, "label": None, "weight": 0.5, "secret": "s"})

    @describe(summary="answers 201, documents 200", response=Point)
    async def created(request: web.Request) -> web.Response:
        return web.json_response({"x": 1, "label": None, "weight": 0.5}, status=201)

    @describe(summary="fails with an undocumented 409", response=Point, errors=(404,))
    async def conflict(request: web.Request) -> web.Response:
        raise Conflict("taken")

    for name, handler in [("good", good), ("extra", extra), ("created", created)]:
        app.router.add_get(f"/test/{name}", handler)
    app.router.add_get("/test/conflict", conflict)
    return app


async def test_the_daemon_keeps_each_mismatch_with_route_status_and_difference(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    app = _app_with_routes(make_settings())
    client = await aiohttp_client(app)
    for name in ("good", "extra", "created", "conflict"):
        await (await client.get(f"/test/{name}")).read()
    mismatches = list(app[ANSWER_MISMATCHES])
    # These mismatches are this test's subject: clear them, or the answer check fails the test.
    app[ANSWER_MISMATCHES].clear()
    assert mismatches == [
        Mismatch("GET /test/extra", 200, "not exactly a Point: body.secret is not in the model"),
        Mismatch(
            "GET /test/created", 201, "the status 201 is not documented (documented: (200,))"
        ),
        Mismatch(
            "GET /test/conflict", 409, "the error status 409 is not documented for this route"
        ),
    ]


async def test_the_check_is_off_by_default(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    assert Settings.model_fields["check_answers"].default is False
    app = _app_with_routes(make_settings(check_answers=False))
    client = await aiohttp_client(app)
    assert (await client.get("/test/extra")).status == 200
    assert ANSWER_MISMATCHES not in app
