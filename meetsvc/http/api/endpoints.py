"""Every endpoint of /api/v1, in one table (see :mod:`meetsvc.http.api.routes`)."""

from __future__ import annotations

from meetsvc.http.api import handlers as h
from meetsvc.http.api import schemas as s
from meetsvc.http.api.routes import Endpoint

M = "/api/v1/meetings/{meeting_id}"
P = M + "/participants/{participant_id}"

ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/organisations", h.list_organisations, "listOrganisations",
             "List the organisations (municipalities and regions) meetings can join.", "organisations",
             response=s.OrganisationList, errors=(401,)),
    Endpoint("GET", "/api/v1/staff", h.list_staff, "listStaff",
             "List the caller's organisation's staff members.", "staff", response=s.StaffList, errors=(401,)),
    Endpoint("POST", "/api/v1/staff", h.create_staff, "createStaff",
             "Add a staff member who may lead meetings and sign in with eID.", "staff",
             status=201, request=s.StaffCreate, response=s.StaffOut, errors=(400, 401, 413, 415, 422)),
    Endpoint("GET", "/api/v1/staff/{staff_id}", h.get_staff, "getStaff", "Read one staff member.", "staff",
             response=s.StaffOut, errors=(401, 404)),
    Endpoint("POST", "/api/v1/meetings", h.create_meeting, "createMeeting",
             "Book a SIP meeting between the caller's organisation and a partner of the other kind.", "meetings",
             status=201, request=s.MeetingCreate, response=s.MeetingOut, errors=(400, 401, 413, 415, 422)),
    Endpoint("GET", "/api/v1/meetings", h.list_meetings, "listMeetings",
             "List the caller's organisation's meetings, by start time.", "meetings",
             query=s.MeetingQuery, response=s.MeetingList, errors=(400, 401, 422)),
    Endpoint("GET", M, h.get_meeting, "getMeeting", "Read one meeting.", "meetings",
             response=s.MeetingOut, errors=(401, 404)),
    Endpoint("PATCH", M, h.update_meeting, "updateMeeting",
             "Change a meeting's title, area of care or hosts; fields left out stay as they are.", "meetings",
             request=s.MeetingUpdate, response=s.MeetingOut, errors=(400, 401, 404, 409, 413, 415, 422)),
    Endpoint("POST", M + "/reschedule", h.reschedule_meeting, "rescheduleMeeting",
             "Move a meeting that has not started; raises its sequence.", "meetings",
             request=s.MeetingReschedule, response=s.MeetingOut, errors=(400, 401, 404, 409, 413, 415, 422)),
    Endpoint("POST", M + "/cancel", h.cancel_meeting, "cancelMeeting",
             "Cancel a meeting; every invitation link stops working.", "meetings",
             response=s.MeetingOut, errors=(401, 404, 409)),
    Endpoint("POST", M + "/participants", h.add_participant, "addParticipant",
             "Invite a participant; the answer carries their personal link, once.", "participants",
             status=201, request=s.ParticipantCreate, response=s.ParticipantInvited,
             errors=(400, 401, 404, 409, 413, 415, 422)),
    Endpoint("GET", M + "/participants", h.list_participants, "listParticipants",
             "List a meeting's participants and the state of their invitations.", "participants",
             response=s.ParticipantList, errors=(401, 404)),
    Endpoint("GET", P, h.get_participant, "getParticipant", "Read one participant.", "participants",
             response=s.ParticipantOut, errors=(401, 404)),
    Endpoint("PATCH", P, h.update_participant, "updateParticipant",
             "Change a participant; fields left out stay as they are, null clears an optional one.", "participants",
             request=s.ParticipantUpdate, response=s.ParticipantOut, errors=(400, 401, 404, 409, 413, 415, 422)),
    Endpoint("DELETE", P, h.remove_participant, "removeParticipant",
             "Remove a participant; their link stops working.", "participants", status=204, errors=(401, 404, 409)),
    Endpoint("POST", P + "/invitation", h.reissue_invitation, "reissueInvitation",
             "Issue a new personal link; the old one stops working.", "participants",
             status=201, response=s.ParticipantInvited, errors=(401, 404, 409)),
    Endpoint("DELETE", P + "/invitation", h.revoke_invitation, "revokeInvitation",
             "Revoke the participant's link without issuing a new one.", "participants",
             response=s.ParticipantOut, errors=(401, 404)),
]
