"""A participant's pages: the invitation link, and their invitation page."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from meetsvc.core.spoken_time import spoken_time as core_spoken_time
from meetsvc.domain.model import Language, MeetingStatus, Organisation
from meetsvc.http.appkeys import FREJA, IDENTIFICATION, INVITATIONS, SESSIONS, SETTINGS, WAITING_ROOM
from meetsvc.http.pages.context import current_session, set_session_cookie
from meetsvc.http.pages.i18n import LANGUAGE_COOKIE, request_language, translate
from meetsvc.http.pages.render import error_page, render, safe_next
from meetsvc.services.notes import MAX_NOTE
from meetsvc.services.sessions import COOKIE_NAME, SessionKind
from meetsvc.services.waiting_room import END_REASONS


def spoken_time(starts_at: datetime, ends_at: datetime, zone: str, language: Language) -> str:
    """The meeting's time on a page, worded as in the messages (:mod:`meetsvc.core.spoken_time`)."""
    return core_spoken_time(starts_at, ends_at, language.value, zone).when


def _contact(organisation: Organisation | None, leader: str | None) -> dict[str, str | None]:
    """Whom a participant may call with questions: the meeting leader by their work name, the
    organisation as citizens know it, and its number when one is set (``meetsvc organisation
    set-contact-phone``). Staff names only: nothing here is the participant's own data."""
    if organisation is None:
        return {"organisation": None, "contact_phone": None, "leader": None}
    return {"organisation": organisation.citizens_see, "contact_phone": organisation.contact_phone, "leader": leader}


async def link_page(request: web.Request) -> web.StreamResponse:
    """GET (and HEAD) /j/{token}: one button that opens the invitation. Nothing is recorded and
    no session starts here, so a mail system's link scanner spends nothing and the organiser's
    "opened" stays true. A browser with a session of its own gets the page too: the button gives
    it a fresh session for this link, as following the link always did."""
    link = await request.app[INVITATIONS].live(request.match_info["token"])
    if link is None:
        return await _refused_link(request)
    language = request_language(request, link.language)
    return render(request, "link.html", {"action": request.path}, language=language)


async def _refused_link(request: web.Request) -> web.Response:
    """A link that opens nothing: 410 with "cancelled" in the invitation's language when its
    meeting was cancelled, else the plain "not valid" 404."""
    cancelled = await request.app[INVITATIONS].cancelled(request.match_info["token"])
    if cancelled is not None:
        language = request_language(request, cancelled.language)
        return render(
            request, "cancelled.html", _contact(cancelled.organisation, cancelled.leader), status=410, language=language
        )
    return error_page(request, 404, "error.link_invalid")


async def open_link(request: web.Request) -> web.StreamResponse:
    """POST /j/{token}, the page's button: swap the link's token for a session cookie, record the
    opening, then leave the token's URL."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    # The same browser reopening its own link while its entry is alive keeps its session: the
    # session already proves who identified in it, so no eID again (and no second entry).
    link = await request.app[INVITATIONS].live(request.match_info["token"])
    session = await current_session(request)
    if link is not None and session is not None and session.participant_id == link.participant_id:
        entry = await request.app[WAITING_ROOM].session_entry(session.id)
        if entry is not None and entry.ended_at is None:
            raise web.HTTPSeeOther("/m")
    issued = await request.app[INVITATIONS].open(
        request.match_info["token"], Language(chosen) if chosen in ("sv", "en") else None
    )
    if issued is None:
        return await _refused_link(request)
    # Redirect so the token leaves the address bar, the history and any Referer.
    response = web.HTTPSeeOther("/m")
    set_session_cookie(request, response, issued)
    raise response


async def invitation_page(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is None or session.kind is not SessionKind.PARTICIPANT or session.participant_id is None:
        return await ended_page(request)
    view = await request.app[INVITATIONS].view(session.participant_id)
    if view is None:
        return error_page(request, 404, "error.link_invalid")
    language = request_language(request, session.language)
    verified = await request.app[IDENTIFICATION].verified(session)
    own_name = await _own_verified_name(request, session.id)
    return render(
        request,
        "invitation.html",
        {
            "starts_at": view.starts_at,
            "when": spoken_time(view.starts_at, view.ends_at, view.time_zone, language),
            **_contact(view.organisation, view.leader),
            "organisation": view.organisation.name,
            "cancelled": view.status is MeetingStatus.CANCELLED,
            "identified_as": own_name if verified else None,
            "csrf": session.csrf_token,
            "freja": request.app[FREJA] is not None and request.app[SETTINGS].freja.offered_to(view.organisation.id),
        },
        language=language,
    )


async def choose_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language in a cookie and go back."""
    chosen = request.query.get("lang")
    target = safe_next(request.query.get("next", "/"))
    response = web.HTTPSeeOther(target)
    if chosen in ("sv", "en"):
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            path="/",
            httponly=True,
            secure=request.app[SETTINGS].security.secure_cookies,
        )
    raise response


