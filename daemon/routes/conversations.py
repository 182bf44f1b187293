"""The bots' conversation state, per identity (`X-User`), and the progress messages of jobs."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core import conversations, progress_messages
from core.errors import NotFound
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import (
    ConversationDelete,
    ConversationDeleted,
    ConversationIn,
    ConversationOut,
    ProgressMessageIn,
    ProgressMessageOut,
    ProgressMessagesOut,
    ProgressMessagesQuery,
    ResumedMessageOut,
)
from daemon.validation import check_text, parse_body, parse_query, path_int

routes = web.RouteTableDef()


async def _identity_id(request: web.Request, session: AsyncSession) -> int:
    """The id of the `X-User` identity (created with its account on first sight)."""
    platform, user_id = acting_identity(request)
    account = await acting_account(request, session)
    return next(
        i.id
        for i in account.identities
        if i.platform == str(platform) and i.platform_user_id == user_id
    )


def _key(request: web.Request) -> str:
    return conversations.check_key(check_text(request.match_info["key"], what="the key"))


@routes.get("/v1/conversations/{key}")
@describe(
    summary="The acting identity's conversation under `key` (expired: missing)",
    response=ConversationOut,
    errors=(400, 404),
)
async def get_conversation(request: web.Request) -> web.Response:
    key = _key(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        found = await conversations.read(session, await _identity_id(request, session), key)
    if found is None:
        raise NotFound(f"no conversation {key!r}")
    return json_answer(ConversationOut.model_validate(found))


@routes.put("/v1/conversations/{key}")
@describe(
    summary="Store the conversation as the version after `version` (0: a new one); a write "
    "based on another version is refused with 409 STALE_STATE",
    body=ConversationIn,
    response=ConversationOut,
    errors=(400, 409, 413),
)
async def put_conversation(request: web.Request) -> web.Response:
    key = _key(request)
    body = await parse_body(request, ConversationIn)
    async with request.app[SESSIONMAKER].begin() as session:
        written = await conversations.write(
            session,
            await _identity_id(request, session),
            key,
            body.data,
            version=body.version,
            ttl_seconds=body.ttl_seconds,
        )
    return json_answer(ConversationOut.model_validate(written))


@routes.delete("/v1/conversations/{key}")
@describe(
    summary="End the conversation if `version` is the live one (missing: nothing to do)",
    query=ConversationDelete,
    response=ConversationDeleted,
    errors=(400, 409),
)
async def delete_conversation(request: web.Request) -> web.Response:
    key = _key(request)
    query = parse_query(request, ConversationDelete)
    async with request.app[SESSIONMAKER].begin() as session:
        identity_id = await _identity_id(request, session)
        deleted = await conversations.remove(session, identity_id, key, version=query.version)
    return json_answer(ConversationDeleted(deleted=deleted))


@routes.put("/v1/jobs/{id}/progress-message")
@describe(
    summary="Record the chat message a bot edits with the job's progress (replaces the last)",
    body=ProgressMessageIn,
    response=ProgressMessageOut,
    errors=(400, 404),
)
async def put_progress_message(request: web.Request) -> web.Response:
    job_id = path_int(request, "id")
    body = await parse_body(request, ProgressMessageIn)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        row = await progress_messages.record(
            session, account.id, job_id, body.platform, body.chat_id, body.message_id
        )
        answer = ProgressMessageOut.model_validate(row)
    return json_answer(answer)


@routes.get("/v1/progress-messages")
@describe(
    summary="The platform's progress messages of jobs not yet final, for a starting bot",
    query=ProgressMessagesQuery,
    response=ProgressMessagesOut,
    errors=(400,),
)
async def get_progress_messages(request: web.Request) -> web.Response:
    query = parse_query(request, ProgressMessagesQuery)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        found = await progress_messages.unfinished(session, query.platform)
    answer = ProgressMessagesOut(messages=[ResumedMessageOut.model_validate(r) for r in found])
    return json_answer(answer)
