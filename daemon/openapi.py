"""`@describe` metadata on handlers, and the OpenAPI document built from the router with it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from core.accounts import MAX_USER_ID_CHARS
from core.conversations import MAX_KEY_CHARS
from core.enums import Platform
from daemon.errors import HTTP_CODES, STATUS_OF
from daemon.ratelimit import BOTS_CHANNEL, EXEMPT_PREFIXES
from daemon.schemas import MAX_ID

ATTRIBUTE = "__openapi__"
REF = "#/components/schemas/{model}"
H = TypeVar("H", bound=Callable[..., Any])

# What `path_int` accepts: a positive BIGINT (ids, and a checkpoint's step). Any other path
# parameter is a plain string.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
INTEGER_PATH_PARAMETERS = frozenset({"id", "step"})
# aiohttp's `{name}` matches one non-empty path segment.
SEGMENT_SCHEMA = {"type": "string", "minLength": 1}
# A conversation's key (`/v1/conversations/{key}`) has the width of its column.
KEY_SCHEMA = {**SEGMENT_SCHEMA, "maxLength": MAX_KEY_CHARS}
PLATFORMS = "|".join(p.value for p in Platform)
X_USER = {
    "name": "X-User",
    "in": "header",
    "required": True,
    "description": "The acting person: <platform>:<platform_user_id>",
    "schema": {"type": "string", "pattern": f"^({PLATFORMS}):.{{1,{MAX_USER_ID_CHARS}}}$"},
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until a request is allowed again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
ERROR_CODES = {**HTTP_CODES, **{status: cls.code for cls, status in STATUS_OF.items()}}


@dataclass(frozen=True)
class Description:
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    multipart: bool = False
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)
    repeat_status: int | None = None

    @property
    def success_statuses(self) -> tuple[int, ...]:
        """The statuses answered with `response`."""
        return (self.status,) if self.repeat_status is None else (self.status, self.repeat_status)


def describe(
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    multipart: bool = False,
    query: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    repeat_status: int | None = None,
) -> Callable[[H], H]:
    """Attach what the OpenAPI document says about a handler.

    `repeat_status`: the status of the same answer again, for a repeated idempotency key.
    """
    description = Description(
        summary,
        body,
        response,
        status,
        multipart,
        query,
        tuple(errors),
        repeat_status=repeat_status,
    )

    def attach(handler: H) -> H:
        setattr(handler, ATTRIBUTE, description)
        return handler

    return attach


def description_of(handler: object) -> Description | None:
    """The `@describe` metadata of a handler, if any."""
    return getattr(handler, ATTRIBUTE, None)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(BaseModel):
    """Every error answer."""

    error: ErrorBody


Key = tuple[type[BaseModel], JsonSchemaMode]


@dataclass
class _Schemas:
    """Component schemas of every model the routes name, each nested model hoisted beside them."""

    refs: dict[Key, dict[str, Any]]
    components: dict[str, Any]

    @classmethod
    def of(cls, keys: Iterable[Key]) -> "_Schemas":
        ordered = sorted(set(keys), key=lambda key: (key[0].__module__, key[0].__name__, key[1]))
        refs, defs = models_json_schema(ordered, ref_template=REF)
        return cls(dict(refs), defs.get("$defs", {}))

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def inline(self, model: type[BaseModel]) -> dict[str, Any]:
        """A model's own schema (e.g. a query model, whose fields become parameters)."""
        name = self.ref(model, "validation")["$ref"].rsplit("/", 1)[-1]
        return self.components[name]


def _keys(info: Description) -> list[Key]:
    keys: list[Key] = []
    if info.body is not None:
        keys.append((info.body, "validation"))
    if info.query is not None:
        keys.append((info.query, "validation"))
    if info.response is not None:
        keys.append((info.response, "serialization"))
    return keys


def _security(path: str) -> list[dict[str, list[str]]]:
    if path.startswith("/admin"):
        return [{"adminToken": []}]
    if path == "/metrics":
        return [{"metricsToken": []}, {}]
    if path.startswith("/v1/"):
        return [{"rpcToken": []}]
    return []


