"""Signalling for the built-in video backend: a WebRTC mesh among the admitted.

A socket connects with the built-in backend's join credential (an EdDSA JWT for audience
``meetsvc:video``, issued only at admission). Every signalling message re-checks the sender
against the database — an admitted or in-meeting participant of that meeting, or one of its
hosts — so a participant sent back, removed or ended out can relay nothing more, even with a
credential that has not yet expired. Revocation also tells the others (``peer_left``), whose
pages close their connection to that peer, so media stops at once on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meetsvc.core.clock import Clock
from meetsvc.core.metrics import Metrics
from meetsvc.core.signing import InvalidToken, KeySet, SigningKeys
from meetsvc.domain.admission import is_inside
from meetsvc.realtime.answers import UNAVAILABLE, UNKNOWN_EVENT, note_unavailable
from meetsvc.realtime.rooms import VIDEO_NS, video_peer_room, video_room
from meetsvc.services.waiting_room import HostCaller, WaitingRoom
from meetsvc.storage.availability import unavailable_dependency
from meetsvc.video.builtin import AUDIENCE

HOST_PREFIX = "host-"


class _Signal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str = Field(min_length=1, max_length=60)
    data: dict[str, Any]


class VideoNamespace(socketio.AsyncNamespace):
    def __init__(
        self,
        room: WaitingRoom,
        keys: SigningKeys | KeySet,
        *,
        issuer: str,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(VIDEO_NS)
        self._metrics = metrics
        self._room = room
        self._keys = keys
        self._issuer = issuer
        self._clock = clock
        #: Told when an entry's video socket comes (+1) or goes (-1): the hosts see "in the
        #: meeting" from the sockets, not from what a page says.
        self.on_presence: Callable[[str, int], Awaitable[None]] | None = None

    async def _allowed(self, peer_id: str, meeting_id: str) -> bool:
        """Whether this peer may be in the meeting's media *now* (checked on every message)."""
        if peer_id.startswith(HOST_PREFIX):
            # Ended means ended: a host's credential opens nothing once the meeting is over.
            return await self._room.host_may_join(HostCaller(peer_id[len(HOST_PREFIX) :]), meeting_id)
        state = await self._room.entry_state(peer_id, meeting_id)
        return state is not None and is_inside(state)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Dispatch; a database that is away refuses a connection, or answers an event, with
        ``unavailable`` rather than leaving the page without an answer."""
        try:
            return await self._dispatch(event, *args)
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except Exception as exc:
            dependency = unavailable_dependency(exc)
            if dependency is None:
                raise
            note_unavailable(self.namespace, self._metrics, dependency, exc, event)
            if event == "connect":
                raise socketio.exceptions.ConnectionRefusedError(UNAVAILABLE) from None
            return {"ok": False, "error": UNAVAILABLE}

    async def _dispatch(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            sid = args[0]
            # A client may send an ordinary event *named* "connect" or "disconnect"; only the
            # server's own handshake and teardown pass the connection's environ object.
            if (
                event == "connect"
                and len(args) >= 2
                and args[1] is not None
                and args[1] is self.server.get_environ(sid, namespace=self.namespace)
            ):
                return await self._connect(sid, args[2] if len(args) > 2 else None)
            if event == "disconnect" and not self.server.manager.is_connected(sid, self.namespace):
                # A real teardown: the manager has already marked the socket as leaving.
                return await self._gone(sid)
            await self.emit("error", {"ok": False, "error": UNKNOWN_EVENT}, to=sid)
            return {"ok": False, "error": UNKNOWN_EVENT}
        sid, data = args[0], args[1:]
        if event == "signal" and len(data) == 1:
            return await self._signal(sid, data[0])
        if event == "leave":
            return await self._gone(sid, disconnect=True)
        await self.emit("error", {"ok": False, "error": UNKNOWN_EVENT}, to=sid)
        return {"ok": False, "error": UNKNOWN_EVENT}

    async def _connect(self, sid: str, auth: Any) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or len(token) > 4096:
            raise socketio.exceptions.ConnectionRefusedError("invalid-credential")
        try:
            claims = self._keys.verify(token, audience=AUDIENCE, issuer=self._issuer, now=self._clock())
        except InvalidToken:
            raise socketio.exceptions.ConnectionRefusedError("invalid-credential") from None
        peer_id, meeting_id, name = claims.get("sub"), claims.get("mid"), claims.get("name", "")
        if not isinstance(peer_id, str) or not isinstance(meeting_id, str):
            raise socketio.exceptions.ConnectionRefusedError("invalid-credential")
        if not await self._allowed(peer_id, meeting_id):
            raise socketio.exceptions.ConnectionRefusedError("not-admitted")
        await self.save_session(sid, {"peer_id": peer_id, "meeting_id": meeting_id, "name": str(name)[:200]})
        await self.enter_room(sid, video_room(meeting_id))
        await self.enter_room(sid, video_peer_room(peer_id))
        await self.emit(
            "peer_joined", {"peer_id": peer_id, "name": str(name)[:200]}, room=video_room(meeting_id), skip_sid=sid
        )
        if not peer_id.startswith(HOST_PREFIX) and self.on_presence is not None:
            await self.on_presence(peer_id, 1)
        return True

    async def _signal(self, sid: str, raw: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        try:
            signal = _Signal.model_validate_json(json.dumps(raw))
        except (ValidationError, TypeError, ValueError):
            return {"ok": False, "error": "invalid"}
        if not await self._allowed(session["peer_id"], session["meeting_id"]):
            await self.revoke(session["peer_id"], session["meeting_id"])
            return {"ok": False, "error": "not-admitted"}
        if not await self._allowed(signal.to, session["meeting_id"]):
            return {"ok": False, "error": "no-such-peer"}
        await self.emit(
            "signal",
            {"from": session["peer_id"], "name": session["name"], "data": signal.data},
            room=video_peer_room(signal.to),
        )
        return {"ok": True}

    async def _gone(self, sid: str, *, disconnect: bool = False) -> dict[str, Any]:
        session = await self.get_session(sid)
        if session and not session.get("gone"):
            session["gone"] = True
            await self.save_session(sid, session)
            await self.emit(
                "peer_left", {"peer_id": session["peer_id"]}, room=video_room(session["meeting_id"]), skip_sid=sid
            )
            if not session["peer_id"].startswith(HOST_PREFIX) and self.on_presence is not None:
                await self.on_presence(session["peer_id"], -1)
        if disconnect:
            await self.disconnect(sid)
        return {"ok": True}

    async def _disconnect_room(self, room: str) -> None:
        """Every socket of this process in the room leaves the media and is disconnected by the
        server: a page that ignores ``revoked`` hears nothing more (other processes' sockets
        leave the room, and every message they send is refused, see :meth:`_allowed`)."""
        for sid, _ in list(self.server.manager.get_participants(self.namespace, room)):
            await self._gone(sid)
            await self.disconnect(sid)
        await self.close_room(room)

    async def revoke(self, peer_id: str, meeting_id: str) -> None:
        """Cut a peer out of the meeting's media: tell it, tell the others, disconnect it."""
        await self.emit("revoked", {}, room=video_peer_room(peer_id))
        await self.emit("peer_left", {"peer_id": peer_id}, room=video_room(meeting_id))
        await self._disconnect_room(video_peer_room(peer_id))

    async def end(self, meeting_id: str) -> None:
        """The meeting ended: everyone, hosts too, leaves its media."""
        await self.emit("revoked", {}, room=video_room(meeting_id))
        await self._disconnect_room(video_room(meeting_id))
