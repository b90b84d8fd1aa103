"""Staff pages: sign in with eID, see the organisation's coming meetings, sign out."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import Language, ParticipantRole, ParticipantState
from meetsvc.domain.roles import may_administer, may_book
from meetsvc.http.appkeys import BOOKING, DIRECTORY, FREJA, SESSIONS, STAFF_OIDC, WAITING_ROOM
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
    response = render(
        request,
        "staff_login.html",
        {
            "csrf": form.csrf_token,
            "refused": False,
            "freja": request.app[FREJA] is not None,
            "oidc_providers": oidc_choices(request),
        },
        language=language,
        form_targets=await request.app[STAFF_OIDC].form_targets(),
    )
    set_sign_in_cookie(request, response, form.nonce)
    return response


def oidc_choices(request: web.Request) -> list[dict[str, str]]:
    """The organisations' OpenID Connect providers the sign-in page offers beside BankID."""
    return [
        {"name": provider.name, "profile": provider.profile.name, "organisation": provider.organisation}
        for provider in request.app[STAFF_OIDC].providers
    ]


async def home(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is None or not session.signed_in_staff:
        raise web.HTTPSeeOther("/staff/login")
    assert session.staff_id is not None
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None or not member.active:
        return error_page(request, 401, "error.session")
    language = request_language(request, session.language)
    caller = OrganisationCaller.staff(member.organisation_id, member.id, member.roles)
    meetings = await request.app[BOOKING].list_meetings(caller, starts_from=request.app[BOOKING].now())
    names = {o.id: o.name for o in await request.app[DIRECTORY].list_organisations()}
    rows = [
        {
            "id": m.id,
            "is_host": member.id in m.host_ids,
            "starts_at": m.starts_at,
            "when": spoken_time(m.starts_at, m.ends_at, m.time_zone, language),
            "title": m.title,
            "partner": m.organisation_id != member.organisation_id,
            "booked_by_organisation": names.get(m.organisation_id, ""),
            "status": m.status.value,
            "participant_count": m.participant_count,
        }
        for m in meetings
    ]
    return render(
        request,
        "staff_home.html",
        {
            "meetings": rows,
            "staff_name": member.display_name,
            "csrf": session.csrf_token,
            "may_book": may_book(member.roles),
            "may_administer": may_administer(member.roles),
        },
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
    "host.signed_out",
    "host.waited",
    "host.invited_as",
    "host.not_verified",
    "host.match",
    "host.mismatch",
    "host.no_expectation",
    "host.method.bankid",
    "host.method.freja",
    "host.loa.loa3",
    "host.loa.extended",
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
    "host.message_to",
    "host.message_sent",
    "host.admit_all_none",
    "host.admit_all_done",
    "host.note_from",
    "host.note_arrived",
    "host.count",
    *tuple(f"role.{role.value}" for role in ParticipantRole),
    *tuple(f"state.{state.value}" for state in ParticipantState),
)


def host_texts(language: Language) -> dict[str, str]:
    """What the host panel's script says, in the host's language (console and video drawer)."""
    return {key: translate(language, key) for key in HOST_TEXT_KEYS}


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
    hosts = await request.app[WAITING_ROOM].hosts_for_host(host, meeting_id)
    language = request_language(request, session.language)
    names = {o.id: o.name for o in await request.app[DIRECTORY].list_organisations()}
    return render(
        request,
        "host.html",
        {
            "meeting_id": meeting_id,
            "title": meeting.title,
            "booked_by_organisation": names.get(meeting.organisation_id, ""),
            "partner_organisation": names.get(meeting.partner_organisation_id, ""),
            "starts_at": meeting.starts_at,
            "when": spoken_time(meeting.starts_at, meeting.ends_at, meeting.time_zone, language),
            "hosts": hosts,
            "host_texts": host_texts(language),
            "in_video": False,
        },
        language=language,
    )
