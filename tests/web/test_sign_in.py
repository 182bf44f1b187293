"""Signing in to the dashboard, its sessions and CSRF checks, and account scoping — over
real HTTP on a real SQLite file, without a browser."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from core.db.models import Image, WebLink, WebSession
from core.db.types import utcnow
from core.web_sign_in import purge_expired, token_hash
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import ADMIN_TOKEN, make_account, make_dataset, user_headers
from tests.imagefactory import png_bytes
from tests.web.helpers import csrf_of, form_token, link_path, open_link, sign_in


@pytest.fixture
async def other(client: TestClient) -> AsyncIterator[TestClient]:
    """A second browser (its own cookie jar) on the same daemon."""
    second = TestClient(client.server)
    await second.start_server()
    yield second
    await second.close()


async def sessions_count(client: TestClient) -> int:
    async with client.app[SESSIONMAKER]() as session:
        return int(await session.scalar(select(func.count()).select_from(WebSession)) or 0)


async def test_a_bots_link_signs_in_once_with_a_strict_cookie(client: TestClient) -> None:
    path = await link_path(client, "telegram:7001")
    assert path.startswith("/ui/sign-in/")
    answer = await open_link(client, path)
    assert answer.status == 303 and answer.headers["Location"] == "/ui/datasets"
    cookie = answer.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("lorabot_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # plain HTTP and no setting
    page = await client.get("/ui/datasets")
    assert page.status == 200 and "Datasets" in await page.text()
    # The link is stored as its hash only.
    async with client.app[SESSIONMAKER]() as session:
        token = path.rsplit("/", 1)[1]
        assert await session.get(WebLink, token) is None
        assert (await session.get(WebLink, token_hash(token))).used_at is not None


async def test_a_replayed_link_is_refused_and_opens_no_session(client: TestClient) -> None:
    path = await link_path(client, "telegram:7002")
    assert (await open_link(client, path)).status == 303
    client.session.cookie_jar.clear()
    again = await client.get(path)
    assert again.status == 410 and "already used" in await again.text()
    assert (await client.get("/ui/datasets")).status == 401
    assert await sessions_count(client) == 1


async def test_two_clicks_at_once_open_one_session(client: TestClient, other: TestClient) -> None:
    path = await link_path(client, "telegram:7003")
    tokens = [form_token(await (await b.get(path)).text()) for b in (client, other)]
    answers = await asyncio.gather(
        *[
            browser.post(path, data={"csrf_token": token}, allow_redirects=False)
            for browser, token in zip((client, other), tokens, strict=True)
        ]
    )
    assert sorted(a.status for a in answers) == [303, 410]
    assert await sessions_count(client) == 1


async def test_an_expired_link_is_refused(client: TestClient) -> None:
    path = await link_path(client, "telegram:7004")
    async with client.app[SESSIONMAKER].begin() as session:
        await session.execute(update(WebLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await client.get(path)
    assert page.status == 410 and "expired" in await page.text()
    assert (await client.post(path, data={"csrf_token": "x"})).status in (403, 410)
    assert await sessions_count(client) == 0


async def test_an_unknown_link_is_refused(client: TestClient) -> None:
    assert (await client.get("/ui/sign-in/not-a-token")).status == 403


async def test_sign_in_without_the_form_token_is_refused_and_keeps_the_link(
    client: TestClient,
) -> None:
    path = await link_path(client, "telegram:7005")
    await client.get(path)
    refused = await client.post(path, data={}, allow_redirects=False)
    assert refused.status == 403 and "CSRF" in await refused.text()
    assert (await open_link(client, path)).status == 303  # still usable by its owner


async def test_forms_and_scripts_without_the_csrf_token_are_refused(client: TestClient) -> None:
    csrf = await sign_in(client, "telegram:7006")
    refused = await client.post("/ui/datasets", data={"name": "cats"}, allow_redirects=False)
    assert refused.status == 403 and "CSRF_MISSING" in await refused.text()
    wrong = await client.post(
        "/ui/datasets", data={"name": "cats", "csrf_token": "x" * 20}, allow_redirects=False
    )
    assert wrong.status == 403
    listed = await (await client.get("/ui/datasets")).text()
    assert "cats" not in listed  # nothing was created
    made = await client.post(
        "/ui/datasets", data={"name": "cats", "csrf_token": csrf}, allow_redirects=False
    )
    assert made.status == 303 and made.headers["Location"].startswith("/ui/datasets/")
    upload = await client.post(made.headers["Location"].replace("/ui/", "/ui/api/") + "/images")
    assert upload.status == 403
    assert (await upload.json())["error"]["code"] == "CSRF_MISSING"


async def test_upload_answers_each_file_like_the_rpc(client: TestClient) -> None:
    csrf = await sign_in(client, "telegram:7007")
    made = await client.post(
        "/ui/datasets", data={"name": "dogs", "csrf_token": csrf}, allow_redirects=False
    )
    dataset_path = made.headers["Location"]
    form = aiohttp.FormData()
    form.add_field("image", png_bytes(seed=1), filename="a.png", content_type="image/png")
    form.add_field("image", png_bytes(seed=1), filename="again.png", content_type="image/png")
    form.add_field("image", b"not an image", filename="notes.txt", content_type="text/plain")
    answer = await client.post(
        dataset_path.replace("/ui/", "/ui/api/") + "/images",
        data=form,
        headers={"X-CSRF-Token": csrf},
    )
    body = await answer.json()
    assert answer.status == 200, body
    assert [a["filename"] for a in body["added"]] == ["a.png"]
    codes = {r["filename"]: r["code"] for r in body["refused"]}
    assert codes == {"again.png": "DUPLICATE_IMAGE", "notes.txt": "NOT_AN_IMAGE"}
    page = await (await client.get(dataset_path)).text()
    assert "a.png" in page and "/images/" in page


async def test_another_persons_items_look_missing(client: TestClient, other: TestClient) -> None:
    async with client.app[SESSIONMAKER].begin() as session:
        owner = await make_account(session, platform_user_id="7008")
        dataset = await make_dataset(session, owner.id, images=1, blobs=client.app[BLOBS])
        image_id = await session.scalar(select(Image.id).where(Image.dataset_id == dataset.id))
    await sign_in(client, "telegram:7008")
    assert (await client.get(f"/ui/datasets/{dataset.id}")).status == 200
    csrf = await sign_in(other, "telegram:7009")
    assert (await other.get(f"/ui/datasets/{dataset.id}")).status == 404
    assert (await other.get(f"/ui/datasets/{dataset.id}/images/{image_id}/file")).status == 404
    patch = await other.patch(
        f"/ui/api/datasets/{dataset.id}/images/{image_id}",
        json={"caption": "mine now"},
        headers={"X-CSRF-Token": csrf},
    )
    assert patch.status == 404
    listed = await (await other.get("/ui/datasets")).text()
    assert dataset.name not in listed


async def test_without_a_session_pages_ask_for_a_sign_in(client: TestClient) -> None:
    page = await client.get("/ui/datasets")
    assert page.status == 401 and "/web" in await page.text()
    api = await client.get("/ui/api/jobs/1")
    assert api.status == 401 and (await api.json())["error"]["code"] == "SIGN_IN_REQUIRED"


async def test_operators_sign_in_with_the_admin_token_once(
    client: TestClient, other: TestClient
) -> None:
    form = await client.get("/ui/operator/sign-in")
    token = form_token(await form.text())
    wrong = await client.post(
        "/ui/operator/sign-in", data={"csrf_token": token, "admin_token": "nope"}
    )
    assert wrong.status == 401
    right = await client.post(
        "/ui/operator/sign-in",
        data={"csrf_token": token, "admin_token": ADMIN_TOKEN},
        allow_redirects=False,
    )
    assert right.status == 303
    jobs = await client.get("/ui/operator/jobs")
    assert jobs.status == 200 and csrf_of(await jobs.text())
    assert (await client.get("/ui/operator/accounts")).status == 200
    await sign_in(other, "telegram:7010")
    assert (await other.get("/ui/operator/jobs")).status == 403


async def test_cookies_are_secure_when_the_setting_says_so(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(web_secure_cookies=True)))
    page = await client.get(await link_path(client, "telegram:7011"))
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("lorabot_form=") and "Secure" in cookie and "HttpOnly" in cookie


async def test_the_link_is_built_on_the_public_url(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(public_url="https://lora.example.org/", web_link_ttl_seconds=60))
    )
    response = await client.post("/v1/web/link", headers=user_headers("telegram:1"))
    body = await response.json()
    assert body["url"].startswith("https://lora.example.org/ui/sign-in/")
    assert body["expires_in_seconds"] == 60


async def test_upkeep_removes_what_is_over(client: TestClient) -> None:
    await sign_in(client, "telegram:7012")
    await link_path(client, "telegram:7012")
    async with client.app[SESSIONMAKER].begin() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(WebLink).values(expires_at=past))
        await session.execute(update(WebSession).values(expires_at=past))
        assert await purge_expired(session) == 3  # two links, one session
    assert (await client.get("/ui/datasets")).status == 401
