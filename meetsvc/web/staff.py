"""Staff pages: sign in with eID, see the organisation's coming meetings, sign out."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.sessions import SessionKind
from meetsvc.state import BOOKING, DIRECTORY, SESSIONS
from meetsvc.web.context import current_session, require_form, set_session_cookie
from meetsvc.web.i18n import request_language
from meetsvc.web.pages import error_page, render
from meetsvc.web.participant import spoken_time


async def login_page(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is not None and session.signed_in_staff:
        raise web.HTTPSeeOther("/staff")
    language = request_language(request)
    if session is None or session.kind is not SessionKind.STAFF:
        issued = await request.app[SESSIONS].start(SessionKind.STAFF, language=language)
        response = render(request, "staff_login.html", {"csrf": issued.session.csrf_token, "refused": False}, language=language)
        set_session_cookie(request, response, issued)
        return response
    return render(request, "staff_login.html", {"csrf": session.csrf_token, "refused": False}, language=language)


async def home(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is None or not session.signed_in_staff:
        raise web.HTTPSeeOther("/staff/login")
    assert session.staff_id is not None
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None:
        return error_page(request, 401, "error.session")
    language = request_language(request, session.language)
    caller = OrganisationCaller(member.organisation_id, f"staff:{member.id}")
    meetings = await request.app[BOOKING].list_meetings(caller, starts_from=request.app[BOOKING].now())
    rows = [
        {
            "starts_at": m.starts_at,
            "when": spoken_time(m.starts_at, m.ends_at, m.time_zone, language),
            "title": m.title,
            "status": m.status.value,
            "participant_count": m.participant_count,
        }
        for m in meetings
    ]
    return render(
        request,
        "staff_home.html",
        {"meetings": rows, "staff_name": member.display_name, "csrf": session.csrf_token},
        language=language,
    )


async def logout(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is not None:
        await require_form(request, session)
        await request.app[SESSIONS].end(session.id)
    response = web.HTTPSeeOther("/")
    response.del_cookie("meetsvc_session", path="/")
    raise response
