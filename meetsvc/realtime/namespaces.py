"""The two audiences of the waiting room, each a socket.io namespace with thin handlers.

``/participant``: authenticated by a lobby ticket; the socket joins only its own private room
and can only leave (or, once admitted, report that it joined the video). ``/host``: authenticated
by a signed-in staff session cookie and the meeting id, checked against the meeting's hosts on
connect *and* on every event; every action is a call to :class:`meetsvc.services.waiting_room.WaitingRoom`.

Every event is dispatched here (``trigger_event``) rather than by method name, so an unknown
event, a malformed payload or a payload with extra arguments gets an ``error`` event and
changes nothing. Every event is answered: a database that is away gets ``unavailable`` (the page
tries again), anything unexpected ``internal-error``; a connection attempt is refused with the
same codes instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import socketio
from pydantic import BaseModel, ValidationError

from meetsvc.core.clock import Clock
from meetsvc.core.metrics import Metrics
from meetsvc.core.signing import InvalidToken
from meetsvc.domain.errors import DomainError
from meetsvc.realtime import payloads
from meetsvc.realtime.answers import (
    INTERNAL_DETAIL,
    INTERNAL_ERROR,
    UNAVAILABLE,
    UNAVAILABLE_DETAIL,
    UNKNOWN_EVENT,
    error as _error,
    note_unavailable,
)
from meetsvc.realtime.notes import NoteText, list_notes, send_note
from meetsvc.realtime.rooms import HOST_NS, PARTICIPANT_NS, attendance_room, host_room, lobby_room, staff_room
from meetsvc.realtime.server import Courier
from meetsvc.realtime.tickets import LobbyTickets
from meetsvc.services.notes import WaitingNotes
from meetsvc.services.sessions import COOKIE_NAME, BrowserSessions
from meetsvc.services.waiting_room import HostCaller, LobbyPass, NotAHost, Notices, WaitingRoom, WaitingRoomClosed
from meetsvc.storage.availability import unavailable_dependency

log = logging.getLogger(__name__)

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]
T = TypeVar("T")


async def deliver_decided(courier: Courier, notices: Notices) -> None:
    """Deliver the notices of a decision already committed.

    The decision stands whatever happens here, so a failure is logged, not answered as an error
    (the caller would retry a decision that was made). What needs the database or the video
    backend the courier tries again until it is done; after a Redis outage the fan-out watch
    catches pages up (:mod:`meetsvc.realtime.fanout`).
    """
    try:
        await courier.deliver(notices)
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is None:
            log.exception("notices of a committed decision not delivered")
        else:
            log.warning(
                "notices of a committed decision not delivered: %s unavailable (%s)", dependency, exc.__class__.__name__
            )


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return unquote(value)
    return None


class _Dispatching(socketio.AsyncNamespace):
    """Routes events through a table of (payload model, handler); everything else is refused."""

    events: dict[str, tuple[type[BaseModel], Handler]]

    def __init__(self, namespace: str, metrics: Metrics | None) -> None:
        super().__init__(namespace)
        self._metrics = metrics

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            sid, environ, auth = ([*list(args), None, None, None])[:3]
            # A client may send an ordinary event *named* "connect", with arguments of its own
            # choosing; only the server's handshake passes the connection's own environ object.
            if environ is not None and environ is self.server.get_environ(sid, namespace=self.namespace):
                return await self._connect_answered(sid, environ, auth)
            return await self._refuse(sid, UNKNOWN_EVENT, "no such event")
        if event == "disconnect":
            # Likewise: in a real teardown the manager has already marked the socket as leaving.
            if self.server.manager.is_connected(args[0], self.namespace):
                return await self._refuse(args[0], UNKNOWN_EVENT, "no such event")
            try:
                await self.gone(args[0])
            except Exception as exc:
                log.warning("a socket's going not recorded: %s", unavailable_dependency(exc) or exc.__class__.__name__)
            return None
        sid, data = args[0], args[1:]
        route = self.events.get(event)
        if route is None:
            await self.emit("error", _error(UNKNOWN_EVENT, "no such event"), to=sid)
            return _error(UNKNOWN_EVENT, "no such event")
        if len(data) > 1:
            return await self._refuse(sid, "malformed", "send one object")
        model, handler = route
        raw = data[0] if data else {}
        if not isinstance(raw, dict):
            return await self._refuse(sid, "malformed", "send one JSON object")
        try:
            # The payload arrived as JSON; validating it as JSON keeps strict mode meaningful
            # (no coercion of "5" to 5) while enum values may be given as their strings.
            payload = model.model_validate_json(json.dumps(raw))
        except ValidationError as exc:
            return await self._refuse(sid, "invalid", "; ".join(str(e["loc"]) + ": " + e["msg"] for e in exc.errors()))
        try:
            return await handler(sid, payload)
        except DomainError as exc:
            return _error(exc.code, exc.detail)
        except Exception as exc:
            dependency = unavailable_dependency(exc)
            if dependency is None:
                log.exception("unexpected error in socket event %s", event)
                return _error(INTERNAL_ERROR, INTERNAL_DETAIL)
            note_unavailable(self.namespace, self._metrics, dependency, exc, event)
            return _error(UNAVAILABLE, UNAVAILABLE_DETAIL)

    async def _connect_answered(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        """Connect, or refuse with a reason: never leave the page waiting for an answer."""
        try:
            return await self.connect(sid, environ, auth)
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except Exception as exc:
            dependency = unavailable_dependency(exc)
            if dependency is None:
                log.exception("unexpected error connecting to %s", self.namespace)
                raise socketio.exceptions.ConnectionRefusedError(INTERNAL_ERROR) from None
            note_unavailable(self.namespace, self._metrics, dependency, exc, "connect")
            raise socketio.exceptions.ConnectionRefusedError(UNAVAILABLE) from None

    async def _refuse(self, sid: str, code: str, detail: str) -> dict[str, Any]:
        error = _error(code, detail)
        await self.emit("error", error, to=sid)
        return error

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        """Each audience decides who may connect; refusing is the safe default."""
        raise socketio.exceptions.ConnectionRefusedError("refused")

    async def gone(self, sid: str) -> None:
        """A socket went (its page closed, its network dropped, or the server closed it)."""


class ParticipantNamespace(_Dispatching):
    def __init__(
        self,
        room: WaitingRoom,
        tickets: LobbyTickets,
        courier: Courier,
        clock: Clock,
        *,
        notes: WaitingNotes,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(PARTICIPANT_NS, metrics)
        self._room = room
        self._tickets = tickets
        self._courier = courier
        self._clock = clock
        self._notes = notes
        self.events = {
            "leave": (payloads.Empty, self._leave),
            "joined_video": (payloads.Empty, self._joined),
            "arrive": (payloads.Empty, self._arrive),
            "note": (NoteText, self._note),
        }

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        token = auth.get("ticket") if isinstance(auth, dict) else None
        try:
            lobby = self._tickets.verify(token, now=self._clock())
        except InvalidToken as exc:
            raise socketio.exceptions.ConnectionRefusedError("invalid-ticket") from exc
        try:
            notices = await self._room.arrive(lobby)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.code) from None
        attendance_id = await self._room.entry_id(lobby)
        if attendance_id is None:
            raise socketio.exceptions.ConnectionRefusedError("identify-first")
        if attendance_id in notices.ended:
            # The session ended (link revoked or reissued, removed, cancelled, ended, replaced):
            # its ticket opens nothing, and the page learns why.
            raise socketio.exceptions.ConnectionRefusedError("ended", {"reason": notices.ended[attendance_id]})
        if attendance_id in notices.closed:
            # Removed or denied: the old ticket opens nothing until a host decides again.
            raise socketio.exceptions.ConnectionRefusedError("not-admitted")
        await self.save_session(sid, {"lobby": lobby, "attendance_id": attendance_id})
        await self.enter_room(sid, attendance_room(attendance_id))
        await self.enter_room(sid, lobby_room(lobby.meeting_id))
        await deliver_decided(self._courier, notices)
        await deliver_decided(self._courier, await self._room.presence_changed(attendance_id, kind="lobby", by=1))
        return True

    async def gone(self, sid: str) -> None:
        saved = await self.get_session(sid)
        if saved and saved.get("attendance_id"):
            notices = await self._room.presence_changed(saved["attendance_id"], kind="lobby", by=-1)
            if notices.meeting_id:
                await deliver_decided(self._courier, notices)

    async def _lobby(self, sid: str) -> LobbyPass:
        return (await self.get_session(sid))["lobby"]

    async def _leave(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        await deliver_decided(self._courier, await self._room.leave(await self._lobby(sid)))
        return {"ok": True}

    async def _arrive(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        """Arrive again on the same connection (the waiting room opened after the page came):
        the same operation as connecting, so a participant already inside keeps their place."""
        await deliver_decided(self._courier, await self._room.arrive(await self._lobby(sid)))
        return {"ok": True}

    async def _joined(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        await deliver_decided(self._courier, await self._room.join(await self._lobby(sid)))
        return {"ok": True}

    async def _note(self, sid: str, p: NoteText) -> dict[str, Any]:
        """A note to the hosts (:mod:`meetsvc.realtime.notes`), at once to every host console."""
        lobby = await self._lobby(sid)
        note = await send_note(self._notes, lobby, p)
        await self.server.emit("note", note.as_payload(), room=host_room(lobby.meeting_id), namespace=HOST_NS)
        return {"ok": True}


class HostNamespace(_Dispatching):
    def __init__(
        self,
        room: WaitingRoom,
        sessions: BrowserSessions,
        courier: Courier,
        *,
        notes: WaitingNotes,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(HOST_NS, metrics)
        self._room = room
        self._sessions = sessions
        self._courier = courier
        self._notes = notes
        self.events = {
            "admit": (payloads.OneParticipant, self._admit),
            "admit_all_matching": (payloads.Empty, self._admit_all),
            "deny": (payloads.Deny, self._deny),
            "message": (payloads.Message, self._message),
            "send_back": (payloads.SendBack, self._send_back),
            "remove": (payloads.OneParticipant, self._remove),
            "configure": (payloads.Configure, self._configure),
            "end": (payloads.Empty, self._end),
            "list": (payloads.Empty, self._list),
            "join_video": (payloads.Empty, self._join_video),
            "notes": (payloads.Empty, self._list_notes),
        }

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        meeting_id = auth.get("meeting_id") if isinstance(auth, dict) else None
        if not isinstance(meeting_id, str) or len(meeting_id) != 36:
            raise socketio.exceptions.ConnectionRefusedError("meeting-required")
        session = await self._sessions.resume(_cookie(environ, COOKIE_NAME))
        if session is None or not session.signed_in_staff or session.staff_id is None:
            raise socketio.exceptions.ConnectionRefusedError("sign-in-required")
        host = HostCaller(session.staff_id)
        if not await self._room.is_host(host, meeting_id):
            raise socketio.exceptions.ConnectionRefusedError("not-found")
        await self.save_session(sid, {"host": host, "meeting_id": meeting_id, "session_id": session.id})
        await self.enter_room(sid, host_room(meeting_id))
        await self.enter_room(sid, staff_room(session.staff_id))
        return True

    async def sign_out(self, staff_id: str) -> None:
        """Close a staff member's consoles once their sessions were ended (they were deactivated).

        Every console hears ``signed_out`` (through Redis, on whichever process it lives) and
        stops; the sockets on this process are closed here too, after the notice (a socket's
        packets leave in order). A console on another process is closed by its page, and in any
        case refused at its next event, since its session has ended."""
        room = staff_room(staff_id)
        await self.emit("signed_out", {}, room=room)
        for sid, _ in list(self.server.manager.get_participants(self.namespace, room)):
            await self.disconnect(sid)

    async def _caller(self, sid: str, *, checked_by_call: bool = False) -> tuple[HostCaller, str]:
        """The host and meeting of this socket, re-checked: a host removed meanwhile loses access.

        ``checked_by_call``: the waiting room's own call checks that the caller still leads the
        meeting, in the statement that locks it (:class:`NotAHost` when not, see :meth:`_hosting`),
        so that check is not made twice here."""
        saved = await self.get_session(sid)
        host, meeting_id = saved["host"], saved["meeting_id"]
        if not await self._sessions.alive(saved["session_id"]) or (
            not checked_by_call and not await self._room.is_host(host, meeting_id)
        ):
            self._close_soon(sid)
            raise _NotHost()
        return host, meeting_id

    async def _deciding(self, sid: str) -> tuple[HostCaller, str]:
        """The host and meeting of this socket for a decision, which checks both itself: that the
        caller still leads the meeting and that their session is live, in the statement that
        locks the meeting (:class:`NotAHost` when either is over, see :meth:`_hosting`)."""
        saved = await self.get_session(sid)
        staff_id = saved["host"].staff_id
        return HostCaller(staff_id, self._sessions.check(saved["session_id"], staff_id)), saved["meeting_id"]

    def _close_soon(self, sid: str) -> None:
        """Answer the event first (the error ack), then close the socket."""
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(self.disconnect(sid)))

    async def _hosting(self, sid: str, call: Awaitable[T]) -> T:
        """A call of the waiting room that checks the host itself: one who no longer leads the
        meeting is answered ``not-found`` and their socket closed, as :meth:`_caller` does."""
        try:
            return await call
        except NotAHost:
            self._close_soon(sid)
            raise _NotHost() from None

    async def _done(self, notices: Notices) -> dict[str, Any]:
        await deliver_decided(self._courier, notices)
        return {"ok": True}

    async def _decide(
        self, sid: str, meeting_id: str, participant_ids: list[str] | None, decision: Awaitable[Notices]
    ) -> Notices:
        """Make a decision; if the database went away meanwhile it may still have committed with
        only its answer lost, so the people concerned are told what the database holds once it
        answers (the host gets ``unavailable`` as before, and a retry finds the decision made)."""
        try:
            return await self._hosting(sid, decision)
        except Exception as exc:
            if unavailable_dependency(exc) == "database":
                self._courier.reconcile(meeting_id, participant_ids)
            raise

    async def _list(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        host, meeting_id = await self._caller(sid, checked_by_call=True)
        settings, entries = await self._hosting(sid, self._room.waiting_list(host, meeting_id))
        return {"ok": True, "meeting": settings.as_payload(), "participants": [e.as_payload() for e in entries]}

    async def _admit(self, sid: str, p: payloads.OneParticipant) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        one = [p.participant_id]
        decision = self._room.admit(host, meeting_id, p.participant_id, p.attendance_id)
        return await self._done(await self._decide(sid, meeting_id, one, decision))

    async def _admit_all(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        notices = await self._decide(sid, meeting_id, None, self._room.admit_all_matching(host, meeting_id))
        await deliver_decided(self._courier, notices)
        admitted = {notices.hosts[a].participant_id for a in notices.needs_credential if a in notices.hosts}
        return {"ok": True, "admitted": sorted(admitted), "admitted_entries": sorted(notices.needs_credential)}

    async def _deny(self, sid: str, p: payloads.Deny) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        decision = self._room.deny(host, meeting_id, p.participant_id, p.message, p.attendance_id)
        return await self._done(await self._decide(sid, meeting_id, [p.participant_id], decision))

    async def _message(self, sid: str, p: payloads.Message) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        return await self._done(
            await self._hosting(sid, self._room.send_message(host, meeting_id, p.participant_id, p.text))
        )

    async def _send_back(self, sid: str, p: payloads.SendBack) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        decision = self._room.send_back(host, meeting_id, p.participant_id, p.attendance_id, p.message)
        return await self._done(await self._decide(sid, meeting_id, [p.participant_id], decision))

    async def _remove(self, sid: str, p: payloads.OneParticipant) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        decision = self._room.remove(host, meeting_id, p.participant_id, p.attendance_id)
        return await self._done(await self._decide(sid, meeting_id, [p.participant_id], decision))

    async def _configure(self, sid: str, p: payloads.Configure) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        configured = self._room.configure(
            host,
            meeting_id,
            locked=p.locked,
            admission_policy=p.admission_policy,
            show_queue_position=p.show_queue_position,
        )
        return await self._done(await self._hosting(sid, configured))

    async def _join_video(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        """A host's own credential (moderator), to this socket only."""
        host, meeting_id = await self._caller(sid)
        if not await self._room.host_may_join(host, meeting_id):
            raise WaitingRoomClosed("the meeting has ended")
        credential = await self._courier.host_credential(meeting_id, host.staff_id)
        await self.emit("credential", credential, to=sid)
        return {"ok": True}

    async def _list_notes(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        host, meeting_id = await self._caller(sid)
        return await list_notes(self._notes, host, meeting_id)

    async def _end(self, sid: str, _: payloads.Empty) -> dict[str, Any]:
        host, meeting_id = await self._deciding(sid)
        return await self._done(await self._decide(sid, meeting_id, None, self._room.end(host, meeting_id)))


class _NotHost(DomainError):
    code = "not-found"
    status = 404
    title = "No such meeting."