def _parameters(path: str, info: Description, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
        for name in _path_params(path)
    ]
    if _acts_for_a_person(path):
        params.append(X_USER)
    if info.query is not None:
        query = schemas.inline(info.query)
        for name, prop in info.query.model_fields.items():
            wire = prop.alias or name  # e.g. `from`, a Python keyword, is the field `from_`
            params.append(
                {
                    "name": wire,
                    "in": "query",
                    "required": prop.is_required(),
                    "description": prop.description or "",
                    "schema": _query_schema(query["properties"][wire]),
                }
            )
    return params


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # A query string cannot carry null: an optional parameter is simply left out.
    options = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(options) == len(schema.get("anyOf", [])):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _path_schema(name: str) -> dict[str, Any]:
    if name in INTEGER_PATH_PARAMETERS or name.endswith("_id"):
        return ID_SCHEMA
    return KEY_SCHEMA if name == "key" else SEGMENT_SCHEMA


def _acts_for_a_person(path: str) -> bool:
    # The bots' own channel (notifications, progress messages): the RPC token and no X-User.
    return path.startswith("/v1/") and not path.startswith(BOTS_CHANNEL)


def _rate_limited(path: str) -> bool:
    return path.startswith("/v1/") and not path.startswith(EXEMPT_PREFIXES)


def _operation(path: str, method: str, info: Description, schemas: _Schemas) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": info.summary,
        "operationId": _operation_id(method, path),
        "tags": [_tag(path)],
        "security": _security(path),
    }
    params = _parameters(path, info, schemas)
    if params:
        op["parameters"] = params
    if info.body is not None:
        media = "multipart/form-data" if info.multipart else "application/json"
        body_schema = schemas.ref(info.body, "validation")
        op["requestBody"] = {"required": True, "content": {media: {"schema": body_schema}}}
    elif info.multipart:
        op["requestBody"] = {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {}
    for status in info.success_statuses:
        ok: dict[str, Any] = {"description": _success_text(info, status)}
        if info.response is not None:
            success = schemas.ref(info.response, "serialization")
            ok["content"] = {"application/json": {"schema": success}}
        responses[str(status)] = ok
    error_content = {"application/json": {"schema": schemas.ref(ErrorResponse, "serialization")}}
    for status in sorted(documented_errors(path, info)):
        answer = {"description": ERROR_CODES.get(status, "error"), "content": error_content}
        if status == 429:
            answer["headers"] = RETRY_AFTER
        responses[str(status)] = answer
    op["responses"] = responses
    return op


def _success_text(info: Description, status: int) -> str:
    if status == info.repeat_status:
        return "the first answer again (a repeated idempotency key)"
    return {200: "OK", 201: "Created"}.get(status, str(status))


def documented_errors(path: str, info: Description) -> set[int]:
    """The error statuses the document lists for a route: its own, its auth's, and those of
    its inputs (400 for a bad path, query, X-User or body; 413 for a body over the limit)."""
    statuses = {*info.errors, *_auth_errors(path)}
    if info.body is not None or info.multipart or info.query is not None or _path_params(path):
        statuses.add(400)
    if _acts_for_a_person(path):
        # 400: a malformed X-User. 409: a person seen for the first time gets an account, and
        # a lost race for it asks to retry.
        statuses.update((400, 409))
    if info.body is not None or info.multipart:
        statuses.add(413)
    if _rate_limited(path):
        statuses.add(429)
    return statuses


def _operation_id(method: str, path: str) -> str:
    words = [part.strip("{}") for part in path.strip("/").split("/") if part]
    return "_".join([method.lower(), *words]).replace("-", "_").replace(".", "_")


def _tag(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if parts[0] == "v1" and len(parts) > 1 else parts[0]


def _auth_errors(path: str) -> tuple[int, ...]:
    if path.startswith("/admin") or path == "/metrics":
        # /metrics: 401 for a wrong metrics token, 403 for a remote client while none is set.
        return (401, 403)
    if path.startswith("/v1/"):
        return (401,)
    return ()


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def described_routes(app: web.Application) -> list[tuple[str, str, Description]]:
    """`(METHOD, path, description)` of every described route (HEAD is aiohttp's own)."""
    found = []
    for route in app.router.routes():
        info = description_of(route.handler)
        if info is None or route.method in ("HEAD", "*") or route.resource is None:
            continue
        found.append((route.method, route.resource.canonical, info))
    return found


def build_openapi(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route of the app."""
    routes = described_routes(app)
    keys: list[Key] = [(ErrorResponse, "serialization")]
    for _, _, info in routes:
        keys.extend(_keys(info))
    schemas = _Schemas.of(keys)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, info in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, info, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "rpcToken": {"type": "http", "scheme": "bearer"},
                "adminToken": {"type": "http", "scheme": "bearer"},
                "metricsToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "LORABOT_METRICS_TOKEN; while it is unset, loopback only.",
                },
            },
        },
    }
