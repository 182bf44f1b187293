"""Health, metrics, the generated OpenAPI document and the error shape."""

from aiohttp.test_utils import TestClient

from daemon.openapi import description_of
from tests.conftest import ADMIN_HEADERS, user_headers


async def test_healthz_needs_no_token(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_every_route_is_described_in_openapi(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for route in client.app.router.routes():
        # The web dashboard's pages and their scripts' calls are no part of the RPC.
        if route.method == "HEAD" or route.resource.canonical.startswith("/ui/"):
            continue
        assert description_of(route.handler) is not None, f"{route.method} {route.resource}"
        assert (route.method, route.resource.canonical) in described
    for path in ("/v1/jobs", "/v1/estimate", "/admin/accounts/{id}/grant", "/v1/me/link"):
        assert path in doc["paths"]
    submit = doc["paths"]["/v1/jobs"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JobIn"
    )
    assert {"201", "402", "409", "422"} <= set(submit["responses"])
    # Every reference resolves inside the document.
    schemas = doc["components"]["schemas"]
    text = str(doc)
    for name in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name
    assert "steps" in schemas["Overrides"]["properties"]


async def test_errors_have_one_shape(client: TestClient) -> None:
    missing = await client.get("/v1/nothing-here", headers=user_headers())
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "NOT_FOUND"
    wrong_method = await client.delete("/v1/me", headers=user_headers())
    assert wrong_method.status == 405
    assert (await wrong_method.json())["error"]["code"] == "METHOD_NOT_ALLOWED"
    not_json = await client.post("/v1/me/link", data=b"{nope", headers=user_headers())
    body = await not_json.json()
    assert not_json.status == 400 and body["error"]["code"] == "INVALID_INPUT"
    not_object = await client.post("/v1/me/link", json=[1], headers=user_headers())
    assert (await not_object.json())["error"]["message"] == "the JSON body must be an object"
    extra = await client.post(
        "/admin/accounts/1/grant",
        json={"amount": 5, "reason": "x", "idempotency_key": "k", "bonus": 1},
        headers=ADMIN_HEADERS,
    )
    assert extra.status == 400
    details = (await extra.json())["error"]["details"]
    assert details["fields"][0]["loc"] == ["bonus"]


async def test_metrics_count_requests_jobs_and_points(client: TestClient) -> None:
    me = await (await client.get("/v1/me", headers=user_headers("telegram:9"))).json()
    await client.post(
        f"/admin/accounts/{me['id']}/grant",
        json={"amount": 25, "reason": "hello", "idempotency_key": "m1"},
        headers=ADMIN_HEADERS,
    )
    await client.get("/v1/jobs/12345", headers=user_headers("telegram:9"))
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert 'lorabot_http_requests_total{method="GET",route="/v1/me",status="200"} 1.0' in text
    assert 'route="/v1/jobs/{id}",status="404"} 1.0' in text
    assert 'lorabot_jobs{status="queued"} 0.0' in text
    assert 'lorabot_ledger_points{kind="grant"} 25.0' in text
    assert "lorabot_http_request_seconds_bucket" in text


async def test_offerings_list(client: TestClient) -> None:
    response = await client.get("/v1/offerings", headers=user_headers())
    offerings = {o["id"]: o for o in (await response.json())["offerings"]}
    assert list(offerings) == [
        "tiny-lora",
        "sd15-lora",
        "sdxl-lora",
        "flux-lora",
        "tiny-flux-lora",
    ]
    tiny = offerings["tiny-lora"]
    assert tiny["base_model_available"] is True and tiny["enabled"] is True
    assert tiny["presets"]["fast"]["steps"] == 30
    assert tiny["bounds"]["steps"] == {"min": 1, "max": 2000}
    assert offerings["sd15-lora"]["base_model_available"] is False
    assert offerings["flux-lora"]["enabled"] is True


async def test_oversized_json_body_is_413(client: TestClient) -> None:
    from daemon.validation import MAX_JSON_BYTES

    big = b'{"code": "' + b"A" * MAX_JSON_BYTES + b'"}'
    response = await client.post("/v1/me/link", data=big, headers=user_headers())
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "TOO_LARGE"

    async def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(20):
            yield b"A" * 65536

    streamed = await client.post("/v1/me/link", data=chunks(), headers=user_headers())
    assert streamed.status == 413
