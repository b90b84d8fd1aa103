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
from collections.abc import MutableMapping

from aiohttp import web, web_response

from meetsvc.core.logs import request_id_var
from meetsvc.domain.errors import DomainError, Forbidden
from meetsvc.http.api.problems import from_domain_error, problem_response
from meetsvc.http.appkeys import METRICS, SETTINGS
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
# Sent when people reach the service over HTTPS (server.public_url): browsers then refuse plain
# HTTP to this name for two years. Not includeSubDomains: other services may share the domain.
HSTS = "max-age=63072000"
# What the Server header says on every answer: no framework or version for a scanner to match.
SERVER_NAME = "meetsvc"
# Request bodies are read as sent. A compressed body buys nothing at the size limit and is one
# more parser in front of sign-in; aiohttp would also read an unknown coding as identity.
ACCEPTED_CONTENT_ENCODINGS = ("identity",)

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


def hide_server_version() -> None:
    """Make every answer's Server header :data:`SERVER_NAME`.

    aiohttp writes its own (Python and aiohttp versions) into any answer that has none, the ones
    it makes itself included: a request it cannot parse, a websocket handshake. Its module-level
    default is the one place all of them pass.
    """
    web_response.SERVER_SOFTWARE = SERVER_NAME


def _secure(request: web.Request, headers: MutableMapping[str, str], request_id: str) -> None:
    """The headers every answer carries: pages, API answers, redirects and errors alike."""
    headers["X-Request-Id"] = request_id
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if request.app[SETTINGS].server.base_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/"):
        headers.setdefault("Content-Security-Policy", API_CSP)
        headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def observe(request: web.Request, handler):
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
            _secure(request, raised.headers, request_id)
            raise
        status = response.status
        _secure(request, response.headers, request_id)
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


_PAGE_MESSAGES = {
    400: "error.bad_request",
    401: "error.session",
    403: "error.csrf",
    404: "error.not_found",
    415: "error.bad_request",
    429: "error.too_many",
}


def _for_people(request: web.Request) -> bool:
    """Pages answer people with a readable page; the API answers programs with problem+json."""
    return not request.path.startswith("/api/") and "application/json" not in request.headers.get("Accept", "")


def _error_page(request: web.Request, status: int) -> web.Response:
    return error_page(request, status, _PAGE_MESSAGES.get(status, "error.generic"))


def _content_encoding_refused(request: web.Request, request_id: str | None) -> web.Response | None:
    """415 for a body in a content coding the service does not read (anything compressed).

    The application turns aiohttp's own decoding off (``auto_decompress``), so a coding aiohttp
    cannot decode reaches this answer too, instead of a plain-text 400 from the parser.
    """
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", *ACCEPTED_CONTENT_ENCODINGS):
        return None
    if _for_people(request):
        return _error_page(request, 415)
    accepted = ", ".join(ACCEPTED_CONTENT_ENCODINGS)
    return problem_response(
        415,
        "unsupported-media-type",
        "The body's Content-Encoding is not supported.",
        f"send the body uncompressed; the Content-Encoding accepted is: {accepted}",
        headers={"Accept-Encoding": accepted},
        request_id=request_id,
    )


@web.middleware
async def problems(request: web.Request, handler):
    request_id = request_id_var.get()
    refused = _content_encoding_refused(request, request_id)
    if refused is not None:
        return refused
    try:
        return await handler(request)
    except DomainError as error:
        if _for_people(request):
            if isinstance(error, Forbidden):  # a rule said no: not an expired form
                return error_page(request, 403, "error.forbidden")
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
