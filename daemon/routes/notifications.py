"""The bots' delivery channel: long-poll pending notifications, acknowledge them by id."""

import asyncio
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core import notifications
from core.enums import Platform
from daemon.keys import EVENTS, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import BODY_ID
from daemon.validation import parse_body, parse_query

routes = web.RouteTableDef()

MAX_WAIT_SECONDS = 60.0
# Leases expire without anyone announcing it; look again at least this often while waiting.
RECHECK_SECONDS = 5.0


class NotificationsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    wait: float = Field(
        0.0, ge=0.0, le=MAX_WAIT_SECONDS, description="Seconds to wait when none are pending."
    )
    limit: int = Field(50, ge=1, le=notifications.MAX_FETCH)


class NotificationOut(BaseModel):
    id: int
    kind: str
    account_id: int
    platform: Platform
    platform_user_id: str
    payload: dict[str, Any]
    created_at: str
    deliveries: int


class NotificationsOut(BaseModel):
    notifications: list[NotificationOut]


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, BODY_ID]] = Field(
        max_length=1000, description="Ids of delivered notifications."
    )


class AckOut(BaseModel):
    acknowledged: int


@routes.get("/v1/notifications")
@describe(
    summary="Lease pending notifications of a platform; wait up to `wait` seconds for some",
    query=NotificationsQuery,
    response=NotificationsOut,
    errors=(400, 401),
)
async def fetch_notifications(request: web.Request) -> web.Response:
    query = parse_query(request, NotificationsQuery)
    events, settings = request.app[EVENTS], request.app[SETTINGS]
    deadline = asyncio.get_running_loop().time() + query.wait
    while True:
        # Read the generation before the database so a notification added in between wakes us.
        generation = events.notifications_generation(query.platform)
        async with request.app[SESSIONMAKER].begin() as session:
            rows = await notifications.fetch_pending(
                session,
                query.platform,
                lease_seconds=settings.notification_lease_seconds,
                max_deliveries=settings.notification_max_deliveries,
                limit=query.limit,
            )
            body = {"notifications": [notifications.notification_view(row) for row in rows]}
        remaining = deadline - asyncio.get_running_loop().time()
        if rows or remaining <= 0:
            return web.json_response(body)
        await events.wait_notifications(
            query.platform, min(remaining, RECHECK_SECONDS), after=generation
        )


@routes.post("/v1/notifications/ack")
@describe(
    summary="Acknowledge delivered notifications (acknowledging twice changes nothing)",
    body=AckIn,
    response=AckOut,
    errors=(400, 401),
)
async def ack_notifications(request: web.Request) -> web.Response:
    body = await parse_body(request, AckIn)
    async with request.app[SESSIONMAKER].begin() as session:
        count = await notifications.acknowledge(session, body.ids)
    return web.json_response({"acknowledged": count})
