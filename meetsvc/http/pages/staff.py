"""Staff pages: sign in with eID, see the organisation's coming meetings, sign out."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import ParticipantRole, ParticipantState
from meetsvc.http.appkeys import BOOKING, DIRECTORY, SESSIONS, WAITING_ROOM
from meetsvc.http.pages.context import current_session, require_form, set_sign_in_cookie
from meetsvc.http.pages.i18n import request_language, translate
from meetsvc.http.pages.participant import spoken_time
from meetsvc.http.pages.render import error_page, render
from meetsvc.services.sessions import SIGN_IN_COOKIE
from meetsvc.services.waiting_room import HostCaller


async def login_page(request: web.Request) -> web.StreamResponse:
    """The sign-in page. Showing it stores nothing: its form's token is signed, not stored, and
    the session starts when the form is posted (:func:`meetsvc.http.pages.identify.start`)."""
    session = await current_session(request)
    if session is not None and session.signed_in_staff:
        raise web.HTTPSeeOther("/staff")
    language = request_language(request)
    form = request.app[SESSIONS].sign_in_form(request.cookies.get(SIGN_IN_COOKIE))
    response = render(request, "staff_login.html", {"csrf": form.csrf_token, "refused": False}, language=language)
    set_sign_in_cookie(request, response, form.nonce)
    return response


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
            "id": m.id,
            "is_host": member.id in m.host_ids,
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


HOST_TEXT_KEYS = (
    "host.waited",
    "host.invited_as",
    "host.not_verified",
    "host.match",
    "host.mismatch",
    "host.no_expectation",
    "host.admit",
    "host.deny",
    "host.remove",
    "host.send_back",
    "host.message",
    "host.end_confirm",
    "host.arrival",
    "host.second_person",
    "host.send_back_reason",
    "host.meeting_ended",
    *tuple(
        f"host.presence.{name}"
        for name in (
            "waiting",
            "connection_lost",
            "gone",
            "joining",
            "in_meeting",
            "left_video",
            "left",
            "knocking",
            "identified",
            "denied",
            "removed",
            "ended",
        )
    ),
    *tuple(f"role.{role.value}" for role in ParticipantRole),
    *tuple(f"state.{state.value}" for state in ParticipantState),
)


async def host_console(request: web.Request) -> web.StreamResponse:
    """One meeting's waiting room, for its hosts (the socket re-checks on every event)."""
    session = await current_session(request)
    if session is None or not session.signed_in_staff or session.staff_id is None:
        raise web.HTTPSeeOther("/staff/login")
    meeting_id = request.match_info["meeting_id"]
    host = HostCaller(session.staff_id)
    if len(meeting_id) != 36 or not await request.app[WAITING_ROOM].is_host(host, meeting_id):
        return error_page(request, 404, "error.not_found")
    meeting = await request.app[WAITING_ROOM].meeting_for_host(host, meeting_id)
    language = request_language(request, session.language)
    return render(
        request,
        "host.html",
        {
            "meeting_id": meeting_id,
            "title": meeting.title,
            "starts_at": meeting.starts_at,
            "when": spoken_time(meeting.starts_at, meeting.ends_at, meeting.time_zone, language),
            "texts": {key: translate(language, key) for key in HOST_TEXT_KEYS},
        },
        language=language,
    )
