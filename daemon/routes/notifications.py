"""The bots' delivery channel: long-poll pending notifications, acknowledge them by id."""

import asyncio

from aiohttp import web

from core import notifications
from core.language_store import languages_of
from daemon.answers import json_answer
from daemon.keys import EVENTS, SESSIONMAKER, SETTINGS
from daemon.openapi import describe
from daemon.schemas import AckIn, AckOut, NotificationOut, NotificationsOut, NotificationsQuery
from daemon.validation import parse_body, parse_query

routes = web.RouteTableDef()

# Leases expire without anyone announcing it; look again at least this often while waiting.
RECHECK_SECONDS = 5.0


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
            # Delivered with no person in context: each carries its recipient's language.
            spoken = await languages_of(
                session, query.platform, {r.platform_user_id for r in rows}
            )
            answer = NotificationsOut(
                notifications=[
                    NotificationOut.model_validate(row).model_copy(
                        update={"language": spoken[row.platform_user_id]}
                    )
                    for row in rows
                ]
            )
        remaining = deadline - asyncio.get_running_loop().time()
        if rows or remaining <= 0:
            return json_answer(answer)
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
    return json_answer(AckOut(acknowledged=count))
