"""A LiveKit server as far as meetsvc meets it: RoomService over Twirp, and the join check.

Requests are checked the way LiveKit checks them, with LiveKit's own Python server SDK
(``livekit-api``): the bearer token by ``TokenVerifier``, the grant it must carry for each
method (``roomCreate``; ``roomAdmin`` for that very room), and the JSON body by parsing it into
the protocol's own message with unknown fields refused. Errors come back in Twirp's shape
(``{"code": ..., "msg": ...}`` with the matching HTTP status).

The server is configured with ``room.auto_create: false`` (as docs/video-backends.md asks), so
joining needs a room made by CreateRoom. ``revoke_token_ts`` is honoured as LiveKit documents
it: tokens whose ``nbf`` is before it are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims
from livekit.protocol.models import Room
from livekit.protocol.room import CreateRoomRequest, DeleteRoomRequest, RoomParticipantIdentity

SERVICE = "/twirp/livekit.RoomService/"
REQUESTS: dict[str, type[Message]] = {
    "CreateRoom": CreateRoomRequest,
    "DeleteRoom": DeleteRoomRequest,
    "RemoveParticipant": RoomParticipantIdentity,
}
STATUS = {
    "malformed": 400,
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "bad_route": 404,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
}


class JoinRefused(Exception):
    """What a LiveKit client would see as a failed connection."""


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    message: Message
    claims: Claims
    content_type: str
    bearer: str


@dataclass
class FakeLiveKit:
    api_key: str
    api_secret: str
    calls: list[Call] = field(default_factory=list)
    rooms: dict[str, CreateRoomRequest] = field(default_factory=dict)
    connected: dict[str, set[str]] = field(default_factory=dict)
    revoked: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.api_key, self.api_secret)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def fail_next(self, code: str, *, headers: dict[str, str] | None = None) -> None:
        self.failures.append((code, headers or {}))

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    # -- the server ---------------------------------------------------------------------

    async def start(self) -> FakeLiveKit:
        app = web.Application()
        app.router.add_post(SERVICE + "{method}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @staticmethod
    def _error(code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"code": code, "msg": message}, status=STATUS[code], headers=headers)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method not in REQUESTS:
            return self._error("bad_route", f"no handler for {method}")
        if request.content_type != "application/json":
            return self._error("malformed", "Content-Type must be application/json")
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return self._error("unauthenticated", "missing bearer token")
        bearer = authorization.removeprefix("Bearer ")
        try:
            claims = self.verifier.verify(bearer)
        except jwt.PyJWTError as exc:
            return self._error("unauthenticated", f"invalid token: {exc.__class__.__name__}")
        text = await request.text()
        try:
            message = json_format.Parse(text, REQUESTS[method](), ignore_unknown_fields=False)
            body = json.loads(text)
        except (json_format.ParseError, ValueError) as exc:
            return self._error("malformed", str(exc))
        self.calls.append(Call(method, body, message, claims, request.content_type, bearer))
        if self.failures:
            code, headers = self.failures.pop(0)
            return self._error(code, "injected", headers)
        video = claims.video
        if method == "CreateRoom":
            assert isinstance(message, CreateRoomRequest)
            if not (video and video.room_create):
                return self._error("permission_denied", "requires roomCreate")
            self.rooms.setdefault(message.name, message)
            self.connected.setdefault(message.name, set())
            room = Room(
                name=message.name,
                sid=f"RM_{message.name[-6:]}",
                empty_timeout=message.empty_timeout,
                max_participants=message.max_participants,
            )
            return web.json_response(json_format.MessageToDict(room))
        if method == "DeleteRoom":
            assert isinstance(message, DeleteRoomRequest)
            if not (video and video.room_create):
                return self._error("permission_denied", "requires roomCreate")
            if message.room not in self.rooms:
                return self._error("not_found", "room not found")
            del self.rooms[message.room]
            self.connected.pop(message.room, None)
            return web.json_response({})
        assert isinstance(message, RoomParticipantIdentity)
        if not (video and video.room_admin and video.room == message.room):
            return self._error("permission_denied", "requires roomAdmin for this room")
        if message.identity not in self.connected.get(message.room, set()):
            return self._error("not_found", "participant not found")
        self.connected[message.room].discard(message.identity)
        self.revoked[(message.room, message.identity)] = message.revoke_token_ts
        return web.json_response({})

    # -- a client connecting ------------------------------------------------------------

    def join(self, token: str) -> Claims:
        """Connect with an access token, as the LiveKit server checks it."""
        try:
            claims = self.verifier.verify(token)
        except jwt.PyJWTError as exc:
            raise JoinRefused(f"invalid token: {exc.__class__.__name__}") from None
        video = claims.video
        if not (video and video.room_join and video.room):
            raise JoinRefused("token does not grant roomJoin")
        if video.room not in self.rooms:
            raise JoinRefused("room does not exist (auto_create is off)")
        not_before = jwt.decode(token, options={"verify_signature": False})["nbf"]
        if not_before < self.revoked.get((video.room, claims.identity), 0):
            raise JoinRefused("token revoked")
        present = self.connected[video.room]
        if claims.identity not in present and len(present) >= self.rooms[video.room].max_participants:
            raise JoinRefused("room is full")
        present.add(claims.identity)
        return claims
