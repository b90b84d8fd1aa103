"""Which part of a meeting each caller reaches: the booking organisation, the partner, or neither.

A SIP meeting joins two organisations as equals in the room, but one of them convenes it. The
lines drawn here:

- The *booking* organisation keeps the meeting's time, its cancellation, its title and area of
  care, and the individual (and their guardians): those are the convener's promises to the
  person. Its API clients and administrators reach all its meetings; its other staff reach the
  meetings they booked or lead.
- The *partner* organisation reads the meetings it is party to and manages its own part: the
  participants it invited (never the individual or a guardian) and its own staff among the
  hosts. Its API clients and administrators reach every meeting it is party to; its other staff
  the meetings they lead.
- Anyone else learns nothing, not even that the meeting exists (the transport answers 404).

Pure rules: the booking use cases load the facts and ask here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import ParticipantRole
from meetsvc.domain.roles import may_administer


class Side(str, enum.Enum):
    BOOKING = "booking"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class MeetingParties:
    """The facts about a meeting the access rules need."""

    organisation_id: str
    partner_organisation_id: str
    booked_by: str | None
    host_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListingScope:
    """Which meetings a caller's list holds: those ``organisation_id`` is party to, and for a
    staff member without the administrator role only those ``staff_id`` booked or leads."""

    organisation_id: str
    staff_id: str | None


#: Participant roles only the booking organisation invites and manages.
BOOKING_ONLY_ROLES = frozenset({ParticipantRole.INDIVIDUAL, ParticipantRole.GUARDIAN})


def side_of(caller: OrganisationCaller, parties: MeetingParties) -> Side | None:
    """The side the caller acts on, or None if the meeting is none of theirs."""
    if caller.organisation_id == parties.organisation_id:
        side = Side.BOOKING
    elif caller.organisation_id == parties.partner_organisation_id:
        side = Side.PARTNER
    else:
        return None
    if caller.staff_id is None or may_administer(caller.roles):
        return side
    if caller.staff_id in parties.host_ids:
        return side
    if side is Side.BOOKING and parties.booked_by == caller.actor:
        return side
    return None


def listing_scope(caller: OrganisationCaller) -> ListingScope:
    staff_id = None if caller.staff_id is None or may_administer(caller.roles) else caller.staff_id
    return ListingScope(caller.organisation_id, staff_id)


def may_change_meeting(side: Side) -> bool:
    """Title, area of care, time and cancellation stay with the booking organisation."""
    return side is Side.BOOKING


def may_manage_participant(side: Side, invited_by: str | None, caller_organisation_id: str) -> bool:
    """The booking organisation manages every participant; the partner only those it invited."""
    return side is Side.BOOKING or invited_by == caller_organisation_id


def may_invite_role(side: Side, role: ParticipantRole) -> bool:
    return side is Side.BOOKING or role not in BOOKING_ONLY_ROLES


def host_change_allowed(side: Side, before: dict[str, str], after: dict[str, str], caller_organisation_id: str) -> bool:
    """Whether a change of hosts stays in the caller's part. ``before``/``after`` map each host's
    staff id to their organisation. The partner may add or remove only its own staff; the booking
    organisation may change any."""
    if side is Side.BOOKING:
        return True
    touched = set(before) ^ set(after)
    return all((before.get(staff_id) or after.get(staff_id)) == caller_organisation_id for staff_id in touched)
