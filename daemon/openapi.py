"""`@describe` metadata on handlers, and the OpenAPI document built from the router with it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

ATTRIBUTE = "__openapi__"
REF = "#/components/schemas/{model}"
H = TypeVar("H", bound=Callable[..., Any])

ERROR_STATUS = {
    "INVALID_INPUT": 400,
    "UNAUTHORIZED": 401,
    "INSUFFICIENT_POINTS": 402,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "TOO_LARGE": 413,
    "PREFLIGHT_REFUSED": 422,
    "RATE_LIMITED": 429,
}


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


def _security(path: str) -> list[dict[str, list[str]]]:
    if path.startswith("/admin"):
        return [{"adminToken": []}]
    if path.startswith("/v1/"):
        return [{"rpcToken": []}]
    return []


def _operation(path: str, method: str, info: Description) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": info.summary,
        "operationId": _operation_id(method, path),
        "tags": [_tag(path)],
        "security": _security(path),
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in _path_params(path)
    ]
    if path.startswith("/v1/") and not path.startswith("/v1/notifications"):
        params.append(
            {
                "name": "X-User",
                "in": "header",
                "required": True,
                "description": "The acting person: <platform>:<platform_user_id>",
                "schema": {"type": "string"},
            }
        )
    if info.query is not None:
        for name, prop in info.query.model_fields.items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": prop.is_required(),
                    "description": prop.description or "",
                    "schema": info.query.model_json_schema()["properties"][name],
                }
            )
    if params:
        op["parameters"] = params
    if info.body is not None:
        media = "multipart/form-data" if info.multipart else "application/json"
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": {"$ref": REF.format(model=info.body.__name__)}}},
        }
    elif info.multipart:
        op["requestBody"] = {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {}
    for status in info.success_statuses:
        ok: dict[str, Any] = {"description": _success_text(info, status)}
        if info.response is not None:
            ref = {"$ref": REF.format(model=info.response.__name__)}
            ok["content"] = {"application/json": {"schema": ref}}
        responses[str(status)] = ok
    error_ref = {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}}
    for status in sorted(documented_errors(path, info)):
        responses[str(status)] = {"description": "error", "content": error_ref}
    op["responses"] = responses
    return op


def _success_text(info: Description, status: int) -> str:
    if status == info.repeat_status:
        return "the first answer again (a repeated idempotency key)"
    return "OK" if status < 300 else str(status)


def documented_errors(path: str, info: Description) -> set[int]:
    """The error statuses the document lists for a route: its own, its auth's, and those of
    its inputs (400 for a bad path, query or body; 413 for a JSON body over the limit)."""
    statuses = {*info.errors, *_auth_errors(path)}
    if info.body is not None or info.query is not None or _path_params(path):
        statuses.add(400)
    if info.body is not None and not info.multipart:
        statuses.add(413)
    return statuses


def _operation_id(method: str, path: str) -> str:
    words = [part.strip("{}") for part in path.strip("/").split("/") if part]
    return "_".join([method.lower(), *words]).replace("-", "_").replace(".", "_")


def _tag(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if parts[0] == "v1" and len(parts) > 1 else parts[0]


def _auth_errors(path: str) -> tuple[int, ...]:
    if path.startswith("/admin"):
        return (401, 403)
    if path.startswith("/v1/notifications"):
        return (401,)
    if path.startswith("/v1/"):
        return (400, 401)  # 400: a malformed X-User
    return ()


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def build_openapi(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route of the app."""
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {ErrorResponse}
    for route in app.router.routes():
        info = description_of(route.handler)
        if info is None or route.method in ("HEAD", "*"):
            continue
        path = route.resource.canonical if route.resource is not None else ""
        paths.setdefault(path, {})[route.method.lower()] = _operation(path, route.method, info)
        models.update(m for m in (info.body, info.response) if m is not None)
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "rpcToken": {"type": "http", "scheme": "bearer"},
                "adminToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
