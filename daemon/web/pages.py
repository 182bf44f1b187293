"""Rendering a dashboard page: the layout's navigation (with a person's unread activity count)
and the viewer's CSRF token."""

from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from core.activity import unread_count
from daemon.keys import READ_SESSIONMAKER
from daemon.web.paths import CSRF_FIELD
from daemon.web.sessions import viewer_of


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation."""

    label: str
    path: str
    shows_unread: bool = False  # the label carries the unread activity count, "Activity (3)"


PERSON_NAV = (
    NavItem("Datasets", "/ui/datasets"),
    NavItem("Jobs", "/ui/jobs"),
    NavItem("Models", "/ui/models"),
    NavItem("Analytics", "/ui/analytics"),
    NavItem("Costs", "/ui/costs"),
    NavItem("Activity", "/ui/activity", shows_unread=True),
)
OPERATOR_NAV = (
    NavItem("Jobs", "/ui/operator/jobs"),
    NavItem("Accounts", "/ui/operator/accounts"),
    NavItem("Analytics", "/ui/operator/analytics"),
)


async def render(
    request: web.Request, template: str, *, unread: int | None = None, **context: Any
) -> web.Response:
    """A page of the signed-in viewer, with the navigation their session gets; a person's
    unread count is read once here unless the page already knows it (`unread`)."""
    viewer = viewer_of(request)
    nav = OPERATOR_NAV if viewer.is_operator else PERSON_NAV
    if unread is None and viewer.account is not None:
        async with request.app[READ_SESSIONMAKER].begin() as session:
            unread = await unread_count(session, viewer.account.id)
    return aiohttp_jinja2.render_template(
        template,
        request,
        {"viewer": viewer, "nav": nav, "path": request.path, "unread": unread or 0, **context},
    )


def see_other(location: str) -> web.HTTPSeeOther:
    """The answer to a form that worked: the page to show next (POST → redirect → GET)."""
    return web.HTTPSeeOther(location)


async def form_fields(request: web.Request) -> dict[str, str]:
    """A submitted form's text fields, without the CSRF token and without empty fields (an
    empty field is one the person left out)."""
    form = await request.post()
    return {
        name: value
        for name, value in form.items()
        if isinstance(value, str) and value.strip() and name != CSRF_FIELD
    }
