"""A Vidicue-style vendor API (Compodium): single-use room links minted per person.

Taken from the vendor's published OpenAPI description (``POST /api/token``,
``POST /api/room/{id}/invalidate``, ``POST /api/room/{id}/{userId}/invalidate``) and from public
integrations of it:

* every request carries ``X-Vidicue-Key`` (the integration's API key), ``X-Vidicue-Nonce`` (a
  number: Unix time in seconds) and ``Authorization: Bearer <signature>``, where the signature
  is the hex of the integration's private key signing the hex SHA-256 of
  ``"<path>:<body>:<nonce>"`` (the API secret is handed out as a base64-encoded PEM key);
* ``POST /api/token`` creates the room if needed and answers ``{"url": …}``: a link that works
  **once** and **for one minute**, for one ``userId`` with a ``role`` (guest, moderator, admin);
  ``roomId`` is ``"<integration prefix>:<id>"`` with ``[a-zA-Z0-9_-]``, at most 100 characters;
* ``roomLock`` puts a waiting room in front of the meeting and ``mayBypass`` lets this person
  past it; ``invalidateOnProperLeave`` voids the person's access when they press Leave;
* invalidating a user kicks them at once; invalidating the room voids every token for it and
  destroys the room (both answer 204).

What the public material does not say, and this adapter assumes (see docs/video-backends.md):
the key type (Ed25519, or RSA/EC with SHA-256 as Node's ``crypto.sign(null, …)`` picks), that a
request without a body signs an empty body, and the answers beyond 200/204/400/401 (404 for an
unknown room, 429 with ``Retry-After``, 5xx).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import Field, SecretStr, field_validator, model_validator

from meetsvc.core.adapter_config import AdapterConfig, http_url, one_source, read_secret
from meetsvc.core.clock import Clock, utc_now
from meetsvc.video.base import (
    JoinCredential,
    JoinRequest,
    RoomSpec,
    VideoBackendError,
    VideoBackendRefused,
    VideoBackendUnavailable,
    WebhookEvent,
)
from meetsvc.video.transport import HttpTransport, Reply

TOKEN_PATH = "/api/token"  # noqa: S105  # a URL path, not a secret
# "Note that the url expires after a minute and can only be used once." (POST /api/token)
LINK_LIFETIME = timedelta(minutes=1)
_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

PrivateKey = Ed25519PrivateKey | RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_private_key(text: str) -> PrivateKey:
    """The integration key, given as PEM or (as the vendor hands it out) base64 of the PEM."""
    raw = text.strip().encode("ascii", "ignore")
    if not raw.startswith(b"-----BEGIN"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise ValueError("api_secret is neither a PEM key nor base64 of one") from None
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except ValueError:
        key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, (Ed25519PrivateKey, RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError("api_secret must be an Ed25519, RSA or EC private key")
    return key


def sign(key: PrivateKey, message: bytes) -> bytes:
    # Node's crypto.sign(null, data, key): the key type decides; RSA and EC use SHA-256 (PKCS#1
    # v1.5 and DER-encoded ECDSA, OpenSSL's defaults).
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def string_to_sign(path: str, body: str, nonce: str) -> bytes:
    """What the signature covers: the hex SHA-256 of ``path:body:nonce``, as ASCII."""
    return hashlib.sha256(f"{path}:{body}:{nonce}".encode()).hexdigest().encode("ascii")


class VidicueConfig(AdapterConfig):
    """``[video.vidicue]``: one integration with the vendor's token API."""

    api_url: str = Field(description="the vendor's API address, without /api")
    api_key: str = Field(min_length=1, description="sent as X-Vidicue-Key")
    api_secret: SecretStr | None = None
    api_secret_file: Path | None = None
    room_prefix: str = Field(min_length=1, max_length=50, description="the integration prefix before ':' in roomId")
    room_title: str = Field("SIP-möte", min_length=1, max_length=60, description="roomName shown in the vendor's page")
    room_lock: bool = True
    invalidate_on_leave: bool = True
    request_timeout_seconds: float = Field(10.0, gt=0, le=60)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, key="api_url")

    @field_validator("room_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("room_prefix may hold only A-Z, a-z, 0-9, '-' and '_'")
        return value

    @model_validator(mode="after")
    def _secret(self) -> VidicueConfig:
        one_source(self.api_secret, self.api_secret_file, "api_secret")
        return self


class VidicueBackend:
    name = "vidicue"

    def __init__(
        self, config: VidicueConfig, *, clock: Clock = utc_now, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._config = config
        self._clock = clock
        self._key = load_private_key(read_secret(config.api_secret, config.api_secret_file, "api_secret"))
        self._http = HttpTransport(timeout_seconds=config.request_timeout_seconds, session=session)

    def __repr__(self) -> str:
        return f"VidicueBackend(api_url={self._config.api_url!r}, api_key={self._config.api_key!r})"

    def room_id(self, room: RoomSpec) -> str:
        return f"{self._config.room_prefix}:{room.name}"

    async def _post(self, path: str, body: dict[str, Any] | None) -> Reply:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        nonce = str(int(self._clock().timestamp()))
        headers = {
            "Authorization": "Bearer " + sign(self._key, string_to_sign(path, data, nonce)).hex(),
            "X-Vidicue-Nonce": nonce,
            "X-Vidicue-Key": self._config.api_key,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        reply = await self._http.post(self._config.api_url + path, data.encode("utf-8"), headers)
        if reply.status in (200, 204):
            return reply
        raise _error(path, reply)

    def _user_path(self, room: RoomSpec, participant_id: str) -> str:
        if not _ID.match(participant_id):
            # Refused before any call: an id we could not invalidate later must not get a link.
            raise VideoBackendRefused("participant id must be 1-100 characters of A-Z, a-z, 0-9, '-' and '_'")
        return f"/api/room/{quote(self.room_id(room), safe=':')}/{quote(participant_id, safe='')}/invalidate"

    async def ensure_room(self, room: RoomSpec) -> None:
        """Nothing to call: minting the first link creates the room."""

    async def issue(self, room: RoomSpec, person: JoinRequest) -> JoinCredential:
        self._user_path(room, person.participant_id)
        lock = self._config.room_lock
        now = self._clock()
        reply = await self._post(
            TOKEN_PATH,
            {
                "roomId": self.room_id(room),
                "roomName": self._config.room_title,
                "userId": person.participant_id,
                "role": "moderator" if person.is_moderator else "guest",
                # Our waiting room has already let this person in; the vendor's lobby would be a
                # second, unexplained wait.
                "useLobby": False,
                "estimatedNumberOfParticipants": room.max_participants,
                "invalidateOnProperLeave": self._config.invalidate_on_leave,
                "userData": {"name": person.display_name},
                # The vendor's own lock stays on for anyone who is not sent by us.
                "roomLock": {"enabled": lock, "isActive": lock, "mayBypass": lock},
                "clientOptions": {
                    "disableRecording": True,
                    "disableNPS": True,
                    # The vendor's default: lets a person sent back and admitted again rejoin.
                    # Earlier links cannot come back with it: each works once, for a minute.
                    "clearInvalidations": True,
                },
            },
        )
        try:
            url = json.loads(reply.body)["url"]
        except (ValueError, KeyError, TypeError):
            raise VideoBackendUnavailable("Vidicue answered /api/token without a url", status=reply.status) from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise VideoBackendUnavailable("Vidicue answered /api/token with an unusable url", status=reply.status)
        # The vendor fixes the link's life at one minute whatever we would ask: say so truthfully.
        return JoinCredential(self.name, url, None, now + LINK_LIFETIME)

    async def revoke(self, room: RoomSpec, participant_id: str) -> bool:
        """Invalidate the person in the room: the vendor kicks them at once."""
        try:
            await self._post(self._user_path(room, participant_id), None)
        except VideoBackendRefused as exc:
            # An unknown room has no live link to void: the person cannot get in.
            if exc.status != 404:
                raise
        return True

    async def end_room(self, room: RoomSpec) -> None:
        """Invalidate the room: every link for it stops working and the room is destroyed."""
        try:
            await self._post(f"/api/room/{quote(self.room_id(room), safe=':')}/invalidate", None)
        except VideoBackendRefused as exc:
            if exc.status != 404:
                raise

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        """The published API has no webhooks."""
        return None

    async def aclose(self) -> None:
        await self._http.aclose()


def _error(path: str, reply: Reply) -> VideoBackendError:
    operation = "invalidate" if path.endswith("/invalidate") else path
    message = f"Vidicue {operation} answered {reply.status}"
    if reply.status == 429 or reply.status >= 500:
        return VideoBackendUnavailable(message, status=reply.status, retry_after=reply.retry_after())
    return VideoBackendRefused(message, status=reply.status)
