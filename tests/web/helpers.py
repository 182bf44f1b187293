"""Signing in to the dashboard over plain HTTP (aiohttp's test client keeps the cookies)."""

import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient

from tests.conftest import user_headers

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def link_path(client: TestClient, user: str) -> str:
    """A fresh sign-in link of `user` from the RPC route a bot calls; its path."""
    response = await client.post("/v1/web/link", headers=user_headers(user))
    assert response.status == 200, await response.text()
    return urlsplit((await response.json())["url"]).path


def form_token(html: str) -> str:
    """The CSRF field of the first form of a page."""
    match = _FORM_TOKEN.search(html)
    assert match, html[:500]
    return match.group(1)


def csrf_of(html: str) -> str:
    """The session's CSRF token a page carries for its scripts."""
    match = _META.search(html)
    assert match, html[:500]
    return match.group(1)


async def open_link(client: TestClient, path: str) -> Any:
    """Show a link's page and press its Sign in button; the answer (redirects not followed)."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    token = form_token(await page.text())
    return await client.post(path, data={"csrf_token": token}, allow_redirects=False)


async def sign_in(client: TestClient, user: str) -> str:
    """Sign `user` in from a bot's link; the session's CSRF token."""
    answer = await open_link(client, await link_path(client, user))
    assert answer.status == 303, await answer.text()
    page = await client.get("/ui/datasets")
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())


async def operator_sign_in(client: TestClient, admin_token: str) -> str:
    """Sign an operator in with the admin token; the session's CSRF token."""
    form = await client.get("/ui/operator/sign-in")
    fields = {"csrf_token": form_token(await form.text()), "admin_token": admin_token}
    answer = await client.post("/ui/operator/sign-in", data=fields, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    page = await client.get("/ui/operator/jobs")
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())


def figure(html: str, name: str) -> str:
    """The text of the first element a page marks `data-figure="name"`."""
    match = re.search(rf'data-figure="{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert match, f"no figure {name!r}"
    return unescape(match.group(1)).strip()


def refusal_message(html: str) -> str:
    """The message of a refusal page."""
    match = re.search(r'<p class="message">(.*?)</p>', html, re.DOTALL)
    assert match, html[:500]
    return unescape(match.group(1))
