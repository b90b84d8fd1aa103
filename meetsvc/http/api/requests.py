"""Turning an HTTP request into a validated model, or a clear 4xx.

The order matters: content type (415), size (413), JSON syntax (400), then the model's rules
(422). Nothing is read into memory beyond the configured limit.

"JSON" means RFC 8259 JSON: UTF-8 without a byte order mark, no ``NaN`` or ``Infinity``, no
unpaired surrogate escapes, no object naming a member twice. The body is parsed twice (here,
then by pydantic's own parser); a body either parser refuses is malformed (400), whichever of
the two refuses it.
"""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from meetsvc.domain.errors import RuleViolation, Violation
from meetsvc.http.api.problems import BadRequest, PayloadTooLarge, UnsupportedMediaType
from meetsvc.http.appkeys import SETTINGS

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
            loc = (aliases[str(loc[0])], *loc[1:])
        rule = {"extra_forbidden": "unknown_field", "missing": "required"}.get(item["type"], item["type"])
        message = "is not a known field" if rule == "unknown_field" else item["msg"]
        found.append(Violation(_pointer(loc) if loc else "/", rule, message))
    return found


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


class _DuplicateKey(ValueError):
    """A JSON object named one member twice: refused, never resolved by taking the last."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object whose names are unique: with a name twice, parsers disagree on which value counts
    (here the last would silently win), so such a body is refused rather than guessed at."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey("an object names the same member twice")
    return found


def _parse_json(raw: bytes) -> object:
    """The body as RFC 8259 JSON with unique member names, or :class:`BadRequest`."""
    try:
        # Decoded here, strictly: json.loads would also take UTF-16, UTF-32 and a byte order mark.
        return json.loads(raw.decode("utf-8"), parse_constant=_not_json, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise BadRequest(f"the body is not accepted as JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError; RecursionError: nesting too deep
        raise BadRequest(f"the body is not valid JSON: {exc.__class__.__name__}") from None


async def read_model(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"send the body as application/json, not {request.content_type or 'nothing'}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the body must be at most {request.app[SETTINGS].server.max_body_bytes} bytes") from None
    except web.RequestPayloadError:
        # A body that does not match its Content-Encoding (gzip that is not gzip) or is cut short.
        raise BadRequest(
            "the body could not be read as its headers describe it (Content-Encoding, Content-Length)"
        ) from None
    parsed = _parse_json(raw)
    if not isinstance(parsed, dict):
        raise RuleViolation.single("/", "type", "the body must be a JSON object")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        invalid = [item for item in exc.errors(include_url=False) if item["type"] == "json_invalid"]
        if invalid:
            # Text json.loads takes but pydantic's parser does not: an unpaired surrogate escape
            # ("\ud800"), or nesting deeper than pydantic allows.
            raise BadRequest(f"the body is not valid JSON: {invalid[0]['msg']}") from None
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
