"""Invitation links and what opening one leads to.

A link is found by its token's hash only; a revoked link or a removed participant's finds
nothing, so a leaked old link opens nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import invitations, meeting_hosts, meetings, participants, staff_members


@dataclass(frozen=True, slots=True)
class OpenableInvitation:
    """A live link: its invitation, whose it is, and the state of their meeting."""

    id: str
    opened_at: datetime | None
    participant_id: str
    language: str
    meeting_id: str
    meeting_status: str


@dataclass(frozen=True, slots=True)
class InvitedTo:
    """What a participant's own page shows of the meeting they are invited to."""

    language: str
    removed_at: datetime | None
    meeting_id: str
    organisation_id: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: str


async def live_invitation(connection: Connection, token_hash: str) -> OpenableInvitation | None:
    """The unrevoked invitation of a participant still invited, by its token's hash."""
    row = (
        await connection.execute(
            select(
                invitations.c.id,
                invitations.c.opened_at,
                participants.c.id.label("participant_id"),
                participants.c.language,
                participants.c.meeting_id,
                meetings.c.status,
            )
            .join(participants, participants.c.id == invitations.c.participant_id)
            .join(meetings, meetings.c.id == participants.c.meeting_id)
            .where(
                invitations.c.token_hash == token_hash,
                invitations.c.revoked_at.is_(None),
                participants.c.removed_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    return OpenableInvitation(row.id, row.opened_at, row.participant_id, row.language, row.meeting_id, row.status)


async def mark_opened(connection: Connection, invitation_id: str, *, now: datetime) -> None:
    await connection.execute(update(invitations).where(invitations.c.id == invitation_id).values(opened_at=now))


async def current_invitation_id(connection: Connection, participant_id: str) -> str | None:
    """The participant's newest unrevoked invitation, None when they have none."""
    invitation_id = (
        await connection.execute(
            select(invitations.c.id)
            .where(invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None))
            .order_by(invitations.c.created_at.desc(), invitations.c.id)
            .limit(1)
        )
    ).scalar()
    return str(invitation_id) if invitation_id is not None else None


async def invited_to(connection: Connection, participant_id: str) -> InvitedTo | None:
    """The participant's meeting (also for a removed participant: the caller decides)."""
    row = (
        await connection.execute(
            select(
                participants.c.language,
                participants.c.removed_at,
                meetings.c.id.label("meeting_id"),
                meetings.c.organisation_id,
                meetings.c.starts_at,
                meetings.c.ends_at,
                meetings.c.time_zone,
                meetings.c.status,
            )
            .join(meetings, meetings.c.id == participants.c.meeting_id)
            .where(participants.c.id == participant_id)
        )
    ).first()
    if row is None:
        return None
    return InvitedTo(
        language=row.language,
        removed_at=row.removed_at,
        meeting_id=row.meeting_id,
        organisation_id=row.organisation_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        time_zone=row.time_zone,
        status=row.status,
    )


async def leader_name(connection: Connection, meeting_id: str) -> str | None:
    """The display name of the meeting's leader, its first host: a staff member's work name,
    which the invitation and refusal pages show beside the organisation's number."""
    name = (
        await connection.execute(
            select(staff_members.c.display_name)
            .join(meeting_hosts, meeting_hosts.c.staff_id == staff_members.c.id)
            .where(meeting_hosts.c.meeting_id == meeting_id)
            .order_by(meeting_hosts.c.position)
            .limit(1)
        )
    ).scalar()
    return None if name is None else str(name)


async def participant_meeting(connection: Connection, participant_id: str) -> tuple[str, str] | None:
    """The convening organisation's id and the meeting's id of a participant, removed or not: an
    ended session's page still says whom to call."""
    row = (
        await connection.execute(
            select(meetings.c.organisation_id, meetings.c.id)
            .join(participants, participants.c.meeting_id == meetings.c.id)
            .where(participants.c.id == participant_id)
        )
    ).first()
    return None if row is None else (str(row.organisation_id), str(row.id))


async def cancelled_meeting_language(connection: Connection, token_hash: str) -> tuple[str, str, str] | None:
    """The invitation's language, the convening organisation's id and the meeting's id when its
    token belongs to a meeting that was cancelled (its links were revoked by the cancellation, so
    the live lookup finds nothing); else None. Lets the link say "cancelled" instead of "not valid"."""
    row = (
        await connection.execute(
            select(participants.c.language, meetings.c.organisation_id, meetings.c.id)
            .join(participants, participants.c.id == invitations.c.participant_id)
            .join(meetings, meetings.c.id == participants.c.meeting_id)
            .where(
                invitations.c.token_hash == token_hash,
                participants.c.removed_at.is_(None),
                meetings.c.status == "cancelled",
            )
        )
    ).first()
    return None if row is None else (str(row.language), str(row.organisation_id), str(row.id))
