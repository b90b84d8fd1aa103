"""Identification pages, shared by participants and staff: start, live status, QR, cancel."""

from __future__ import annotations

import contextlib
import io

import segno
from aiohttp import web

from meetsvc.domain.errors import Conflict
from meetsvc.http.appkeys import FREJA, IDENTIFICATION, INVITATIONS, SESSIONS, SETTINGS, STAFF_OIDC
from meetsvc.http.pages.context import (
    CsrfFailed,
    SessionRequired,
    client_address,
    current_session,
    is_mobile,
    read_form,
    require_form,
    set_session_cookie,
)
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.render import error_page, render
from meetsvc.http.pages.staff import oidc_choices
from meetsvc.services.identification import IdentificationUnavailable, TooManyAttempts, UnknownMethod
from meetsvc.services.sessions import SIGN_IN_COOKIE, BrowserSession, IssuedSession, SessionKind


def _done_url(session: BrowserSession) -> str:
    # Staff come back to /identify, which swaps the finished sign-in for a signed-in session.
    return "/m" if session.kind is SessionKind.PARTICIPANT else "/identify"


def _retry_url(session: BrowserSession) -> str:
    return "/m" if session.kind is SessionKind.PARTICIPANT else "/staff/login"


def _return_url(request: web.Request) -> str:
    return f"{request.app[SETTINGS].server.base_url}/identify"


async def _session_or_error(request: web.Request) -> BrowserSession | web.Response:
    session = await current_session(request)
    if session is None or session.signed_in_staff:
        return error_page(request, 401, "error.session")
    return session


async def _starting_session(request: web.Request) -> tuple[BrowserSession, IssuedSession | None, dict[str, str]]:
    """The session an identification starts in, and the posted form.

    A form from the session's own page echoes its CSRF token. The staff sign-in form was shown
    without a session: its signed token is checked against the browser's sign-in cookie and only
    then is a staff session created (returned as issued, for its cookie). Anything else is refused.
    """
    session = await current_session(request)
    if session is not None and session.signed_in_staff:
        raise SessionRequired()
    posted = await read_form(request)
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    if session is not None and session.csrf_ok(form.get("csrf")):
        return session, None, form
    sessions = request.app[SESSIONS]
    if not sessions.sign_in_form_ok(request.cookies.get(SIGN_IN_COOKIE), form.get("csrf")):
        raise SessionRequired() if session is None else CsrfFailed()
    if session is not None and session.kind is SessionKind.STAFF:
        return session, None, form
    issued = await sessions.start(SessionKind.STAFF, language=request_language(request))
    return issued.session, issued, form


async def freja_offered(request: web.Request, session: BrowserSession) -> bool:
    """Whether this person may choose Freja eID: staff wherever it is enabled, a participant
    where their meeting's organisation offers it."""
    if request.app[FREJA] is None:
        return False
    if session.kind is not SessionKind.PARTICIPANT or session.participant_id is None:
        return True
    view = await request.app[INVITATIONS].view(session.participant_id)
    return view is not None and request.app[SETTINGS].freja.offered_to(view.organisation.id)


async def _method(request: web.Request, session: BrowserSession, form: dict[str, str]) -> str | None:
    """The eID the form chose (BankID when it names none), or None if it is not offered here."""
    method = form.get("method", "bankid")
    if method == "bankid":
        return method
    if method == "freja" and await freja_offered(request, session):
        return method
    return None


