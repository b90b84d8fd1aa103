"""A fake of the Vidicue-style token API, built from the vendor's published OpenAPI description.

It checks every request as the vendor would: the three authentication headers (API key, a
numeric nonce close to now, and the bearer signature over the hex SHA-256 of
``path:body:nonce`` made with the integration's key), the method and path, and the JSON body
field by field against the documented schema (unknown fields are refused here, so a typo in
the adapter cannot pass unseen).

It answers like the vendor: ``{"url": ...}`` for a token, 204 for an invalidation, 400 and 401
as documented, and, where the description says nothing, 404 for an unknown room, 429 with
``Retry-After`` and 5xx (see docs/video-backends.md, "assumed"). The links it mints behave as
documented: each works once and for one minute, and an invalidated user or room can no longer
use one. ``GET /join/<code>`` plays the person's browser opening the link.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

LINK_SECONDS = 60
NONCE_WINDOW = 300
_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_BOOL_OPTIONS = {
    "autoLockOnHostLeave",
    "clearInvalidations",
    "disableCamera",
    "disableChat",
    "disableLayout",
    "disableMembersList",
    "disableMicrophone",
    "disableMirroredCamera",
    "disableNPS",
    "disableRaiseHand",
    "disableRecording",
    "disableShareScreen",
    "disableVisualEffects",
    "enableEmojiReactions",
    "skipPreview",
    "startAsHidden",
    "startAsMuted",
}
_TOKEN_FIELDS = {
    "roomId",
    "roomName",
    "userId",
    "role",
    "useLobby",
    "estimatedNumberOfParticipants",
    "invalidateOnProperLeave",
    "userData",
    "roomLock",
    "clientOptions",
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Link:
    room_id: str
    user_id: str
    role: str
    name: str | None
    may_bypass: bool
    minted_at: float
    used: bool = False


@dataclass
class VendorRoom:
    name: str | None
    estimated: int | None
    lock_active: bool = False
    invalidated_users: set[str] = field(default_factory=set)
    inside: set[str] = field(default_factory=set)


@dataclass
class FakeVidicue:
    api_key: str
    public_key: Ed25519PublicKey | RSAPublicKey | ec.EllipticCurvePublicKey
    prefix: str
    clock: Callable[[], float] = time.time
    requests: list[Recorded] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)
    rooms: dict[str, VendorRoom] = field(default_factory=dict)
    invalidated_rooms: list[str] = field(default_factory=list)
    invalidated_users: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def fail_next(self, status: int, *, headers: dict[str, str] | None = None) -> None:
        self.failures.append((status, headers or {}))

    async def start(self) -> FakeVidicue:
        app = web.Application()
        app.router.add_post("/api/token", self._token)
        app.router.add_post("/api/room/{room}/invalidate", self._invalidate_room)
        app.router.add_post("/api/room/{room}/{user}/invalidate", self._invalidate_user)
        app.router.add_get("/join/{code}", self._join)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    # -- authentication -----------------------------------------------------------------

    def _verify(self, signature: bytes, message: bytes) -> None:
        key = self.public_key
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        elif isinstance(key, RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))

    async def _authenticated(self, request: web.Request) -> tuple[str, web.Response | None]:
        body = await request.text()
        self.requests.append(Recorded(request.method, request.raw_path, dict(request.headers), body))
        if request.query_string:
            return body, web.Response(status=400, text="no query parameters are defined")
        if request.headers.get("X-Vidicue-Key") != self.api_key:
            return body, web.Response(status=401, text="Unauthorized")
        nonce = request.headers.get("X-Vidicue-Nonce", "")
        if not nonce.isdigit() or abs(self.clock() - int(nonce)) > NONCE_WINDOW:
            return body, web.Response(status=401, text="Unauthorized")
        authorization = request.headers.get("Authorization", "")
        try:
            signature = bytes.fromhex(authorization.removeprefix("Bearer "))
            if not authorization.startswith("Bearer "):
                raise ValueError
            digest = hashlib.sha256(f"{request.raw_path}:{body}:{nonce}".encode()).hexdigest()
            self._verify(signature, digest.encode("ascii"))
        except (ValueError, InvalidSignature):
            return body, web.Response(status=401, text="Unauthorized")
        if self.failures:
            status, headers = self.failures.pop(0)
            return body, web.Response(status=status, headers=headers, text="injected")
        return body, None

    def _own_room(self, room_id: str) -> bool:
        prefix, _, rest = room_id.partition(":")
        return prefix == self.prefix and bool(_ID.match(rest))

    # -- the API ------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        body, refused = await self._authenticated(request)
        if refused:
            return refused
        if request.content_type != "application/json":
            return web.Response(status=400, text="Bad Request")
        try:
            data = json.loads(body)
            problem = _token_problem(data)
        except ValueError:
            problem = "not JSON"
        if problem is None and not self._own_room(data["roomId"]):
            problem = "roomId must be '<your prefix>:<[a-zA-Z0-9_-]{1,100}>'"
        if problem:
            return web.Response(status=400, text=f"Bad Request: {problem}")
        room = self.rooms.setdefault(
            data["roomId"], VendorRoom(data.get("roomName"), data.get("estimatedNumberOfParticipants"))
        )
        lock = data.get("roomLock", {})
        room.lock_active = bool(lock.get("enabled") and lock.get("isActive"))
        if data.get("clientOptions", {}).get("clearInvalidations", True):
            room.invalidated_users.discard(data["userId"])
            if data["roomId"] in self.invalidated_rooms:
                self.invalidated_rooms.remove(data["roomId"])
        code = secrets.token_urlsafe(16)
        self.links[code] = Link(
            data["roomId"],
            data["userId"],
            data.get("role", "guest"),
            data.get("userData", {}).get("name"),
            bool(lock.get("mayBypass", False)),
            self.clock(),
        )
        return web.json_response({"url": f"{self.url}/join/{code}"})

    async def _invalidate_room(self, request: web.Request) -> web.Response:
        body, refused = await self._authenticated(request)
        if refused:
            return refused
        room_id = request.match_info["room"]
        if body or not self._own_room(room_id):
            return web.Response(status=400, text="Bad Request")
        if room_id not in self.rooms:
            return web.Response(status=404, text="Not Found")
        # "Invalidates a room key, making all signed tokens for it unable to join the room.
        # Also immediately destroys the room."
        del self.rooms[room_id]
        self.invalidated_rooms.append(room_id)
        return web.Response(status=204)

    async def _invalidate_user(self, request: web.Request) -> web.Response:
        body, refused = await self._authenticated(request)
        if refused:
            return refused
        room_id, user_id = request.match_info["room"], request.match_info["user"]
        if body or not self._own_room(room_id) or not _ID.match(user_id):
            return web.Response(status=400, text="Bad Request")
        room = self.rooms.get(room_id)
        if room is None:
            return web.Response(status=404, text="Not Found")
        # "Invalidates a user id for a room, and immediately kicks the user."
        room.invalidated_users.add(user_id)
        room.inside.discard(user_id)
        self.invalidated_users.append((room_id, user_id))
        return web.Response(status=204)

    # -- the person's browser -------------------------------------------------------------

    async def _join(self, request: web.Request) -> web.Response:
        link = self.links.get(request.match_info["code"])
        if link is None:
            return web.Response(status=404, text="unknown link")
        if link.used or self.clock() - link.minted_at > LINK_SECONDS:
            return web.Response(status=410, text="link used or expired")
        link.used = True
        room = self.rooms.get(link.room_id)
        if room is None or link.room_id in self.invalidated_rooms:
            return web.Response(status=403, text="room invalidated")
        if link.user_id in room.invalidated_users:
            return web.Response(status=403, text="user invalidated")
        waiting = room.lock_active and not link.may_bypass
        if not waiting:
            room.inside.add(link.user_id)
        return web.json_response(
            {
                "roomId": link.room_id,
                "userId": link.user_id,
                "role": link.role,
                "name": link.name,
                "waiting": waiting,
                "expiresAt": link.minted_at + LINK_SECONDS,
            }
        )


def _token_problem(data: Any) -> str | None:
    """What is wrong with a POST /api/token body, per the published schema."""
    if not isinstance(data, dict):
        return "body must be an object"
    unknown = set(data) - _TOKEN_FIELDS
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    for key in ("roomId", "userId"):
        if not isinstance(data.get(key), str) or not data[key]:
            return f"{key} is required"
    if len(data["roomId"].partition(":")[2]) > 100:
        return "roomId is too long"
    if "roomName" in data and not isinstance(data["roomName"], str):
        return "roomName must be a string"
    if data.get("role", "guest") not in ("guest", "moderator", "admin"):
        return "role must be guest, moderator or admin"
    for key in ("useLobby", "invalidateOnProperLeave"):
        if key in data and not isinstance(data[key], bool):
            return f"{key} must be a boolean"
    estimated = data.get("estimatedNumberOfParticipants", 0)
    if isinstance(estimated, bool) or not isinstance(estimated, (int, float)):
        return "estimatedNumberOfParticipants must be a number"
    user = data.get("userData", {})
    if not isinstance(user, dict) or set(user) - {"name"} or not isinstance(user.get("name", ""), str):
        return "userData holds only name, a string"
    lock = data.get("roomLock", {})
    if (
        not isinstance(lock, dict)
        or set(lock) - {"enabled", "isActive", "mayBypass"}
        or not all(isinstance(v, bool) for v in lock.values())
    ):
        return "roomLock holds only enabled, isActive, mayBypass, booleans"
    options = data.get("clientOptions", {})
    if not isinstance(options, dict):
        return "clientOptions must be an object"
    for key, value in options.items():
        if key in _BOOL_OPTIONS:
            if not isinstance(value, bool):
                return f"clientOptions.{key} must be a boolean"
        elif key not in ("devices", "forceVirtualBackgroundUrl", "startVideoFit"):
            return f"unknown clientOptions.{key}"
    return None
