"""The OpenAPI document: every reference resolves, every route is in it, and it says what the
routes really do with their path parameters, their errors and unsupported methods."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.settings import Settings
from daemon.app import create_app
from daemon.openapi import described_routes
from daemon.schemas import MAX_ID
from tests.conftest import ADMIN_HEADERS, RPC_HEADERS, user_headers

Doc = dict[str, Any]


@pytest.fixture
async def doc(client: TestClient) -> Doc:
    response = await client.get("/openapi.json")
    assert response.status == 200
    return await response.json()


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(doc: Doc, ref: str) -> object:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _operations(doc: Doc) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def _headers_for(path: str, user: str = "telegram:4242") -> dict[str, str]:
    if path.startswith("/admin"):
        return ADMIN_HEADERS
    if path.startswith("/v1/notifications"):
        return RPC_HEADERS
    return user_headers(user)


async def test_every_ref_resolves_to_a_component(doc: Doc) -> None:
    refs = set(_refs(doc))
    assert "#/components/schemas/JobStatus" in refs  # enums of query parameters too
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert isinstance(_resolve(doc, ref), dict)
    assert "$defs" not in str(doc)


async def test_every_route_of_the_router_is_described(client: TestClient, doc: Doc) -> None:
    routes = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        # The web dashboard's pages and their scripts' calls are no part of the RPC.
        and not route.resource.canonical.startswith("/ui/")
    }
    described = {(method, path) for method, path, _ in described_routes(client.app)}
    assert routes == described
    assert {(method, path) for method, path, _ in _operations(doc)} == routes


async def test_path_parameters_are_typed_as_the_routes_read_them(doc: Doc) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for method, path, op in _operations(doc):
        params = [p for p in op.get("parameters", []) if p["in"] == "path"]
        template = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        assert [p["name"] for p in params] == template, (method, path)
        for param in params:
            assert param["required"] is True
            seen[param["name"]] = param["schema"]
    id_schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    assert seen == {
        "id": id_schema,
        "image_id": id_schema,
        "step": id_schema,
        "name": {"type": "string", "minLength": 1},
        "key": {"type": "string", "minLength": 1, "maxLength": 200},
    }


async def test_integer_path_parameters_refuse_what_the_document_excludes(
    client: TestClient, doc: Doc
) -> None:
    for index, (method, path, op) in enumerate(_operations(doc)):
        # One person per operation: together they make more calls than one person's burst.
        headers = _headers_for(path, user=f"telegram:{4242 + index}")
        params = op.get("parameters", [])
        ints = [
            p["name"] for p in params if p["in"] == "path" and p["schema"]["type"] == "integer"
        ]
        for name in ints:
            for bad in ("abc", "0", str(MAX_ID + 1)):
                url = path
                for other in ints:
                    url = url.replace("{" + other + "}", bad if other == name else "1")
                url = url.replace("{name}", "weights.safetensors")
                response = await client.request(method, url, headers=headers)
                assert response.status == 400, (method, url)
                assert "400" in op["responses"]
                error = (await response.json())["error"]
                assert error["code"] == "INVALID_INPUT" and name in error["message"]


async def test_the_model_file_name_is_any_string(client: TestClient) -> None:
    response = await client.get("/v1/models/1/files/12", headers=user_headers())
    assert response.status == 404  # not "must be an integer": names are strings
    assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_errors_follow_from_what_a_route_parses(doc: Doc) -> None:
    for method, path, op in _operations(doc):
        responses = op["responses"]
        if op.get("parameters") or "requestBody" in op:
            assert "400" in responses, (method, path)
        if "requestBody" in op:
            assert "413" in responses, (method, path)
        for status, answer in responses.items():
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    upload = doc["paths"]["/v1/datasets/{id}/images"]["post"]["responses"]
    assert {"400", "404", "413"} <= set(upload)


async def test_rate_limited_routes_document_429_with_retry_after(doc: Doc) -> None:
    for method, path, op in _operations(doc):
        # The bots' own channel and their conversation bookkeeping are not a person's calls.
        exempt = ("/v1/notifications", "/v1/progress-messages", "/v1/conversations/")
        limited = path.startswith("/v1/") and not path.startswith(exempt)
        assert ("429" in op["responses"]) is limited, (method, path)
        if limited:
            assert "Retry-After" in op["responses"]["429"]["headers"]


async def test_a_rate_limited_answer_is_the_documented_one(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(rate_limit_per_minute=1, rate_limit_burst=1))
    )
    doc = await (await client.get("/openapi.json")).json()
    documented = doc["paths"]["/v1/me"]["get"]["responses"]["429"]
    assert (await client.get("/v1/me", headers=user_headers())).status == 200
    limited = await client.get("/v1/me", headers=user_headers())
    assert limited.status == 429
    assert documented["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json())["error"]["code"] == "RATE_LIMITED"


async def test_query_parameters_never_offer_null(doc: Doc) -> None:
    jobs = {p["name"]: p for p in doc["paths"]["/v1/jobs"]["get"]["parameters"]}
    assert jobs["status"]["schema"] == {"$ref": "#/components/schemas/JobStatus"}
    assert jobs["status"]["required"] is False
    assert "null" not in str(
        [
            p
            for _, _, op in _operations(doc)
            for p in op.get("parameters", [])
            if p["in"] == "query"
        ]
    )


async def test_method_not_allowed_keeps_the_allow_header(client: TestClient) -> None:
    response = await client.delete("/v1/me", headers=user_headers())
    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD", "PATCH"}
    assert response.content_type == "application/json"
    assert (await response.json())["error"]["code"] == "METHOD_NOT_ALLOWED"
    jobs = await client.put("/v1/jobs", headers=user_headers())
    assert set(jobs.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
