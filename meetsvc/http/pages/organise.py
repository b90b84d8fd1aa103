"""Organiser pages: staff book a meeting and invite people, as API clients can through the API.

The forms call the same booking operations as the API; a broken rule re-renders the form with
what to correct (422) and changes nothing.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meetsvc.domain import rules
from meetsvc.domain.access import BOOKING_ONLY_ROLES
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import DomainError, RuleViolation, Violation
from meetsvc.domain.model import CareArea, Language, MeetingStatus, ParticipantRole, StaffMember
from meetsvc.domain.roles import may_use_staff_pages
from meetsvc.http.appkeys import BOOKING, DIRECTORY, KEYS, SETTINGS
from meetsvc.http.pages.context import current_session, read_form, require_form
from meetsvc.http.pages.deliveries import deliveries_of, local_clock
from meetsvc.http.pages.form_errors import form_messages
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.participant import spoken_time
from meetsvc.http.pages.render import error_page, render
from meetsvc.services.booking import MeetingChanges, NewMeeting, NewParticipant
from meetsvc.services.sessions import BrowserSession

ZONE = ZoneInfo("Europe/Stockholm")
LINK_COOKIE = "meetsvc_new_link"


async def _staff(request: web.Request) -> tuple[BrowserSession, StaffMember, OrganisationCaller]:
    session = await current_session(request)
    if session is None or not session.signed_in_staff or session.staff_id is None:
        raise web.HTTPSeeOther("/staff/login")
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None or not member.active:
        raise web.HTTPSeeOther("/staff/login")
    if not may_use_staff_pages(member.roles):
        raise web.HTTPForbidden()
    return session, member, OrganisationCaller.staff(member.organisation_id, member.id, member.roles)


def _messages(request: web.Request, session: BrowserSession, error: DomainError) -> list[str]:
    """The refusal in the staff member's language, one sentence per field (never the API's text)."""
    return form_messages(request_language(request, session.language), error)


def _care_area(value: str) -> CareArea:
    """The chosen area of care; there is no default, so an empty choice asks to choose."""
    try:
        return CareArea(value)
    except ValueError:
        raise RuleViolation.single("/care_area", "required", "choose an area of care") from None


def _local(day: str, clock: str) -> datetime:
    """A Stockholm wall-clock time as an aware datetime (DST decided by the zone database)."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=ZONE)


async def _partners(request: web.Request, member: StaffMember) -> list[Any]:
    organisations = await request.app[DIRECTORY].list_organisations()
    own = next(o for o in organisations if o.id == member.organisation_id)
    return [o for o in organisations if o.kind is own.kind.other]


async def new_meeting_form(request: web.Request) -> web.StreamResponse:
    session, member, _ = await _staff(request)
    return await _render_new(request, session, member, {"title": "SIP-möte", "care_area": ""}, [], 200)


async def _colleagues(request: web.Request, member: StaffMember) -> list[StaffMember]:
    """Who can lead the meeting beside the one booking it: their organisation's other active
    staff who may host."""
    staff = await request.app[DIRECTORY].hosts_of(member.organisation_id)
    return [s for s in staff if s.id != member.id]


async def _partner_hosts(request: web.Request, partners: list[Any]) -> list[tuple[Any, list[StaffMember]]]:
    """Each organisation that may be chosen as the partner, with its staff who may host: the
    form chooses the partner and its co-hosts together, so every candidate partner's group is
    offered under its own name (the booking refuses a co-host from a partner not chosen)."""
    groups = [(o, await request.app[DIRECTORY].hosts_of(o.id)) for o in partners]
    return [(o, staff) for o, staff in groups if staff]


