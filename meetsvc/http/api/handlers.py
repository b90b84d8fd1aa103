"""The organiser API's handlers: parse, call one booking operation, render. No rules here."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Forbidden, NotFound
from meetsvc.domain.roles import may_administer
from meetsvc.http.api import schemas
from meetsvc.http.api.auth import api_caller
from meetsvc.http.api.requests import read_model, read_query
from meetsvc.http.api.views import (
    api_client_out,
    meeting_out,
    organisation_out,
    participant_fields,
    participant_out,
    staff_out,
)
from meetsvc.http.appkeys import BOOKING, DIRECTORY, SETTINGS
from meetsvc.notify.status import DeliveryLine
from meetsvc.services.booking import (
    UNSET,
    IssuedInvitation,
    MeetingChanges,
    NewMeeting,
    NewParticipant,
    ParticipantChanges,
)


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=model.model_dump_json(by_alias=True), content_type="application/json", charset="utf-8"
    )


def _path_id(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    # Ids are UUIDs; anything else cannot exist, and is answered as such without a query.
    if len(value) != 36 or any(c not in "0123456789abcdef-" for c in value):
        raise NotFound(f"no such {name.removesuffix('_id')}")
    return value


def _given(model: BaseModel, name: str) -> object:
    return getattr(model, name) if name in model.model_fields_set else UNSET


async def _deliveries(request: web.Request, meeting_id: str) -> dict[str, list[DeliveryLine]]:
    """The meeting's messages by participant; call it only after the booking call that checked
    the caller may see the meeting."""
    return await request.app[BOOKING].deliveries(meeting_id)


async def _invited(request: web.Request, issued: IssuedInvitation) -> schemas.ParticipantInvited:
    base = request.app[SETTINGS].server.base_url
    participant = issued.participant
    deliveries = (await _deliveries(request, participant.meeting_id)).get(participant.id, [])
    return schemas.ParticipantInvited(
        **participant_fields(participant, deliveries), invitation_url=f"{base}/j/{issued.token}"
    )


# Organisations and staff --------------------------------------------------------------------------


async def list_organisations(request: web.Request) -> web.Response:
    await api_caller(request)
    found = await request.app[DIRECTORY].list_organisations()
    return json_response(schemas.OrganisationList(items=[organisation_out(o) for o in found]))


async def list_staff(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    found = await request.app[DIRECTORY].list_staff(caller)
    return json_response(schemas.StaffList(items=[staff_out(s) for s in found]))


async def create_staff(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    body = await read_model(request, schemas.StaffCreate)
    member = await request.app[DIRECTORY].add_staff_member(
        caller,
        display_name=body.display_name,
        email=body.email,
        personal_number=body.personal_number,
        can_organise=body.can_organise,
        hsa_id=body.hsa_id,
        roles=frozenset(body.roles) if body.roles is not None else None,
    )
    return json_response(staff_out(member), status=201)


async def update_staff(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    staff_id = _path_id(request, "staff_id")
    body = await read_model(request, schemas.StaffUpdate)
    member = await request.app[DIRECTORY].change_staff_member(
        caller,
        staff_id,
        display_name=body.display_name if "display_name" in body.model_fields_set else None,
        roles=frozenset(body.roles) if "roles" in body.model_fields_set else None,
        email=body.email,
        set_email="email" in body.model_fields_set,
        hsa_id=body.hsa_id,
        set_hsa_id="hsa_id" in body.model_fields_set,
    )
    return json_response(staff_out(member))


async def deactivate_staff(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    member = await request.app[DIRECTORY].deactivate_staff_member(caller, _path_id(request, "staff_id"))
    return json_response(staff_out(member))


# API clients ------------------------------------------------------------------------------------


async def _administrator(request: web.Request) -> OrganisationCaller:
    """API clients are listed and revoked by the organisation's administrators, signed in: a key
    (perhaps the leaked one) does not manage keys."""
    caller = await api_caller(request)
    if caller.is_api_client or not may_administer(caller.roles):
        raise Forbidden("only a signed-in administrator manages API clients")
    return caller


async def list_api_clients(request: web.Request) -> web.Response:
    caller = await _administrator(request)
    found = await request.app[DIRECTORY].list_api_clients(caller.organisation_id)
    return json_response(schemas.ApiClientList(items=[api_client_out(c) for c in found]))


async def revoke_api_client(request: web.Request) -> web.Response:
    caller = await _administrator(request)
    revoked = await request.app[DIRECTORY].revoke_api_client(
        _path_id(request, "client_id"), organisation_id=caller.organisation_id, actor=caller.actor
    )
    return json_response(api_client_out(revoked))


async def get_staff(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    member = await request.app[DIRECTORY].get_staff_member(caller, _path_id(request, "staff_id"))
    return json_response(staff_out(member))


# Meetings -------------------------------------------------------------------------------------


async def create_meeting(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    body = await read_model(request, schemas.MeetingCreate)
    meeting = await request.app[BOOKING].create_meeting(
        caller,
        NewMeeting(
            partner_organisation_id=body.partner_organisation_id,
            title=body.title,
            care_area=body.care_area,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            host_ids=tuple(body.host_ids),
        ),
    )
    response = json_response(meeting_out(meeting), status=201)
    response.headers["Location"] = f"/api/v1/meetings/{meeting.id}"
    return response


async def list_meetings(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    query = read_query(request, schemas.MeetingQuery)
    found = await request.app[BOOKING].list_meetings(
        caller,
        status=query.status,
        starts_from=query.starts_from,
        starts_before=query.starts_before,
        limit=query.limit,
        offset=query.offset,
    )
    return json_response(
        schemas.MeetingList(items=[meeting_out(m) for m in found], limit=query.limit, offset=query.offset)
    )


async def get_meeting(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting = await request.app[BOOKING].get_meeting(caller, _path_id(request, "meeting_id"))
    return json_response(meeting_out(meeting))


async def update_meeting(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id = _path_id(request, "meeting_id")
    body = await read_model(request, schemas.MeetingUpdate)
    changes = MeetingChanges(
        title=_given(body, "title"),
        care_area=_given(body, "care_area"),
        host_ids=_given(body, "host_ids"),
    )
    meeting = await request.app[BOOKING].update_meeting(caller, meeting_id, changes)
    return json_response(meeting_out(meeting))


async def reschedule_meeting(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id = _path_id(request, "meeting_id")
    body = await read_model(request, schemas.MeetingReschedule)
    meeting = await request.app[BOOKING].reschedule(caller, meeting_id, body.starts_at, body.ends_at)
    return json_response(meeting_out(meeting))


async def cancel_meeting(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting = await request.app[BOOKING].cancel(caller, _path_id(request, "meeting_id"))
    return json_response(meeting_out(meeting))


# Participants ---------------------------------------------------------------------------------


async def add_participant(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id = _path_id(request, "meeting_id")
    body = await read_model(request, schemas.ParticipantCreate)
    issued = await request.app[BOOKING].add_participant(
        caller,
        meeting_id,
        NewParticipant(
            role=body.role,
            display_name=body.display_name,
            organisation_id=body.organisation_id,
            email=body.email,
            mobile=body.mobile,
            language=body.language,
            personal_number=body.personal_number,
        ),
    )
    response = json_response(await _invited(request, issued), status=201)
    response.headers["Location"] = f"/api/v1/meetings/{meeting_id}/participants/{issued.participant.id}"
    return response


async def list_participants(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id = _path_id(request, "meeting_id")
    found = await request.app[BOOKING].list_participants(caller, meeting_id)
    deliveries = await _deliveries(request, meeting_id)
    return json_response(schemas.ParticipantList(items=[participant_out(p, deliveries) for p in found]))


async def get_participant(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    participant = await request.app[BOOKING].get_participant(
        caller, _path_id(request, "meeting_id"), _path_id(request, "participant_id")
    )
    return json_response(participant_out(participant, await _deliveries(request, participant.meeting_id)))


async def update_participant(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id, participant_id = _path_id(request, "meeting_id"), _path_id(request, "participant_id")
    body = await read_model(request, schemas.ParticipantUpdate)
    changes = ParticipantChanges(**{name: _given(body, name) for name in ParticipantChanges.__dataclass_fields__})
    participant = await request.app[BOOKING].update_participant(caller, meeting_id, participant_id, changes)
    return json_response(participant_out(participant, await _deliveries(request, participant.meeting_id)))


async def remove_participant(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    await request.app[BOOKING].remove_participant(
        caller, _path_id(request, "meeting_id"), _path_id(request, "participant_id")
    )
    return web.Response(status=204)


async def reissue_invitation(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    issued = await request.app[BOOKING].reissue_invitation(
        caller, _path_id(request, "meeting_id"), _path_id(request, "participant_id")
    )
    return json_response(await _invited(request, issued), status=201)


async def revoke_invitation(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    participant = await request.app[BOOKING].revoke_invitation(
        caller, _path_id(request, "meeting_id"), _path_id(request, "participant_id")
    )
    return json_response(participant_out(participant, await _deliveries(request, participant.meeting_id)))
