"""RFC 9457 problem details: the one shape every API error takes.

``errors`` lists each broken rule with the field as a JSON pointer into the request and the
rule's stable name, so an integrating system can show the right message next to the right field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from meetsvc.domain.errors import DomainError, RuleViolation, Violation

# Problem types are URNs: stable names that do not pretend to be pages someone can open.
PROBLEM_TYPE_BASE = "urn:meetsvc:problem:"
CONTENT_TYPE = "application/problem+json"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: Iterable[Violation] = (),
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> web.Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    errs = [{"field": v.field, "rule": v.rule, "message": v.message} for v in errors]
    if errs:
        body["errors"] = errs
    if request_id:
        body["request_id"] = request_id
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )


def from_domain_error(error: DomainError, request_id: str | None = None) -> web.Response:
    violations = error.violations if isinstance(error, RuleViolation) else ()
    # RFC 6750 §3: a 401 names the scheme the client must use.
    headers = {"WWW-Authenticate": 'Bearer realm="meetsvc"'} if error.status == 401 else None
    return problem_response(
        error.status, error.code, error.title, error.detail, errors=violations, headers=headers, request_id=request_id
    )


class BadRequest(DomainError):
    """The request itself is malformed (not JSON, wrong content type, bad query parameter)."""

    code = "bad-request"
    status = 400
    title = "The request is malformed."


class UnsupportedMediaType(DomainError):
    code = "unsupported-media-type"
    status = 415
    title = "The request body must be application/json."


class PayloadTooLarge(DomainError):
    code = "payload-too-large"
    status = 413
    title = "The request body is too large."