async def _render_new(request, session, member, form, errors, status, co_hosts=()):
    language = request_language(request, session.language)
    defaults = {"partner_organisation_id": "", "title": "", "care_area": "", "date": "", "starts": "", "ends": ""}
    partners = await _partners(request, member)
    return render(
        request,
        "meeting_new.html",
        {
            "csrf": session.csrf_token,
            "partners": partners,
            "areas": [a.value for a in CareArea],
            "form": {**defaults, **form},
            "errors": errors,
            "colleagues": await _colleagues(request, member),
            "partner_hosts": await _partner_hosts(request, partners),
            "co_hosts": set(co_hosts),
        },
        status=status,
        language=language,
        here="/staff/meetings/new",
    )


async def create_meeting(request: web.Request) -> web.StreamResponse:
    session, member, caller = await _staff(request)
    form = await require_form(request, session)
    # Co-hosts come as repeated fields (one checkbox each); the form's dict keeps only one.
    co_hosts = tuple(v for v in (await read_form(request)).getall("co_host", []) if isinstance(v, str))  # type: ignore[attr-defined]  # read_form returns aiohttp's MultiDict, typed as a plain mapping
    try:
        area = _care_area(form.get("care_area", ""))
        try:
            starts, ends = (
                _local(form.get("date", ""), form.get("starts", "")),
                _local(form.get("date", ""), form.get("ends", "")),
            )
        except ValueError:
            raise RuleViolation.single("/date", "format", "give a date and times as YYYY-MM-DD and HH:MM") from None
        meeting = await request.app[BOOKING].create_meeting(
            caller,
            NewMeeting(
                partner_organisation_id=form.get("partner_organisation_id", ""),
                title=form.get("title", ""),
                care_area=area,
                starts_at=starts,
                ends_at=ends,
                host_ids=(member.id, *co_hosts),
            ),
        )
    except DomainError as error:
        messages = _messages(request, session, _as_co_host_refusal(error))
        return await _render_new(request, session, member, form, messages, 422, co_hosts)
    raise web.HTTPSeeOther(f"/staff/meetings/{meeting.id}/organise")


def _as_co_host_refusal(error: DomainError) -> DomainError:
    """On this form the leader is the one booking, so a refused host is always a ticked co-host:
    say it of the co-hosts, and that only the chosen partner's group counts."""
    if not isinstance(error, RuleViolation):
        return error
    return RuleViolation(
        [
            Violation("/co_host", "co_host_organisation", v.message)
            if v.field.startswith("/host_ids/") and v.rule == "staff_member"
            else v
            for v in error.violations
        ]
    )


def _edit_form(meeting) -> dict[str, str]:
    """The meeting as the edit form shows it: wall-clock times where the meeting is held."""
    zone = ZoneInfo(meeting.time_zone)
    starts, ends = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    return {
        "title": meeting.title,
        "care_area": meeting.care_area.value,
        "date": starts.date().isoformat(),
        "starts": starts.strftime("%H:%M"),
        "ends": ends.strftime("%H:%M"),
    }


async def _render_organise(
    request, session, caller, meeting_id, *, form=None, edit=None, errors=(), new_link=None, status=200
):
    booking = request.app[BOOKING]
    meeting = await booking.get_meeting(caller, meeting_id)
    participants = await booking.list_participants(caller, meeting_id)
    organisations = [
        o
        for o in await request.app[DIRECTORY].list_organisations()
        if o.id in (meeting.organisation_id, meeting.partner_organisation_id)
    ]
    language = request_language(request, session.language)
    booking_side = caller.organisation_id == meeting.organisation_id
    names = {o.id: o.name for o in organisations}
    roles = [r for r in ParticipantRole if booking_side or r not in BOOKING_ONLY_ROLES]
    defaults = {
        "role": roles[0].value,
        "display_name": "",
        "organisation_id": "",
        "email": "",
        "mobile": "",
        "language": "sv",
    }
    return render(
        request,
        "meeting_organise.html",
        {
            "csrf": session.csrf_token,
            "meeting": meeting,
            "when": spoken_time(meeting.starts_at, meeting.ends_at, meeting.time_zone, language),
            "open": meeting.status.is_open,
            "movable": meeting.status is MeetingStatus.SCHEDULED,
            "edit": {**_edit_form(meeting), **(edit or {})},
            "areas": [a.value for a in CareArea],
            "participants": participants,
            "organisations": organisations,
            "roles": [r.value for r in roles],
            "booking_side": booking_side,
            "own_organisation_id": caller.organisation_id,
            "booking_organisation": names.get(meeting.organisation_id, ""),
            "partner_organisation": names.get(meeting.partner_organisation_id, ""),
            "form": {**defaults, **(form or {})},
            "errors": list(errors),
            "new_link": new_link,
            "deliveries": await deliveries_of(request, meeting_id),
            "clock": lambda moment: local_clock(moment, meeting.time_zone, language),
        },
        status=status,
        language=language,
        here=f"/staff/meetings/{meeting_id}/organise",
    )


