"""What a participant's invitation link opens: their own invitation, and nothing else.

The link's token is looked up by its hash; a revoked link, a removed participant or a cancelled
meeting's link finds nothing.

Following a link is not opening it. Mail systems run link scanners (Safe Links and the like)
that fetch every link in a message, so a GET or HEAD of the link only shows a page with one
button (:meth:`Invitations.live`, which writes nothing); pressing it, a POST no scanner sends,
is what starts the participant's session and records the first opening (the organiser's
"opened").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.tokens import looks_like_token, token_hash
from meetsvc.domain.model import Language, MeetingStatus, Organisation
from meetsvc.services.audit import AuditLog
from meetsvc.services.directory import load_organisation
from meetsvc.services.sessions import BrowserSessions, IssuedSession, SessionKind
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import invitations, participants


@dataclass(frozen=True, slots=True)
class InvitationView:
    """Only what a participant's own page may show: time, inviting organisation, their name."""

    participant_id: str
    meeting_id: str
    language: Language
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    status: MeetingStatus
    organisation: Organisation
    verified_name: str | None
    # The meeting leader's work name (its first host), None if it has no host.
    leader: str | None = None


@dataclass(frozen=True, slots=True)
class CancelledLink:
    """What an old link of a cancelled meeting may say: in which language, and whom to call."""

    language: Language
    organisation: Organisation | None
    leader: str | None


@dataclass(frozen=True, slots=True)
class LiveLink:
    """A valid link: whose it is, and the language their invitation was written in."""

    participant_id: str
    language: Language


class Invitations:
    def __init__(self, engine: Engine, audit: AuditLog, sessions: BrowserSessions, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._sessions = sessions
        self._clock = clock

    async def live(self, token: str) -> LiveLink | None:
        """Whose a valid link is, or None; reads only, so a scanner that fetches the link
        changes nothing."""
        if not looks_like_token(token):
            return None
        async with self._engine.connect() as connection:
            row = await invitations.live_invitation(connection, token_hash(token))
        if row is None or not MeetingStatus(row.meeting_status).is_open:
            return None
        return LiveLink(row.participant_id, Language(row.language))

    async def cancelled(self, token: str) -> CancelledLink | None:
        """The invitation's language, the convening organisation and the meeting leader's name
        when the link's meeting was cancelled, else None: a person following an old link is told
        the meeting was cancelled (and whom to call), not that something went wrong."""
        if not looks_like_token(token):
            return None
        async with self._engine.connect() as connection:
            found = await invitations.cancelled_meeting_language(connection, token_hash(token))
            if found is None:
                return None
            organisation = await load_organisation(connection, found[1])
            leader = await invitations.leader_name(connection, found[2])
        return CancelledLink(Language(found[0]), organisation, leader)

    async def contact(self, participant_id: str) -> tuple[Organisation | None, str | None]:
        """The convening organisation and the meeting leader's name for a participant's pages,
        also after their session was ended (removed, cancelled, ended): whom they may call."""
        async with self._engine.connect() as connection:
            found = await invitations.participant_meeting(connection, participant_id)
            if found is None:
                return None, None
            return await load_organisation(connection, found[0]), await invitations.leader_name(connection, found[1])

    async def open(self, token: str, language: Language | None) -> IssuedSession | None:
        """Start a participant session for a valid link a person chose to open, recording the
        first opening; None when the link is not valid."""
        if not looks_like_token(token):
            return None
        now = self._clock()
        async with self._engine.begin() as connection:
            row = await invitations.live_invitation(connection, token_hash(token))
            if row is None or not MeetingStatus(row.meeting_status).is_open:
                return None
            if row.opened_at is None:
                await invitations.mark_opened(connection, row.id, now=now)
                await self._audit.append(
                    connection,
                    actor=f"participant:{row.participant_id}",
                    action="invitation.opened",
                    subject_type="participant",
                    subject_id=row.participant_id,
                    meeting_id=row.meeting_id,
                    now=now,
                )
            return await self._sessions.create(
                connection,
                SessionKind.PARTICIPANT,
                language=language or Language(row.language),
                participant_id=row.participant_id,
            )

    async def view(self, participant_id: str) -> InvitationView | None:
        async with self._engine.connect() as connection:
            row = await invitations.invited_to(connection, participant_id)
            if row is None or row.removed_at is not None:
                return None
            organisation = await load_organisation(connection, row.organisation_id)
            identity = await participants.bound_identity(connection, participant_id)
            leader = await invitations.leader_name(connection, row.meeting_id)
        assert organisation is not None
        return InvitationView(
            participant_id=participant_id,
            meeting_id=row.meeting_id,
            language=Language(row.language),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            time_zone=row.time_zone,
            status=MeetingStatus(row.status),
            organisation=organisation,
            verified_name=identity.full_name if identity else None,
            leader=leader,
        )
