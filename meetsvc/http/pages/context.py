"""Per-request helpers for pages: the browser session, CSRF, the client's address."""

from __future__ import annotations

import codecs
import ipaddress
from collections.abc import Mapping

from aiohttp import web

from meetsvc.domain.errors import DomainError
from meetsvc.http.appkeys import SESSIONS, SETTINGS
from meetsvc.services.sessions import COOKIE_NAME, SIGN_IN_COOKIE, BrowserSession, IssuedSession


class SessionRequired(DomainError):
    code = "session-required"
    status = 401
    title = "Your session has expired."


class CsrfFailed(DomainError):
    code = "csrf-failed"
    status = 403
    title = "The form had expired."


class MalformedForm(DomainError):
    code = "bad-request"
    status = 400
    title = "The form could not be read."


# What our pages' forms send. A multipart body is refused unread: no page takes a file, and its
# parser (boundaries, part headers, transfer encodings) is more to get wrong before sign-in.
FORM_TYPES = ("application/x-www-form-urlencoded", "")


async def read_form(request: web.Request) -> Mapping[str, object]:
    """The posted form, or :class:`MalformedForm` (400) when it cannot be read as our forms are
    sent: URL-encoded UTF-8. An unknown charset or bytes that are not UTF-8 are the client's
    mistake, not an error of ours to log with a traceback."""
    charset = request.charset
    if request.content_type not in FORM_TYPES or (charset is not None and not _is_utf8(charset)):
        raise MalformedForm("send the form as application/x-www-form-urlencoded in UTF-8")
    try:
        return await request.post()
    except ValueError:  # UnicodeDecodeError among them
        raise MalformedForm("the form is not URL-encoded UTF-8") from None


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


async def current_session(request: web.Request) -> BrowserSession | None:
    return await request.app[SESSIONS].resume(request.cookies.get(COOKIE_NAME))


async def require_session(request: web.Request) -> BrowserSession:
    session = await current_session(request)
    if session is None:
        raise SessionRequired()
    return session


async def require_form(request: web.Request, session: BrowserSession) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's."""
    form = await read_form(request)
    token = form.get("csrf")
    if not isinstance(token, str) or not session.csrf_ok(token):
        raise CsrfFailed()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def set_session_cookie(request: web.Request, response: web.StreamResponse, issued: IssuedSession) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE_NAME,
        issued.token,
        httponly=True,
        secure=settings.security.secure_cookies,
        samesite="Lax",
        path="/",
        max_age=settings.sessions.absolute_hours * 3600,
    )


def set_sign_in_cookie(request: web.Request, response: web.StreamResponse, nonce: str) -> None:
    """The random value the sign-in form's token is signed over; it lasts as long as the browser."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        httponly=True,
        secure=request.app[SETTINGS].security.secure_cookies,
        samesite="Lax",
        path="/",
    )


def client_address(request: web.Request) -> str:
    """The end user's IP address (BankID requires it), believing X-Forwarded-For only from our proxies."""
    remote = request.remote or "127.0.0.1"
    trusted = request.app[SETTINGS].server.trusted_proxies
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in trusted:
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return remote
    return remote


def is_mobile(request: web.Request) -> bool:
    agent = request.headers.get("User-Agent", "")
    return any(word in agent for word in ("Android", "iPhone", "iPad", "iPod", "Mobile"))
