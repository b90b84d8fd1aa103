"""The plug-in point for video backends: one Protocol, the values it speaks, and its errors.

Every backend (the built-in mesh, Jitsi, LiveKit, a Vidicue-style vendor API) does four things
for the service, and only after a host has admitted someone:

* ``ensure_room`` — make sure the meeting's room exists where the backend needs that;
* ``issue`` — hand one person a short-lived credential for that room, with their role;
* ``revoke`` — take one person out again, where the backend can (``False`` where it cannot, and
  then the credential's short lifetime is the bound);
* ``end_room`` — close the room for everyone.

Room names never carry the meeting id or anything about the people in it: a backend (and its
logs) sees an HMAC of the meeting id, nothing more (:func:`derive_room_name`).

Errors::

    VideoBackendError            retryable?  the backend could not do what was asked
    ├── VideoBackendUnavailable  yes         timeouts, refused connections, 429, 5xx
    ├── VideoBackendRefused      no          the backend said no: credentials, bad request
    └── WebhookRejected          no          a webhook whose signature or shape is wrong
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["moderator", "guest"]

# Lower-case letters, digits, '-' and '_': what every backend accepts unchanged (Jitsi lowercases
# room names, Vidicue allows [a-zA-Z0-9_-] up to 100 characters after its prefix).
_ROOM_NAME = re.compile(r"^[a-z0-9_-]{8,64}$")
_MAX_LIFETIME = 24 * 3600


def derive_room_name(meeting_id: str, key: bytes) -> str:
    """The backend's name for a meeting's room: an HMAC of the meeting id, so it reveals nothing."""
    return "sip-" + hmac.new(key, f"room:{meeting_id}".encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A meeting's room as backends see it. ``meeting_id`` stays on our side of every call."""

    meeting_id: str
    name: str
    max_participants: int
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if not _ROOM_NAME.match(self.name):
            raise ValueError("room name must be 8-64 characters of a-z, 0-9, '-' and '_'")
        if self.meeting_id and self.meeting_id.lower() in self.name:
            raise ValueError("room name must not contain the meeting id")
        if not 1 <= self.max_participants <= 1000:
            raise ValueError("max_participants must be between 1 and 1000")


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """One person to let into a room: an opaque id, the name others will see, and a role."""

    participant_id: str
    display_name: str
    role: Role
    lifetime_seconds: int

    def __post_init__(self) -> None:
        if not self.participant_id or len(self.participant_id) > 100:
            raise ValueError("participant_id must be 1-100 characters")
        if self.role not in ("moderator", "guest"):
            raise ValueError("role must be 'moderator' or 'guest'")
        if not 1 <= self.lifetime_seconds <= _MAX_LIFETIME:
            raise ValueError(f"lifetime_seconds must be between 1 and {_MAX_LIFETIME}")
        if len(self.display_name) > 200:
            raise ValueError("display_name must be at most 200 characters")

    @property
    def is_moderator(self) -> bool:
        return self.role == "moderator"


@dataclass(frozen=True, slots=True)
class JoinCredential:
    """What one admitted person gets: where to go, and (for token backends) the token.

    The join URL usually *is* a credential (a token in its query or fragment, or a single-use
    link), so the repr shows neither: a log line or a traceback cannot hand someone a seat.
    Use :meth:`as_payload` to send it, to that person only.
    """

    backend: str
    join_url: str
    token: str | None
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"JoinCredential(backend={self.backend!r}, join_url=<hidden>, token=<hidden>, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    __str__ = __repr__

    def as_payload(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "join_url": self.join_url,
            "token": self.token,
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A backend's verified word that someone entered or left a room."""

    backend: str
    kind: Literal["joined", "left"]
    room_name: str
    participant_id: str
    at: datetime | None = field(default=None)


class VideoBackendError(Exception):
    """The backend could not do what was asked; ``retryable`` says whether trying again may help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class VideoBackendUnavailable(VideoBackendError):
    retryable = True


class VideoBackendRefused(VideoBackendError):
    retryable = False


class WebhookRejected(VideoBackendError):
    retryable = False


@runtime_checkable
class VideoBackend(Protocol):
    """What the service needs from a video backend. See ``docs/video-backends.md``."""

    name: str

    async def ensure_room(self, room: RoomSpec) -> None:
        """Make the room ready for joining (a no-op where rooms appear on first join)."""

    async def issue(self, room: RoomSpec, person: JoinRequest) -> JoinCredential:
        """A credential for this person alone, valid for at most their (and our) lifetime."""

    async def revoke(self, room: RoomSpec, participant_id: str) -> bool:
        """Take the person out; ``False`` where the backend cannot (the lifetime then bounds it)."""

    async def end_room(self, room: RoomSpec) -> None:
        """Close the room for everyone, where the backend can."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        """A verified joined/left event; ``None`` for what this backend does not report.

        Raises :class:`WebhookRejected` for a request that claims to be the backend's but whose
        signature does not hold.
        """

    async def aclose(self) -> None:
        """Release connections the backend holds (called once, at shutdown)."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the case the mapping uses."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def capped_lifetime(person: JoinRequest, configured_max: int) -> int:
    """The lifetime a credential gets: what was asked, never more than the backend's maximum."""
    return min(person.lifetime_seconds, configured_max)


def expiry(now: datetime, seconds: int) -> datetime:
    """The instant a token's ``exp`` names: whole seconds, so ``expires_at`` is exactly that."""
    return datetime.fromtimestamp(int((now + timedelta(seconds=seconds)).timestamp()), UTC)
