"""What a SIP meeting is made of: organisations, staff, meetings, participants, invitations."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from meetsvc.domain.roles import Role, may_host


class OrganisationKind(str, enum.Enum):
    MUNICIPALITY = "municipality"
    REGION = "region"

    @property
    def other(self) -> OrganisationKind:
        return OrganisationKind.REGION if self is OrganisationKind.MUNICIPALITY else OrganisationKind.MUNICIPALITY


class CareArea(str, enum.Enum):
    """Verksamhetsområde: which part of social services and care convenes the meeting."""

    BARN_OCH_UNGA = "barn_och_unga"
    SOCIALPSYKIATRI = "socialpsykiatri"
    MISSBRUK_OCH_BEROENDE = "missbruk_och_beroende"
    VALD_I_NARA_RELATIONER = "vald_i_nara_relationer"
    AELDREOMSORG = "aldreomsorg"
    FUNKTIONSNEDSATTNING = "funktionsnedsattning"
    EKONOMISKT_BISTAND = "ekonomiskt_bistand"
    OVRIGT = "ovrigt"


class MeetingStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    CANCELLED = "cancelled"
    #: Its time passed and nobody ever started it (the schedule marks it).
    NOT_HELD = "not_held"

    @property
    def is_open(self) -> bool:
        return self in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)


class ParticipantRole(str, enum.Enum):
    INDIVIDUAL = "individual"
    GUARDIAN = "guardian"
    MUNICIPALITY_STAFF = "municipality_staff"
    REGION_STAFF = "region_staff"
    SCHOOL = "school"
    INTERPRETER = "interpreter"
    OTHER = "other"

    @property
    def required_organisation_kind(self) -> OrganisationKind | None:
        """Staff roles belong to one side of the SIP; others may come from anywhere."""
        return {
            ParticipantRole.MUNICIPALITY_STAFF: OrganisationKind.MUNICIPALITY,
            ParticipantRole.REGION_STAFF: OrganisationKind.REGION,
        }.get(self)


class ParticipantState(str, enum.Enum):
    """Where a participant is on the way into the meeting (the waiting room drives it)."""

    INVITED = "invited"
    IDENTIFYING = "identifying"
    WAITING = "waiting"
    ADMITTED = "admitted"
    IN_MEETING = "in_meeting"
    LEFT = "left"
    DENIED = "denied"
    REMOVED = "removed"


class Language(str, enum.Enum):
    SV = "sv"
    EN = "en"


def name_for_citizens(name: str, public_name: str | None = None) -> str:
    """The organisation as citizens' messages name it: its public name if one is set, otherwise
    its name up to the first comma ("Exempelstads kommun, Socialförvaltningen" → "Exempelstads
    kommun"). A unit's name on a shared phone's lock screen tells a family member which kind of
    help someone gets."""
    if public_name:
        return public_name
    return name.split(",", 1)[0].strip() or name


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrganisationKind
    #: What citizens' messages call it; None: :func:`name_for_citizens` of the name.
    public_name: str | None = None
    #: The number a citizen may call with questions (invitations and refusal pages give it).
    contact_phone: str | None = None

    @property
    def citizens_see(self) -> str:
        return name_for_citizens(self.name, self.public_name)


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    organisation_id: str
    display_name: str
    email: str | None
    roles: frozenset[Role]
    has_personal_number: bool
    hsa_id: str | None = None
    active: bool = True

    @property
    def can_organise(self) -> bool:
        """May be named a host (and, as an organiser, book): what the older flag meant."""
        return may_host(self.roles)


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    organisation_id: str
    partner_organisation_id: str
    title: str
    care_area: CareArea
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: MeetingStatus
    host_ids: tuple[str, ...]
    sequence: int
    created_at: datetime
    updated_at: datetime
    participant_count: int = 0
    #: ``staff:<id>`` or ``api-client:<id>``; None for meetings booked before it was recorded.
    booked_by: str | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    status: str  # "active" | "revoked"
    issued_at: datetime
    opened_at: datetime | None


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    meeting_id: str
    role: ParticipantRole
    organisation_id: str | None
    display_name: str
    email: str | None
    mobile: str | None
    language: Language
    expects_identity: bool
    state: ParticipantState
    invitation: Invitation | None
    created_at: datetime
    updated_at: datetime
    identified_at: datetime | None = None
    #: Which of the meeting's organisations invited them.
    invited_by_organisation_id: str | None = None
    identification: Identification | None = None


class IdentityCheck(str, enum.Enum):
    """What the host sees of the identity check, and the API says too (never the number)."""

    NOT_IDENTIFIED = "not_identified"
    #: The verified person is the one the invitation named.
    MATCHING = "identified_matching"
    #: Someone else identified on the invitation.
    NOT_MATCHING = "identified_not_matching"
    #: Identified; the invitation named nobody to compare with.
    NO_EXPECTATION = "identified_no_expectation"


@dataclass(frozen=True, slots=True)
class Identification:
    check: IdentityCheck
    provider: str | None = None
    level_of_assurance: str | None = None
    verified_at: datetime | None = None