async def _own_verified_name(request: web.Request, session_id: str) -> str | None:
    """The name eID vouched for in *this* browser session: never another person's who opened
    the same invitation."""
    entry = await request.app[WAITING_ROOM].session_entry(session_id)
    return entry.full_name if entry is not None and entry.verified else None


async def ended_page(request: web.Request) -> web.Response:
    """The page of a browser whose session was ended for a reason it should know (the link was
    revoked or reissued, the participant removed, the meeting cancelled or ended, another
    device took over), or the usual "session expired" page."""
    token = request.cookies.get(COOKIE_NAME)
    reason = await request.app[SESSIONS].end_reason(token)
    if reason in END_REASONS:
        participant_id = await request.app[SESSIONS].ended_participant(token)
        organisation, leader = (
            await request.app[INVITATIONS].contact(participant_id) if participant_id else (None, None)
        )
        language = request_language(request)
        return render(
            request,
            "ended.html",
            {"message": translate(language, f"ended.{reason}"), **_contact(organisation, leader)},
            status=410,
            language=language,
        )
    return error_page(request, 401, "error.session")


LOBBY_TEXT_KEYS = (
    "lobby.state.waiting",
    "lobby.state.admitted",
    "lobby.state.in_meeting",
    "lobby.state.left",
    "lobby.state.denied",
    "lobby.state.removed",
    "lobby.state.not_open",
    "lobby.state.locked",
    "lobby.state.closed",
    "lobby.position",
    "lobby.reconnecting",
    "lobby.state.sent_back",
    "lobby.state.removed_final",
    "lobby.state.knocking",
    "lobby.left_rejoin",
    *tuple(f"ended.{reason}" for reason in END_REASONS),
    "time.zone",
    "note.sent",
    "note.too_many",
    "note.failed",
    "note.not_waiting",
    "devices.refused",
    "devices.none",
    "devices.camera_n",
    "devices.microphone_n",
    "devices.speaker_played",
)


async def lobby_page(request: web.Request) -> web.StreamResponse:
    """The waiting room page; its script asks for a lobby ticket and connects."""
    session = await current_session(request)
    if session is None or session.kind is not SessionKind.PARTICIPANT or session.participant_id is None:
        return await ended_page(request)
    view = await request.app[INVITATIONS].view(session.participant_id)
    if view is None:
        return error_page(request, 404, "error.link_invalid")
    unverified = request.query.get("unverified") == "1"
    verified = await request.app[IDENTIFICATION].verified(session)
    if not verified and not unverified:
        raise web.HTTPSeeOther("/m")
    language = request_language(request, session.language)
    return render(
        request,
        "lobby.html",
        {
            "csrf": session.csrf_token,
            "verified_name": await _own_verified_name(request, session.id) if verified and not unverified else None,
            "unverified": unverified or not verified,
            "when": spoken_time(view.starts_at, view.ends_at, view.time_zone, language),
            "zone": view.time_zone,
            **_contact(view.organisation, view.leader),
            "note_max": MAX_NOTE,
            "texts": {key: translate(language, key) for key in LOBBY_TEXT_KEYS},
        },
        language=language,
    )
