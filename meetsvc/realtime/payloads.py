"""The shape of every event a client may send: validated strictly, bounded in size."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from meetsvc.domain.admission import AdmissionPolicy

ParticipantId = Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Empty(Payload):
    """An event that carries nothing (or an empty object)."""


class OneParticipant(Payload):
    """One entry of the host's list: the invitation, and which of the people who opened it
    (needed when more than one did; alone, the invitation's only open entry)."""

    participant_id: ParticipantId
    attendance_id: ParticipantId | None = None


class Deny(Payload):
    participant_id: ParticipantId
    attendance_id: ParticipantId | None = None
    message: Annotated[str, Field(max_length=500)] | None = None


class SendBack(Payload):
    participant_id: ParticipantId
    attendance_id: ParticipantId | None = None
    message: Annotated[str, Field(max_length=500)] | None = None


class Message(Payload):
    participant_id: ParticipantId | None = Field(None, description="Absent: everyone waiting.")
    text: Annotated[str, Field(min_length=1, max_length=500)]


class Configure(Payload):
    locked: bool | None = None
    admission_policy: AdmissionPolicy | None = None
    show_queue_position: bool | None = None
