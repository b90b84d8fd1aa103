"""Domain objects to response models: the one place that decides what the API shows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from meetsvc.domain.model import Identification, IdentityCheck, Meeting, Organisation, Participant, StaffMember
from meetsvc.http.api import schemas
from meetsvc.notify.status import DeliveryLine
from meetsvc.storage.queries.organisations import ApiClientRecord


def meeting_out(meeting: Meeting) -> schemas.MeetingOut:
    zone = ZoneInfo(meeting.time_zone)
    return schemas.MeetingOut(
        id=meeting.id,
        organisation_id=meeting.organisation_id,
        partner_organisation_id=meeting.partner_organisation_id,
        title=meeting.title,
        care_area=meeting.care_area,
        starts_at=meeting.starts_at.astimezone(zone),
        ends_at=meeting.ends_at.astimezone(zone),
        time_zone=meeting.time_zone,
        status=meeting.status,
        host_ids=list(meeting.host_ids),
        booked_by=meeting.booked_by,
        participant_count=meeting.participant_count,
        sequence=meeting.sequence,
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
    )


def participant_fields(participant: Participant, deliveries: list[DeliveryLine]) -> dict:  # type: ignore[type-arg]
    invitation = participant.invitation
    return {
        "id": participant.id,
        "meeting_id": participant.meeting_id,
        "role": participant.role,
        "organisation_id": participant.organisation_id,
        "invited_by_organisation_id": participant.invited_by_organisation_id,
        "display_name": participant.display_name,
        "email": participant.email,
        "mobile": participant.mobile,
        "language": participant.language,
        "expects_identity": participant.expects_identity,
        "state": participant.state,
        "invitation": (
            schemas.InvitationOut(
                status=invitation.status, issued_at=invitation.issued_at, opened_at=invitation.opened_at
            )
            if invitation
            else None
        ),
        "identified_at": participant.identified_at,
        "identification": identification_out(participant.identification),
        "deliveries": [
            schemas.DeliveryOut(channel=d.channel, kind=d.kind, state=d.state, at=d.at, reason=d.reason)  # type: ignore[arg-type]
            for d in deliveries
        ],
        "created_at": participant.created_at,
        "updated_at": participant.updated_at,
    }


def participant_out(participant: Participant, deliveries: dict[str, list[DeliveryLine]]) -> schemas.ParticipantOut:
    """``deliveries``: the meeting's, by participant (:func:`meetsvc.notify.status.deliveries_by_participant`)."""
    return schemas.ParticipantOut(**participant_fields(participant, deliveries.get(participant.id, [])))


def staff_out(member: StaffMember) -> schemas.StaffOut:
    return schemas.StaffOut(
        id=member.id,
        organisation_id=member.organisation_id,
        display_name=member.display_name,
        email=member.email,
        can_organise=member.can_organise,
        can_sign_in=member.has_personal_number,
        hsa_id=member.hsa_id,
        roles=sorted(member.roles, key=lambda role: role.value),
        active=member.active,
    )


def identification_out(found: Identification | None) -> schemas.IdentificationOut:
    found = found or Identification(IdentityCheck.NOT_IDENTIFIED)
    return schemas.IdentificationOut(
        status=found.check, method=found.provider, level=found.level_of_assurance, verified_at=found.verified_at
    )


def api_client_out(client: ApiClientRecord) -> schemas.ApiClientOut:
    return schemas.ApiClientOut(
        id=client.id,
        organisation_id=client.organisation_id,
        name=client.name,
        created_at=client.created_at,
        revoked_at=client.revoked_at,
    )


def organisation_out(organisation: Organisation) -> schemas.OrganisationOut:
    return schemas.OrganisationOut(
        id=organisation.id, name=organisation.name, kind=organisation.kind, public_name=organisation.citizens_see
    )
