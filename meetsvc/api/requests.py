"""Turning an HTTP request into a validated model, or a clear 4xx.

The order matters: content type (415), size (413), JSON syntax (400), then the model's rules
(422). Nothing is read into memory beyond the configured limit.
"""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from meetsvc.api.problems import BadRequest, PayloadTooLarge, UnsupportedMediaType
from meetsvc.domain.errors import RuleViolation, Violation
from meetsvc.state import SETTINGS

M = TypeVar("M", bound=BaseModel)


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in loc]
    return "/" + "/".join(parts)


def violations_from(error: ValidationError, *, aliases: dict[str, str] | None = None) -> list[Violation]:
    found = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        # Pydantic reports where in a union it looked; the client cares about the field only.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "constrained-"))))
        if aliases and loc and loc[0] in aliases:
            loc = (aliases[str(loc[0])],) + loc[1:]
        rule = {"extra_forbidden": "unknown_field", "missing": "required"}.get(item["type"], item["type"])
        message = "is not a known field" if rule == "unknown_field" else item["msg"]
        found.append(Violation(_pointer(loc) if loc else "/", rule, message))
    return found


async def read_model(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"send the body as application/json, not {request.content_type or 'nothing'}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the body must be at most {request.app[SETTINGS].server.max_body_bytes} bytes") from None
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise BadRequest(f"the body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(parsed, dict):
        raise RuleViolation.single("/", "type", "the body must be a JSON object")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise RuleViolation(violations_from(exc)) from None


def read_query(request: web.Request, model: type[M]) -> M:
    params: dict[str, str] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise RuleViolation.single(f"/{key}", "single_value", "give this parameter once")
        params[key] = values[0]
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise RuleViolation(violations_from(exc)) from None
