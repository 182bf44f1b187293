"""The acting account's activity feed: pages of events, their read state."""

from aiohttp import web

from core import activity
from daemon.answers import json_answer
from daemon.auth import acting_account
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import ActivityOut, ActivityPage, ActivityQuery, ReadAllOut, UnreadOut
from daemon.validation import parse_query, path_int

routes = web.RouteTableDef()


@routes.get("/v1/activity")
@describe(
    summary="The acting account's activity, newest first (by kind, unread only, pages)",
    query=ActivityQuery,
    response=ActivityPage,
)
async def get_activity(request: web.Request) -> web.Response:
    query = parse_query(request, ActivityQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        page = await activity.feed(
            session,
            account.id,
            kinds=query.kind,
            unread_only=query.unread,
            before=query.before,
            limit=query.limit,
        )
        answer = ActivityPage.model_validate(page)
    return json_answer(answer)


@routes.get("/v1/activity/unread-count")
@describe(summary="How many of the acting account's activity items are unread", response=UnreadOut)
async def get_unread_count(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        unread = await activity.unread_count(session, account.id)
    return json_answer(UnreadOut(unread=unread))


@routes.post("/v1/activity/{id}/read")
@describe(
    summary="Mark one activity item read (again: unchanged)", response=ActivityOut, errors=(404,)
)
async def post_read(request: web.Request) -> web.Response:
    activity_id = path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        event = await activity.mark_read(session, account.id, activity_id)
        answer = ActivityOut.model_validate(event)
    return json_answer(answer)


@routes.post("/v1/activity/read-all")
@describe(summary="Mark every activity item of the acting account read", response=ReadAllOut)
async def post_read_all(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        answer = ReadAllOut.model_validate(await activity.mark_all_read(session, account.id))
    return json_answer(answer)
