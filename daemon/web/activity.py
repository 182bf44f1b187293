"""The activity page: the person's feed (by kind, unread only, older pages) with Mark read and
Mark all read — `core.activity`'s calls on the RPC's `ActivityQuery`, scoped to the signed-in
account (another person's item is a 404, as on the RPC)."""

from aiohttp import web
from yarl import URL

from core import activity
from core.enums import ActivityKind
from daemon.keys import READ_SESSIONMAKER, SESSIONMAKER
from daemon.schemas import ActivityPage, ActivityQuery
from daemon.validation import parse_query, path_int
from daemon.web.pages import render, see_other
from daemon.web.sessions import person_of

routes = web.RouteTableDef()

ACTIVITY_PATH = "/ui/activity"


def _back(request: web.Request) -> str:
    """The feed as the form's page showed it: its filters and page ride along in the query of
    the form's action; the path is always the feed's own (no redirect elsewhere)."""
    return str(URL(ACTIVITY_PATH).with_query(request.query))


def older_url(query: ActivityQuery, before: int) -> str:
    """The next page of the feed with the same filters."""
    fields: list[tuple[str, str]] = [("kind", str(kind)) for kind in query.kind]
    if query.unread:
        fields.append(("unread", "true"))
    fields.append(("before", str(before)))
    return str(URL(ACTIVITY_PATH).with_query(fields))


@routes.get(ACTIVITY_PATH)
async def activity_page(request: web.Request) -> web.Response:
    """A page of the person's events, newest first."""
    account = person_of(request)
    query = parse_query(request, ActivityQuery, skip_blank=True)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        page = await activity.feed(
            session,
            account.id,
            kinds=query.kind,
            unread_only=query.unread,
            before=query.before,
            limit=query.limit,
        )
    answer = ActivityPage.model_validate(page)
    older = None if answer.next_before is None else older_url(query, answer.next_before)
    return await render(
        request,
        "activity.html",
        unread=answer.unread,
        page=answer,
        query=query,
        kinds=list(ActivityKind),
        older_url=older,
        form_query=request.rel_url.raw_query_string,
    )


@routes.post(ACTIVITY_PATH + "/{id}/read")
async def read_form(request: web.Request) -> web.Response:
    """Mark one of the person's events read, then show the feed again."""
    account, activity_id = person_of(request), path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        await activity.mark_read(session, account.id, activity_id)
    raise see_other(_back(request))


@routes.post(ACTIVITY_PATH + "/read-all")
async def read_all_form(request: web.Request) -> web.Response:
    """Mark every event of the person read, then show the feed again."""
    account = person_of(request)
    async with request.app[SESSIONMAKER].begin() as session:
        await activity.mark_all_read(session, account.id)
    raise see_other(_back(request))
