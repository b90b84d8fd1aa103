"""Notes from the waiting room: a waiting person answers the host ("I can't get the sound to
work", "I'm the interpreter, I'm here").

A note is plain text, at most :data:`MAX_NOTE` characters, and a person may send at most
:data:`BURST` notes a minute and :data:`MAX_PER_PARTICIPANT` in all, so the channel cannot flood
a host's screen or the database. Only someone still waiting (or just admitted) can send one.

What a worried person writes here may be about their health or situation, so the content is
treated as sensitive: it is stored only for the hosts' list (and purged with the meeting's other
personal data), and the audit entry records *that* a note was sent and its length, never its
text. Nothing here logs it either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.errors import Conflict, DomainError, NotFound, RuleViolation
from meetsvc.domain.model import ParticipantState as S
from meetsvc.domain.rules import check_text
from meetsvc.services.audit import AuditLog
from meetsvc.services.waiting_room import HostCaller, LobbyPass
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import attendances as entries, notes as queries, participants, waiting_room as rooms

MAX_NOTE = 300
BURST = 3
BURST_WINDOW = timedelta(minutes=1)
MAX_PER_PARTICIPANT = 20
SHOWN_PER_PARTICIPANT = 3
#: Who can still write to the hosts: those waiting, and those just let in (on their way).
MAY_WRITE = frozenset({S.WAITING.value, S.ADMITTED.value})


class TooManyNotes(DomainError):
    code = "too-many-notes"
    status = 429
    title = "Too many notes; wait a minute before sending another."


class NotWaiting(Conflict):
    code = "not-waiting"
    title = "Only someone in the waiting room can send the hosts a note."


@dataclass(frozen=True, slots=True)
class Note:
    """A note as the hosts' page shows it beside the sender's entry."""

    participant_id: str
    text: str
    sent_at: datetime

    def as_payload(self) -> dict[str, Any]:
        return {"participant_id": self.participant_id, "text": self.text, "sent_at": self.sent_at.isoformat()}


def clean_note(text: str) -> str:
    """The note as stored: trimmed, non-empty, bounded, printable (it is always shown as text)."""
    text = text.strip()
    violations = check_text("/text", text, max_length=MAX_NOTE)
    if violations:
        raise RuleViolation(violations)
    return text


class WaitingNotes:
    def __init__(self, engine: Engine, audit: AuditLog, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock

    async def send(self, lobby: LobbyPass, text: str) -> Note:
        """Store a note from the participant behind ``lobby`` for the meeting's hosts."""
        text = clean_note(text)
        now = self._clock()
        async with self._engine.begin() as connection:
            # The meeting's lock serialises a participant's notes, so the limit cannot be raced.
            if await rooms.room_meeting(connection, lobby.meeting_id, lock=True) is None:
                raise NotFound("no such meeting")
            row = await participants.present_participant(connection, lobby.meeting_id, lobby.participant_id)
            # Who may write is decided by this browser's own entry (waiting or let in, not ended);
            # the note itself belongs to the invitation, whichever of its entries sent it.
            entry = await entries.by_session(connection, lobby.session_id)
            if (
                row is None
                or entry is None
                or entry.participant_id != row.id
                or entry.ended_at is not None
                or entry.state not in MAY_WRITE
            ):
                raise NotWaiting()
            recent = await queries.notes_since(connection, row.id, now - BURST_WINDOW)
            if recent >= BURST or await queries.notes_since(connection, row.id, None) >= MAX_PER_PARTICIPANT:
                raise TooManyNotes()
            await queries.add_note(
                connection,
                note_id=str(uuid.uuid4()),
                meeting_id=lobby.meeting_id,
                participant_id=row.id,
                text=text,
                now=now,
            )
            await self._audit.append(
                connection,
                actor=f"participant:{row.id}",
                action="waiting_room.note",
                subject_type="participant",
                subject_id=row.id,
                meeting_id=lobby.meeting_id,
                details={"length": len(text)},  # never the text: it may be sensitive
                now=now,
            )
        return Note(row.id, text, now)

    async def for_host(self, host: HostCaller, meeting_id: str) -> list[Note]:
        """The latest notes of each participant, for a host of the meeting only."""
        async with self._engine.connect() as connection:
            if not await rooms.is_host(connection, meeting_id, host.staff_id):
                raise NotFound("no such meeting")
            stored = await queries.latest_notes(connection, meeting_id, per_participant=SHOWN_PER_PARTICIPANT)
        return [Note(n.participant_id, n.text, n.created_at) for n in stored]
