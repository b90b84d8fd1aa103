"""The OpenAPI 3.1 document, built from the route table and the pydantic models.

OpenAPI 3.1 uses JSON Schema 2020-12, which is what pydantic emits, so the schemas are the
models' own, not a translation.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from meetsvc import __version__
from meetsvc.http.api import schemas
from meetsvc.http.api.routes import Endpoint

REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    400: "The request is malformed.",
    401: "No valid API client key.",
    404: "No such resource for this client.",
    409: "Conflicts with the resource's present state.",
    413: "The body is too large.",
    415: "The body is not application/json.",
    422: "The request breaks one or more rules; see errors[].",
    503: "The database cannot be reached just now; nothing was changed. Try again after Retry-After seconds.",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


_UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
# Path parameters that are not ids: an area of care is named by its code.
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {"code": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop})
    return parameters


def _allows_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null" or (isinstance(schema.get("type"), list) and "null" in schema["type"]):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def _drop_impossible_defaults(components: dict[str, Any]) -> None:
    """A field that may be left out but never sent as null (a PATCH's non-clearable fields) has
    no default a client could send; pydantic writes ``default: null`` for it, which the field's
    own type forbids. Leave the default out so the document is valid and says what is true."""
    for schema in components.values():
        for prop in schema.get("properties", {}).values():
            if "default" in prop and prop["default"] is None and not _allows_null(prop):
                del prop["default"]


def build_openapi(endpoints: list[Endpoint], *, server_url: str) -> dict[str, Any]:
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(schemas.Problem, "serialization")}
    for endpoint in endpoints:
        if endpoint.request:
            models.add((endpoint.request, "validation"))
        if endpoint.response:
            models.add((endpoint.response, "serialization"))
    _, top = models_json_schema(sorted(models, key=lambda m: m[0].__name__), ref_template=REF)
    components = top.get("$defs", {})
    _drop_impossible_defaults(components)

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "responses": {},
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(name, _UUID)}
            for name in re.findall(r"{(\w+)}", endpoint.path)
        ]
        if endpoint.query:
            parameters += _query_parameters(endpoint.query)
        if parameters:
            operation["parameters"] = parameters
        if endpoint.request:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(endpoint.request)}},
            }
        ok: dict[str, Any] = {"description": "Success."}
        if endpoint.response:
            ok["content"] = {"application/json": {"schema": _ref(endpoint.response)}}
        operation["responses"][str(endpoint.status)] = ok
        for status in endpoint.errors:
            operation["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error."),
                "content": {"application/problem+json": {"schema": _ref(schemas.Problem)}},
            }
        if endpoint.authenticated:
            operation["security"] = [{"apiClientKey": []}]
            # Every authenticated call reads the database (the key, at least).
            operation["responses"]["503"] = {
                "description": _STATUS_TEXT[503],
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait before trying again.",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                },
                "content": {"application/problem+json": {"schema": _ref(schemas.Problem)}},
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "meetsvc organiser API",
            "version": __version__,
            "description": "Book SIP meetings, invite participants and manage their invitations. "
            "Every error is application/problem+json (RFC 9457).",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiClientKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API client key (msk_…) from `meetsvc api-client create`.",
                }
            },
        },
    }
