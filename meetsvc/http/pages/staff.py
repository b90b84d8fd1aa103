"""Staff pages: sign in with eID, see the organisation's coming meetings, sign out."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import NotFound
from meetsvc.domain.model import Language, ParticipantRole, ParticipantState
from meetsvc.domain.roles import may_administer, may_book, may_read_statistics
from meetsvc.http.appkeys import BOOKING, DIRECTORY, FREJA, SERVICES, SESSIONS, STAFF_OIDC, WAITING_ROOM
from meetsvc.http.pages.context import current_session, require_form, set_sign_in_cookie
from meetsvc.http.pages.i18n import request_language, translate
from meetsvc.http.pages.participant import spoken_time
from meetsvc.http.pages.render import error_page, render
from meetsvc.http.pages.statistics import outcome_choices
from meetsvc.services.sessions import SIGN_IN_COOKIE
from meetsvc.services.statistics import RecordedOutcome
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
            "may_read_statistics": may_read_statistics(member.roles, member.organisation_id, member.organisation_id),
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


async def _outcome_if_recordable(
    request: web.Request, staff_id: str, meeting_id: str, starts_at: datetime
) -> RecordedOutcome | None:
    """The outcome form shows once the meeting has started, to hosts of the convening
    organisation (whose statistics it is)."""
    member = await request.app[DIRECTORY].staff_member(staff_id)
    if member is None or starts_at > request.app[BOOKING].now():
        return None
    caller = OrganisationCaller(member.organisation_id, f"staff:{member.id}")
    try:
        return await request.app[SERVICES].statistics.outcome(caller, meeting_id)
    except NotFound:
        return None


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
    outcome = await _outcome_if_recordable(request, session.staff_id, meeting_id, meeting.starts_at)
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
            "outcome": outcome,
            "outcome_saved": request.rel_url.query.get("outcome") == "saved",
            "choices": outcome_choices(),
            "csrf": session.csrf_token,
        },
        language=language,
    )
