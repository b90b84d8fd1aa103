"""The built-in development backend, credential side: a signed token and a page on the service.

The token is signed by a callable handed in (the service's Ed25519 signing keys, so rotation and
algorithm pinning are the service's own), for audience ``meetsvc:video``. The join URL is
``/video/<room>#token=…``: the fragment never reaches a server log or a Referer header.

Revocation needs no call and keeps no state here. The signalling layer
(:mod:`meetsvc.realtime.video`) checks the sender's state in the database on *every* signalling
message, so a person sent back, removed or ended out relays nothing more even with a token that
has not expired, on whichever process their socket lives. That is why :meth:`revoke` answers
``True`` and :meth:`end_room` has nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from pydantic import Field

from meetsvc.core.adapter_config import AdapterConfig
from meetsvc.core.clock import Clock, utc_now
from meetsvc.video.base import JoinCredential, JoinRequest, RoomSpec, WebhookEvent, capped_lifetime, expiry

AUDIENCE = "meetsvc:video"


class BuiltinConfig(AdapterConfig):
    """``[video.builtin]``: nothing to connect to, only how long a credential lives."""

    max_lifetime_seconds: int = Field(300, ge=30, le=3600)


class BuiltinBackend:
    name = "builtin"
    #: Credentials are tokens signed here: an admission mints them in its own transaction.
    issues_offline = True

    def __init__(
        self,
        sign: Callable[[dict[str, Any]], str],
        verify: Callable[[str], dict[str, Any]],
        *,
        issuer: str,
        base_url: str = "",
        config: BuiltinConfig = BuiltinConfig(),
        clock: Clock = utc_now,
    ) -> None:
        self._sign = sign
        self._verify = verify
        self._issuer = issuer
        self._base_url = base_url.rstrip("/")
        self._config = config
        self._clock = clock

    def __repr__(self) -> str:
        return f"BuiltinBackend(issuer={self._issuer!r})"

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a credential this backend issued, checked by the service's own keys."""
        return self._verify(token)

    async def ensure_room(self, room: RoomSpec) -> None:
        """Nothing to prepare: the room is a socket.io room that exists while someone is in it."""

    async def issue(self, room: RoomSpec, person: JoinRequest) -> JoinCredential:
        now = self._clock()
        expires = expiry(now, capped_lifetime(person, self._config.max_lifetime_seconds))
        token = self._sign(
            {
                "iss": self._issuer,
                "aud": AUDIENCE,
                "sub": person.participant_id,
                "mid": room.meeting_id,
                "room": room.name,
                "name": person.display_name,
                "role": person.role,
                "iat": int(now.timestamp()),
                "nbf": int(now.timestamp()),
                "exp": int(expires.timestamp()),
            }
        )
        url = f"{self._base_url}/video/{quote(room.name, safe='')}#token={quote(token, safe='')}"
        return JoinCredential(self.name, url, token, expires)

    async def revoke(self, room: RoomSpec, participant_id: str) -> bool:
        """Enforced by the signalling layer on every message (see the module docstring)."""
        return True

    async def end_room(self, room: RoomSpec) -> None:
        """Enforced by the signalling layer: an ended meeting has nobody inside to relay for."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        return None

    async def aclose(self) -> None:
        return None