async def start(request: web.Request) -> web.StreamResponse:
    try:
        session, issued, form = await _starting_session(request)
    except SessionRequired:
        return error_page(request, 401, "error.session")
    language = request_language(request, session.language)
    response: web.StreamResponse
    method = await _method(request, session, form)
    try:
        if method is None:
            raise UnknownMethod()
        await request.app[IDENTIFICATION].start(
            session,
            same_device=form.get("device") == "same",
            client_address=client_address(request),
            user_agent=request.headers.get("User-Agent"),
            return_url=_return_url(request),
            method=method,
        )
        response = web.HTTPSeeOther("/identify")
    except UnknownMethod:
        response = error_page(request, 400, "error.method", language)
    except TooManyAttempts:
        response = error_page(request, 429, "error.too_many", language)
    except IdentificationUnavailable as exc:
        response = render(request, "error.html", {"message": exc.detail}, status=503, language=language)
    if issued is not None:
        set_session_cookie(request, response, issued)
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def page(request: web.Request) -> web.StreamResponse:
    session = await _session_or_error(request)
    if isinstance(session, web.Response):
        return session
    promoted = await _promote_staff(request, session)
    if promoted is not None:
        return promoted
    language = request_language(request, session.language)
    view = await request.app[IDENTIFICATION].view(session, mobile=is_mobile(request), return_url=_return_url(request))
    if view is None:
        raise web.HTTPSeeOther(_retry_url(session))
    if view.outcome == "not_staff":
        return render(
            request,
            "staff_login.html",
            {
                "csrf": session.csrf_token,
                "refused": True,
                "freja": request.app[FREJA] is not None,
                "oidc_providers": oidc_choices(request),
            },
            status=403,
            language=language,
            form_targets=await request.app[STAFF_OIDC].form_targets(),
        )
    return render(
        request,
        "identify.html",
        {"view": view, "csrf": session.csrf_token, "done_url": _done_url(session), "retry_url": _retry_url(session)},
        language=language,
    )


async def _promote_staff(request: web.Request, session: BrowserSession) -> web.Response | None:
    """A staff sign-in that completed: give the browser a fresh, signed-in session."""
    if session.kind is not SessionKind.STAFF:
        return None
    issued = await request.app[IDENTIFICATION].finish_staff_sign_in(session, request.app[SESSIONS])
    if issued is None:
        return None
    response = web.HTTPSeeOther("/staff")
    set_session_cookie(request, response, issued)
    raise response


async def status(request: web.Request) -> web.Response:
    session = await current_session(request)
    if session is None or session.signed_in_staff:
        return web.json_response({"state": "expired", "message": ""}, status=401)
    view = await request.app[IDENTIFICATION].view(session, mobile=is_mobile(request), return_url=_return_url(request))
    if view is None:
        return web.json_response({"state": "none", "message": ""}, status=404)
    return web.json_response(
        {
            "state": view.state,
            "hint_code": view.hint_code,
            "message": view.message,
            # The QR string is what the code shows, so it is no secret; the secret behind it
            # (qrStartSecret) never leaves the server.
            "qr_data": view.qr_data,
            "autostart_url": view.autostart_url,
        },
        headers={"Cache-Control": "no-store"},
    )


async def qr_image(request: web.Request) -> web.Response:
    """This second's QR code as SVG, drawn here from the string only the server can compute."""
    session = await current_session(request)
    if session is None:
        raise web.HTTPUnauthorized()
    view = await request.app[IDENTIFICATION].view(session, mobile=False, return_url=None)
    if view is None or view.qr_data is None:
        raise web.HTTPNotFound()
    # A standalone SVG document (with its xmlns), which browsers draw as an <img>; the inline
    # form without it shows only the alt text.
    buffer = io.BytesIO()
    segno.make(view.qr_data, error="l").save(
        buffer, kind="svg", xmldecl=False, scale=6, border=4, dark="#000", light="#fff"
    )
    return web.Response(
        body=buffer.getvalue(), content_type="image/svg+xml", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


async def cancel(request: web.Request) -> web.StreamResponse:
    session = await _session_or_error(request)
    if isinstance(session, web.Response):
        return session
    await require_form(request, session)
    with contextlib.suppress(Conflict):  # finished meanwhile: the page shows how it ended
        await request.app[IDENTIFICATION].cancel(session)
    raise web.HTTPSeeOther("/identify")
