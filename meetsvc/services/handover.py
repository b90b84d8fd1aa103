"""Handing admitted people to the video backend, and taking them back.

Called only after the waiting room has *committed* an admission: no backend call happens and
no credential exists before it. A credential goes only to that participant's own room. Sending
someone back, removing them or ending the meeting revokes at the backend where it can (and the
credential's short lifetime bounds it where it cannot); each is an audit event.

Room names are an HMAC of the meeting id under a key of the service's: the backend (and
anything that logs its URLs) sees nothing of the meeting, its subject or its people.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.secrets import Secret
from meetsvc.services.audit import AuditLog
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import participants, waiting_room as rooms
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

    async def _room(self, meeting_id: str) -> RoomSpec:
        async with self._engine.connect() as connection:
            times = await rooms.meeting_times(connection, meeting_id)
        return RoomSpec(
            meeting_id=meeting_id,
            name=self.room_name(meeting_id),
            max_participants=30,
            starts_at=times.starts_at,
            ends_at=times.ends_at,
        )

    async def _display_name(self, participant_id: str) -> str:
        async with self._engine.connect() as connection:
            row = await participants.name_for_video(connection, participant_id)
        if row.given_name and not row.unverified:
            return f"{row.given_name} {row.surname}"
        return row.display_name

    async def admit(self, meeting_id: str, participant_id: str) -> JoinCredential:
        room = await self._room(meeting_id)
        await self.backend.ensure_room(room)
        credential = await self.backend.issue(
            room,
            JoinRequest(
                participant_id=participant_id,
                display_name=await self._display_name(participant_id),
                role="guest",
                lifetime_seconds=int(self._lifetime.total_seconds()),
            ),
        )
        await self._record("video.credential_issued", meeting_id, participant_id, {"backend": self.backend.name})
        return credential

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

    async def revoke(self, meeting_id: str, participant_id: str) -> None:
        room = await self._room(meeting_id)
        try:
            revoked = await self.backend.revoke(room, participant_id)
        except VideoBackendError as exc:
            log.warning("video revoke failed: %s", exc.__class__.__name__)
            revoked = False
        await self._record(
            "video.revoked", meeting_id, participant_id, {"backend": self.backend.name, "at_backend": revoked}
        )

    async def end(self, meeting_id: str) -> None:
        room = await self._room(meeting_id)
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
