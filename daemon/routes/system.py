"""Liveness, Prometheus metrics and the OpenAPI document (no token needed)."""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from daemon.answers import json_answer
from daemon.keys import METRICS
from daemon.observability import METRICS_OBJECT
from daemon.openapi import build_openapi, describe
from daemon.schemas import HealthOut

routes = web.RouteTableDef()

VERSION = "0.1.0"


@routes.get("/healthz")
@describe(summary="Liveness", response=HealthOut)
async def get_healthz(request: web.Request) -> web.Response:
    return json_answer(HealthOut(status="ok", version=VERSION))


@routes.get("/metrics")
@describe(summary="Prometheus metrics (text exposition format)")
async def get_metrics(request: web.Request) -> web.Response:
    await request.app[METRICS_OBJECT].refresh_from_db(request.app)
    body = generate_latest(request.app[METRICS])
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


@routes.get("/openapi.json")
@describe(summary="This document")
async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app, title="lorabot daemon", version=VERSION))
