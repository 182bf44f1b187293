"""`/v1/me`, tokens, and linking two identities into one account, over real HTTP."""

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import ADMIN_HEADERS, RPC_HEADERS, user_headers


async def test_me_creates_the_account_on_first_sight(client: TestClient) -> None:
    first = await client.get("/v1/me", headers=user_headers("telegram:42"))
    assert first.status == 200
    body = await first.json()
    assert body["balance"] == 0
    assert body["identities"] == [{"platform": "telegram", "platform_user_id": "42"}]
    again = await (await client.get("/v1/me", headers=user_headers("telegram:42"))).json()
    assert again["id"] == body["id"]
    other = await (await client.get("/v1/me", headers=user_headers("discord:42"))).json()
    assert other["id"] != body["id"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "UNAUTHORIZED"),
        ({"Authorization": "Bearer wrong", "X-User": "telegram:1"}, 401, "UNAUTHORIZED"),
        ({**RPC_HEADERS}, 400, "INVALID_INPUT"),
        ({**RPC_HEADERS, "X-User": "myspace:1"}, 400, "INVALID_INPUT"),
        ({**RPC_HEADERS, "X-User": "telegram:"}, 400, "INVALID_INPUT"),
        (ADMIN_HEADERS, 401, "UNAUTHORIZED"),
    ],
)
async def test_bad_credentials_are_refused(
    client: TestClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.get("/v1/me", headers=headers)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_admin_routes_refuse_everything_without_admin_token(
    aiohttp_client, make_settings
) -> None:
    from daemon.app import create_app

    client = await aiohttp_client(create_app(make_settings(admin_token=None)))
    response = await client.get("/admin/stats", headers=ADMIN_HEADERS)
    assert response.status == 403
    assert "LORABOT_ADMIN_TOKEN" in (await response.json())["error"]["message"]
    wrong = await client.get("/admin/stats", headers=RPC_HEADERS)
    assert wrong.status == 403


async def test_rpc_refused_while_rpc_token_unset(aiohttp_client, make_settings) -> None:
    from daemon.app import create_app

    client = await aiohttp_client(create_app(make_settings(rpc_token=None)))
    response = await client.get("/v1/me", headers={"X-User": "telegram:1"})
    assert response.status == 401
    assert "LORABOT_RPC_TOKEN" in (await response.json())["error"]["message"]
    assert (await client.get("/healthz")).status == 200


async def test_rpc_token_does_not_open_admin_routes(client: TestClient) -> None:
    response = await client.get("/admin/stats", headers=user_headers())
    assert response.status == 401


async def _grant(client: TestClient, account_id: int, amount: int, key: str) -> dict:
    response = await client.post(
        f"/admin/accounts/{account_id}/grant",
        json={"amount": amount, "reason": "test", "idempotency_key": key},
        headers=ADMIN_HEADERS,
    )
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def test_link_merges_balance_and_identities(client: TestClient) -> None:
    tg = await (await client.get("/v1/me", headers=user_headers("telegram:7"))).json()
    dc = await (await client.get("/v1/me", headers=user_headers("discord:7"))).json()
    await _grant(client, tg["id"], 30, "g-tg")
    await _grant(client, dc["id"], 12, "g-dc")
    code = await (await client.post("/v1/me/link-code", headers=user_headers("telegram:7"))).json()
    assert len(code["code"]) == 8
    linked = await client.post(
        "/v1/me/link", json={"code": code["code"].lower()}, headers=user_headers("discord:7")
    )
    assert linked.status == 200, await linked.text()
    body = await linked.json()
    assert body["account"]["id"] == tg["id"]
    assert body["account"]["balance"] == 42
    assert body["moved_points"] == 12
    platforms = {i["platform"] for i in body["account"]["identities"]}
    assert platforms == {"telegram", "discord"}
    # Both identities now act as one account with one balance and one ledger that sums to it.
    for user in ("telegram:7", "discord:7"):
        me = await (await client.get("/v1/me", headers=user_headers(user))).json()
        assert (me["id"], me["balance"]) == (tg["id"], 42)
        ledger = await (await client.get("/v1/ledger", headers=user_headers(user))).json()
        assert sum(e["delta"] for e in ledger["entries"]) == 42
    # The merged account's own ledger sums to its (now zero) balance.
    old = await (
        await client.post(
            f"/admin/accounts/{dc['id']}/grant",
            json={"amount": 1, "reason": "to merged", "idempotency_key": "g-old"},
            headers=ADMIN_HEADERS,
        )
    ).json()
    assert old["balance"] == 43  # a grant to a merged account lands on the surviving one
    again = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("discord:7")
    )
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "LINK_CODE_USED"


async def test_link_refusals(client: TestClient) -> None:
    code = await (await client.post("/v1/me/link-code", headers=user_headers("telegram:1"))).json()
    own = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("telegram:1")
    )
    assert (own.status, (await own.json())["error"]["code"]) == (409, "LINK_SELF")
    same_platform = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("telegram:2")
    )
    assert same_platform.status == 409
    assert (await same_platform.json())["error"]["code"] == "LINK_SAME_PLATFORM"
    unknown = await client.post(
        "/v1/me/link", json={"code": "ZZZZZZZZ"}, headers=user_headers("discord:1")
    )
    assert (unknown.status, (await unknown.json())["error"]["code"]) == (404, "LINK_CODE_UNKNOWN")
    # Nothing changed: telegram:2 is still its own account, the code still works once.
    ok = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("discord:1")
    )
    assert ok.status == 200


async def test_expired_link_code_is_refused(aiohttp_client, make_settings) -> None:
    from daemon.app import create_app

    client = await aiohttp_client(create_app(make_settings(link_code_ttl_seconds=0)))
    code = await (await client.post("/v1/me/link-code", headers=user_headers("telegram:5"))).json()
    response = await client.post(
        "/v1/me/link", json={"code": code["code"]}, headers=user_headers("discord:5")
    )
    assert (response.status, (await response.json())["error"]["code"]) == (
        409,
        "LINK_CODE_EXPIRED",
    )
