"""Request middleware: request ids, the access log and metrics, problem answers, security headers.

Every error leaves here as a clear answer: domain errors and aiohttp's own HTTP errors become
problem+json; a database (or another connection) that is away becomes a 503 with ``Retry-After``;
anything unexpected becomes a 500 that names the request id and nothing else (the stack trace
goes to the log, never to the client). People get the same answers as readable pages.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web

from meetsvc.core.logs import request_id_var
from meetsvc.domain.errors import DomainError
from meetsvc.http.api.problems import from_domain_error, problem_response
from meetsvc.http.appkeys import METRICS
from meetsvc.http.pages.render import error_page, render
from meetsvc.storage.availability import unavailable_dependency

access_log = logging.getLogger("meetsvc.access")
error_log = logging.getLogger("meetsvc.error")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# What a client is told to wait before trying again while a dependency is away: long enough for
# a database restart or failover to finish, short enough that nobody gives up.
RETRY_AFTER_SECONDS = 5

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Camera and microphone only for our own pages (the built-in video backend).
    "Permissions-Policy": "geolocation=(), payment=(), usb=(), camera=(self), microphone=(self)",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_HTTP_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


def _route_template(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "(unmatched)"


@web.middleware
async def observe(request: web.Request, handler):  # type: ignore[no-untyped-def]
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except web.HTTPException as raised:  # a redirect (or an error ``problems`` passed on)
            status = raised.status
            raise
        status = response.status
        response.headers["X-Request-Id"] = request_id
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Content-Security-Policy", API_CSP)
            response.headers.setdefault("Cache-Control", "no-store")
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = _route_template(request)
        metrics = request.app[METRICS]
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        access_log.info(
            "%s %s %s %.1fms",
            request.method,
            route,
            status,
            elapsed * 1000,
            extra={"method": request.method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
        )
        request_id_var.reset(token)


_PAGE_MESSAGES = {401: "error.session", 403: "error.csrf", 404: "error.not_found", 429: "error.too_many"}


def _for_people(request: web.Request) -> bool:
    """Pages answer people with a readable page; the API answers programs with problem+json."""
    return not request.path.startswith("/api/") and "application/json" not in request.headers.get("Accept", "")


def _error_page(request: web.Request, status: int) -> web.Response:
    return error_page(request, status, _PAGE_MESSAGES.get(status, "error.generic"))


@web.middleware
async def problems(request: web.Request, handler):  # type: ignore[no-untyped-def]
    request_id = request_id_var.get()
    try:
        return await handler(request)
    except DomainError as error:
        if _for_people(request):
            return _error_page(request, error.status)
        return from_domain_error(error, request_id)
    except web.RequestPayloadError:
        # The body cannot be read as its headers describe it (gzip that is not gzip, a body cut
        # short): the client's mistake, wherever the handler read it (a page's form, the API).
        if _for_people(request):
            return _error_page(request, 400)
        return problem_response(
            400,
            "bad-request",
            "The request is malformed.",
            "the body could not be read as its headers describe it",
            request_id=request_id,
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if _for_people(request):
            return _error_page(request, error.status)
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return problem_response(
            error.status,
            _HTTP_CODES.get(error.status, "http-error"),
            error.reason,
            headers=headers,
            request_id=request_id,
        )
    except Exception as error:
        dependency = unavailable_dependency(error)
        if dependency is not None:
            return _unavailable(request, dependency, error, request_id)
        error_log.exception("unexpected error")
        if _for_people(request):
            return _error_page(request, 500)
        return problem_response(
            500,
            "internal-error",
            "Something went wrong on our side.",
            "The error has been logged; quote the request id when reporting it.",
            request_id=request_id,
        )


_UNAVAILABLE_DETAIL = {
    "database": "The service cannot reach its database just now; try again shortly.",
    "network": "A service this one depends on does not answer just now. Try again shortly.",
}


def _unavailable(request: web.Request, dependency: str, error: Exception, request_id: str | None) -> web.Response:
    """503 while a dependency is away: not the client's mistake, and not a bug to report.

    Only the error's class is logged: a database error's text can quote the statement's
    parameters, which may be personal data.
    """
    error_log.warning(
        "%s unavailable: %s",
        dependency,
        error.__class__.__name__,
        extra={"dependency": dependency, "error": error.__class__.__name__},
    )
    request.app[METRICS].dependency_failures.labels(dependency, "http").inc()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _for_people(request):
        response = render(request, "unavailable.html", status=503)
        response.headers.update(headers)
        return response
    return problem_response(
        503,
        "service-unavailable",
        "The service is temporarily unavailable.",
        _UNAVAILABLE_DETAIL[dependency],
        headers=headers,
        request_id=request_id,
    )
