"""Handing admitted people to the video backend, and taking them back.

Called only after the waiting room has *committed* an admission: no backend call happens and
no credential leaves the process before it. A backend that signs its credentials itself, with no
network call, has them minted inside the admission's transaction and recorded with it
(:meth:`Handover.mint`); they are handed over once it has committed. A credential goes only to
that participant's own room. Sending someone back, removing them or ending the meeting revokes
at the backend where it can (and the credential's short lifetime bounds it where it cannot);
each is an audit event.

What the hand-over needs (the meeting's times, the name the video shows) comes with the
decision, read in its own transaction, so that handing over after the commit needs the database
only to record it. The courier (:mod:`meetsvc.realtime.server`) tries again what it could not do.

Room names are an HMAC of the meeting id under a key of the service's: the backend (and
anything that logs its URLs) sees nothing of the meeting, its subject or its people.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.secrets import Secret
from meetsvc.services.audit import AuditLog, NewAuditEntry
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import attendances, waiting_room as rooms
from meetsvc.storage.queries.waiting_room import MeetingTimes
from meetsvc.video.base import JoinCredential, JoinRequest, RoomSpec, VideoBackend, VideoBackendError, derive_room_name

log = logging.getLogger(__name__)


class Handover:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        backend: VideoBackend,
        room_key: Secret,
        *,
        lifetime: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self.backend = backend
        self._room_key = room_key
        self._lifetime = lifetime
        self._clock = clock

    def room_name(self, meeting_id: str) -> str:
        return derive_room_name(meeting_id, self._room_key.reveal())

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    async def _room(self, meeting_id: str, times: MeetingTimes | None = None) -> RoomSpec:
        if times is None:
            async with self._engine.connect() as connection:
                times = await rooms.meeting_times(connection, meeting_id)
        return RoomSpec(
            meeting_id=meeting_id,
            name=self.room_name(meeting_id),
            max_participants=30,
            starts_at=times.starts_at,
            ends_at=times.ends_at,
        )

    async def admit(
        self, meeting_id: str, participant_id: str, *, display_name: str, times: MeetingTimes
    ) -> JoinCredential:
        """A credential for an admitted participant, from what the decision read; recorded in the
        audit log before it is handed to anyone."""
        issued, failed = await self.admit_all(meeting_id, {participant_id: display_name}, times=times)
        if failed:
            raise failed[participant_id]
        return issued[participant_id]

    @property
    def mints_offline(self) -> bool:
        """Whether the backend signs credentials itself, with no room to prepare over the network
        (``issues_offline`` on the backend): then they are minted inside the admission's own
        transaction (:meth:`mint`)."""
        return getattr(self.backend, "issues_offline", False) is True

    async def mint(
        self, meeting_id: str, names: dict[str, str], *, times: MeetingTimes
    ) -> tuple[dict[str, JoinCredential], list[NewAuditEntry]] | None:
        """Credentials for those a decision lets in, and their audit entries, for the decision to
        record with itself before it commits: None when the backend does not mint offline. One
        the backend refuses is left out (the courier tries it again after the commit)."""
        if not self.mints_offline:
            return None
        issued, _ = await self._issue_all(meeting_id, names, times)
        return issued, self._issued_entries(meeting_id, issued)

    async def _issue_all(
        self, meeting_id: str, names: dict[str, str], times: MeetingTimes
    ) -> tuple[dict[str, JoinCredential], dict[str, VideoBackendError]]:
        room = await self._room(meeting_id, times)
        await self.backend.ensure_room(room)
        issued: dict[str, JoinCredential] = {}
        failed: dict[str, VideoBackendError] = {}
        for participant_id, display_name in names.items():
            request = JoinRequest(
                participant_id=participant_id,
                display_name=display_name,
                role="guest",
                lifetime_seconds=int(self._lifetime.total_seconds()),
            )
            try:
                issued[participant_id] = await self.backend.issue(room, request)
            except VideoBackendError as exc:
                failed[participant_id] = exc
        return issued, failed

    def _issued_entries(self, meeting_id: str, issued: dict[str, JoinCredential]) -> list[NewAuditEntry]:
        now = self._clock()
        return [
            NewAuditEntry(
                actor="system",
                action="video.credential_issued",
                subject_type="participant",
                subject_id=participant_id,
                meeting_id=meeting_id,
                details={"backend": self.backend.name},
                now=now,
            )
            for participant_id in issued
        ]

    async def admit_all(
        self, meeting_id: str, names: dict[str, str], *, times: MeetingTimes
    ) -> tuple[dict[str, JoinCredential], dict[str, VideoBackendError]]:
        """Credentials for several people admitted by one decision (each key an entry, each value
        the name the video shows), recorded in the audit log together, in one transaction, before
        any is handed to anyone. Answers those issued, and those the backend refused (the caller
        tries them again); the room not made, or the record not written, raises."""
        issued, failed = await self._issue_all(meeting_id, names, times)
        if not issued:
            return issued, failed
        async with self._engine.begin() as connection:
            await self._audit.append_all(connection, self._issued_entries(meeting_id, issued))
        return issued, failed

    async def host(self, meeting_id: str, staff_id: str) -> JoinCredential:
        async with self._engine.connect() as connection:
            name = await rooms.host_display_name(connection, staff_id)
        room = await self._room(meeting_id)
        await self.backend.ensure_room(room)
        credential = await self.backend.issue(
            room,
            JoinRequest(
                participant_id=f"host-{staff_id}",
                display_name=name,
                role="moderator",
                lifetime_seconds=int(self._lifetime.total_seconds()),
            ),
        )
        await self._record(
            "video.credential_issued",
            meeting_id,
            staff_id,
            {"backend": self.backend.name, "role": "moderator"},
            subject="staff",
        )
        return credential

    async def is_inside(self, meeting_id: str, participant_id: str) -> bool:
        """Whether the participant is still admitted or in the meeting (a credential is due)."""
        async with self._engine.connect() as connection:
            state = await attendances.state_in_meeting(connection, meeting_id, participant_id)
        return state in ("admitted", "in_meeting")

    async def revoke(self, meeting_id: str, participant_id: str, times: MeetingTimes | None = None) -> None:
        room = await self._room(meeting_id, times)
        try:
            revoked = await self.backend.revoke(room, participant_id)
        except VideoBackendError as exc:
            log.warning("video revoke failed: %s", exc.__class__.__name__)
            revoked = False
        await self._record(
            "video.revoked", meeting_id, participant_id, {"backend": self.backend.name, "at_backend": revoked}
        )

    async def end(self, meeting_id: str, times: MeetingTimes | None = None) -> None:
        room = await self._room(meeting_id, times)
        try:
            await self.backend.end_room(room)
            ended = True
        except VideoBackendError as exc:
            log.warning("video end_room failed: %s", exc.__class__.__name__)
            ended = False
        await self._record(
            "video.room_ended",
            meeting_id,
            meeting_id,
            {"backend": self.backend.name, "at_backend": ended},
            subject="meeting",
        )

    async def _record(
        self, action: str, meeting_id: str, subject_id: str, details: dict[str, Any], *, subject: str = "participant"
    ) -> None:
        async with self._engine.begin() as connection:
            await self._audit.append(
                connection,
                actor="system",
                action=action,
                subject_type=subject,
                subject_id=subject_id,
                meeting_id=meeting_id,
                details=details,
                now=self._clock(),
            )