def _meeting_id(request: web.Request) -> str:
    value = request.match_info["meeting_id"]
    if len(value) != 36:
        raise web.HTTPNotFound()
    return value


async def organise_page(request: web.Request) -> web.StreamResponse:
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    link = _unseal(request, request.cookies.get(LINK_COOKIE))
    try:
        response = await _render_organise(request, session, caller, meeting_id, new_link=link)
    except DomainError:
        return error_page(request, 404, "error.not_found")
    if link is not None:
        response.del_cookie(LINK_COOKIE, path=f"/staff/meetings/{meeting_id}/organise")
    return response


async def add_participant(request: web.Request) -> web.StreamResponse:
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    form = await require_form(request, session)
    try:
        try:
            role, language = ParticipantRole(form.get("role", "")), Language(form.get("language", "sv"))
        except ValueError:
            raise RuleViolation.single("/role", "enum", "choose a role and a language from the lists") from None
        issued = await request.app[BOOKING].add_participant(
            caller,
            meeting_id,
            NewParticipant(
                role=role,
                display_name=form.get("display_name", ""),
                organisation_id=form.get("organisation_id") or None,
                email=form.get("email") or None,
                mobile=form.get("mobile") or None,
                language=language,
                personal_number=form.get("personal_number") or None,
            ),
        )
    except DomainError as error:
        if error.status == 404:
            return error_page(request, 404, "error.not_found")
        form.pop("personal_number", None)  # never echoed back into a page
        return await _render_organise(
            request, session, caller, meeting_id, form=form, errors=_messages(request, session, error), status=422
        )
    return _show_link_once(request, meeting_id, issued.token, issued.participant.display_name)


def _show_link_once(request: web.Request, meeting_id: str, token: str, whose: str) -> web.StreamResponse:
    """Post/redirect/get, carrying the new link in a short-lived encrypted cookie.

    The link must be shown once, must not sit in a URL (history, logs), and reloading the page
    must not add the participant again; so the POST answers a redirect, and the GET that follows
    shows the link from the cookie and deletes it.
    """
    path = f"/staff/meetings/{meeting_id}/organise"
    url = f"{request.app[SETTINGS].server.base_url}/j/{token}"
    sealed = _seal(request, json.dumps({"url": url, "whose": whose}))
    response = web.HTTPSeeOther(path)
    response.set_cookie(
        LINK_COOKIE,
        sealed,
        path=path,
        max_age=60,
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].security.secure_cookies,
    )
    raise response


def _seal(request: web.Request, text: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(request.app[KEYS].session.reveal()).encrypt(nonce, text.encode(), b"organise-link")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(request: web.Request, value: str | None) -> dict[str, str] | None:
    """The link and whose it is (the name is sealed like the link: never readable in a cookie)."""
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value.encode())
        text = AESGCM(request.app[KEYS].session.reveal()).decrypt(raw[:12], raw[12:], b"organise-link").decode()
        found = json.loads(text)
    except (ValueError, InvalidTag):
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in ("url", "whose")):
        return None
    return {"url": found["url"], "whose": found["whose"]}


