"""The API's request and response models: they validate requests *and* generate the OpenAPI
document, so the two cannot drift apart.

Requests forbid unknown fields and are validated strictly (no silent coercion of ``"5"`` to 5):
a case-management system with a typo in a field name must hear about it, not lose the value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from meetsvc.domain.model import (
    CareArea,
    IdentityCheck,
    Language,
    MeetingStatus,
    OrganisationKind,
    ParticipantRole,
    ParticipantState,
)
from meetsvc.domain.roles import Role

Id = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{36}$", description="A UUID.")]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(frozen=True)


# Requests ---------------------------------------------------------------------------------------


class MeetingCreate(RequestModel):
    partner_organisation_id: Id = Field(
        description="The organisation of the other kind (a region for a municipality's meeting)."
    )
    title: Annotated[
        str, Field(min_length=1, max_length=120, description="A non-sensitive title; never a name or a subject.")
    ]
    care_area: CareArea
    starts_at: AwareDatetime = Field(description="RFC 3339 with a UTC offset, e.g. 2026-12-01T14:00:00+01:00.")
    ends_at: AwareDatetime
    host_ids: Annotated[list[Id], Field(min_length=1, max_length=5, description="Staff members who lead the meeting.")]


# In the update models, a field that may be left out but never cleared is typed without None
# and defaults to None: leaving it out changes nothing, sending null is refused.


class MeetingUpdate(RequestModel):
    title: Annotated[str, Field(min_length=1, max_length=120)] = None  # type: ignore[assignment]
    care_area: CareArea = None  # type: ignore[assignment]
    host_ids: Annotated[list[Id], Field(min_length=1, max_length=5)] = None  # type: ignore[assignment]


class MeetingReschedule(RequestModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ParticipantCreate(RequestModel):
    role: ParticipantRole
    display_name: Text200 = Field(description="The name the hosts compare with the verified identity.")
    organisation_id: Id | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    mobile: Annotated[str, Field(max_length=20)] | None = None
    language: Language = Language.SV
    personal_number: Annotated[str, Field(min_length=10, max_length=13)] | None = Field(
        None,
        description=(
            "The personal identity or coordination number the invitation expects; stored encrypted, never returned."
        ),
    )


class ParticipantUpdate(RequestModel):
    role: ParticipantRole = None  # type: ignore[assignment]
    display_name: Text200 = None  # type: ignore[assignment]
    organisation_id: Id | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    mobile: Annotated[str, Field(max_length=20)] | None = None
    language: Language = None  # type: ignore[assignment]
    personal_number: Annotated[str, Field(min_length=10, max_length=13)] | None = None


HsaId = Annotated[str, Field(min_length=14, max_length=44, examples=["SE2321000016-1003"])]


class StaffCreate(RequestModel):
    display_name: Text200
    email: Annotated[str, Field(max_length=254)] | None = None
    personal_number: Annotated[str, Field(min_length=10, max_length=13)] | None = Field(
        None, description="Lets the staff member sign in with eID; stored encrypted, never returned."
    )
    can_organise: bool = Field(
        True, description="Without `roles`: true makes them organiser and host, false gives no role."
    )
    roles: Annotated[list[Role], Field(max_length=4)] | None = Field(
        None, description="What they may do in the organisation; overrides `can_organise`."
    )
    hsa_id: HsaId | None = Field(
        None,
        description="The HSA-id of a SITHS card holder: lets them sign in through an organisation's "
        "OpenID Connect provider that matches by HSA-id.",
    )


class StaffUpdate(RequestModel):
    display_name: Text200 = None  # type: ignore[assignment]  # left out means unchanged; null is refused by the type
    email: Annotated[str, Field(max_length=254)] | None = None
    roles: Annotated[list[Role], Field(max_length=4)] = None  # type: ignore[assignment]  # left out means unchanged; null is refused by the type
    hsa_id: HsaId | None = Field(None, description="The staff member's HSA-id; null removes it.")


# Dates a query may name: wide enough for any meeting, narrow enough that converting to UTC can
# never overflow (year 1 with a positive offset, year 9999 with a negative one).
QueryTime = Annotated[AwareDatetime, Field(ge=datetime(2000, 1, 1, tzinfo=UTC), le=datetime(2200, 1, 1, tzinfo=UTC))]


class MeetingQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    status: MeetingStatus | None = None
    starts_from: QueryTime | None = Field(None, alias="from")
    starts_before: QueryTime | None = Field(None, alias="to")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0


# Responses --------------------------------------------------------------------------------------


class OrganisationOut(ResponseModel):
    id: str
    name: str
    kind: OrganisationKind
    public_name: str = Field(
        description=(
            "What messages to citizens (subject, SMS, calendar title, sender) call the organisation: the name "
            "an operator set for them (`meetsvc organisation set-public-name`), or else the name up to its "
            "first comma, so no unit is named on a shared phone's lock screen."
        )
    )


class StaffOut(ResponseModel):
    id: str
    organisation_id: str
    display_name: str
    email: str | None
    can_organise: bool = Field(description="Whether they may be named a host (an organiser or a host).")
    can_sign_in: bool = Field(description="Whether a personal identity number is on file for eID sign-in.")
    hsa_id: str | None = Field(None, description="The staff member's HSA-id, when one is on file.")
    roles: list[Role]
    active: bool = Field(description="False once deactivated: no sign-in, no session, no meeting to lead.")


class ApiClientOut(ResponseModel):
    id: str
    organisation_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="Set once revoked: the key is refused from then on.")


class ApiClientList(ResponseModel):
    items: list[ApiClientOut]


class MeetingOut(ResponseModel):
    id: str
    organisation_id: str
    partner_organisation_id: str
    title: str
    care_area: CareArea
    starts_at: datetime = Field(description="In the meeting's time zone.")
    ends_at: datetime
    time_zone: str
    status: MeetingStatus
    host_ids: list[str]
    booked_by: str | None = Field(
        description="Who booked it: `staff:<id>` or `api-client:<id>` (null for meetings booked before this was kept)."
    )
    participant_count: int
    sequence: int = Field(description="Raised on each change participants are told of (the calendar SEQUENCE).")
    created_at: datetime
    updated_at: datetime


class InvitationOut(ResponseModel):
    status: str = Field(description="active or revoked")
    issued_at: datetime
    opened_at: datetime | None


class DeliveryOut(ResponseModel):
    channel: Literal["email", "sms"]
    kind: Literal["invitation", "update", "cancellation", "reminder"] = Field(
        description="The newest message on this channel."
    )
    state: Literal["pending", "retrying", "sending", "sent", "failed"] = Field(
        description="sent: the mail server or SMS gateway accepted it (neither says whether it reached the person); "
        "failed: the last try was refused or no try is left."
    )
    at: datetime | None = Field(description="sent: when; retrying: the next try; otherwise when it was recorded.")
    reason: str | None = Field(description="The last failure, as the server or gateway gave it.")


class IdentificationOut(ResponseModel):
    status: IdentityCheck = Field(
        description="not_identified; identified_matching (the invited person); identified_not_matching (someone "
        "else); identified_no_expectation (the invitation named nobody to compare with). Never the number."
    )
    method: str | None = Field(description="The eID used (e.g. bankid), once identified.")
    level: str | None = Field(description="The level of assurance the eID gave, once identified.")
    verified_at: datetime | None


class ParticipantOut(ResponseModel):
    id: str
    meeting_id: str
    role: ParticipantRole
    organisation_id: str | None
    invited_by_organisation_id: str | None = Field(
        description="Which of the meeting's organisations invited them, and so manages them."
    )
    display_name: str
    email: str | None
    mobile: str | None
    language: Language
    expects_identity: bool = Field(description="Whether the invitation names the person expected to identify.")
    state: ParticipantState
    invitation: InvitationOut | None
    identified_at: datetime | None = Field(description="When the participant last identified with eID, if ever.")
    identification: IdentificationOut = Field(description="The identity check the hosts see.")
    deliveries: list[DeliveryOut] = Field(
        description="Where the participant's newest message on each channel stands: whom to phone. No content, no link."
    )
    created_at: datetime
    updated_at: datetime


class ParticipantInvited(ParticipantOut):
    invitation_url: str = Field(description="The personal link; returned only here, once. Only its hash is stored.")


class MeetingList(ResponseModel):
    items: list[MeetingOut]
    limit: int
    offset: int


class OrganisationList(ResponseModel):
    items: list[OrganisationOut]


class StaffList(ResponseModel):
    items: list[StaffOut]


class ParticipantList(ResponseModel):
    items: list[ParticipantOut]


class Problem(ResponseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    request_id: str | None = None
    errors: list[ProblemField] | None = None


class ProblemField(ResponseModel):
    field: str = Field(description="A JSON pointer into the request, e.g. /host_ids/0.")
    rule: str
    message: str


Problem.model_rebuild()