async def reissue(request: web.Request) -> web.StreamResponse:
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    await require_form(request, session)
    issued = await request.app[BOOKING].reissue_invitation(caller, meeting_id, request.match_info["participant_id"])
    return _show_link_once(request, meeting_id, issued.token, issued.participant.display_name)


async def _confirm(request, session, caller, meeting_id, *, kind, only=None):
    """The step before an act that mails people: what will be sent, to whom, and a button that
    does it. Nothing has changed yet; going back changes nothing."""
    booking = request.app[BOOKING]
    meeting = await booking.get_meeting(caller, meeting_id)
    people = [p for p in await booking.list_participants(caller, meeting_id) if only is None or p.id == only]
    if only is not None and not people:
        return error_page(request, 404, "error.not_found")
    language = request_language(request, session.language)
    return render(
        request,
        "confirm.html",
        {
            "csrf": session.csrf_token,
            "kind": kind,
            "meeting": meeting,
            "when": spoken_time(meeting.starts_at, meeting.ends_at, meeting.time_zone, language),
            "people": people,
            "action": request.path,
        },
        language=language,
        here=f"/staff/meetings/{meeting_id}/organise",
    )


async def remove(request: web.Request) -> web.StreamResponse:
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    form = await require_form(request, session)
    if form.get("confirmed") != "yes":
        return await _confirm(
            request, session, caller, meeting_id, kind="remove", only=request.match_info["participant_id"]
        )
    await request.app[BOOKING].remove_participant(caller, meeting_id, request.match_info["participant_id"])
    raise web.HTTPSeeOther(f"/staff/meetings/{meeting_id}/organise")


async def cancel(request: web.Request) -> web.StreamResponse:
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    form = await require_form(request, session)
    if form.get("confirmed") != "yes":
        return await _confirm(request, session, caller, meeting_id, kind="cancel")
    await request.app[BOOKING].cancel(caller, meeting_id)
    raise web.HTTPSeeOther(f"/staff/meetings/{meeting_id}/organise")


async def edit_meeting(request: web.Request) -> web.StreamResponse:
    """Change the title, area of care or time of a meeting that has not started.

    Everything is checked before anything changes, so a refused form changes nothing. A new
    time goes through :meth:`Booking.reschedule`, which tells every participant (an updated
    calendar invitation); a new title or area is the organisers' own and is sent to nobody.
    """
    session, _, caller = await _staff(request)
    meeting_id = _meeting_id(request)
    form = await require_form(request, session)
    edit = {k: form.get(k, "") for k in ("title", "care_area", "date", "starts", "ends")}
    booking = request.app[BOOKING]
    try:
        meeting = await booking.get_meeting(caller, meeting_id)
        area = _care_area(edit["care_area"])
        try:
            starts, ends = _local(edit["date"], edit["starts"]), _local(edit["date"], edit["ends"])
        except ValueError:
            raise RuleViolation.single("/date", "format", "give a date and times as YYYY-MM-DD and HH:MM") from None
        violations = rules.check_title(edit["title"])
        if violations:
            raise RuleViolation(violations)
        shown = _edit_form(meeting)
        if any(edit[k] != shown[k] for k in ("date", "starts", "ends")):  # moved, to the minute the form shows
            await booking.reschedule(caller, meeting_id, starts, ends)
        if (edit["title"].strip(), area) != (meeting.title, meeting.care_area):
            await booking.update_meeting(caller, meeting_id, MeetingChanges(title=edit["title"], care_area=area))
    except DomainError as error:
        if error.status == 404:
            return error_page(request, 404, "error.not_found")
        return await _render_organise(
            request,
            session,
            caller,
            meeting_id,
            edit=edit,
            errors=_messages(request, session, error),
            status=error.status,
        )
    raise web.HTTPSeeOther(f"/staff/meetings/{meeting_id}/organise")
