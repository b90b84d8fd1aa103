"""The socket.io server: its configuration, and delivery of the waiting room's notices.

Decisions about compression and sizes are made here, on purpose:

* Messages are tiny (a state, a name), so per-message deflate buys nothing and costs a
  compressor per connection (~100 KiB each). It is refused unless configured
  (``realtime.websocket_compression``); ``bench/admit_latency.py`` shows both figures.
* Every packet is bounded (``realtime.max_message_bytes``); a larger one closes the connection.
* Only our own origin may open a socket (``cors_allowed_origins``).
* With several processes the notices travel through Redis on ``realtime.redis_channel``: two
  deployments (or two test runs) sharing one Redis each keep to a channel of their own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import socketio

from meetsvc.core.logs import library_logger, outside_request
from meetsvc.realtime.bounds import BoundedServer, ConnectionBounds
from meetsvc.realtime.engine import LeanEngineServer, UncompressedWebSocket, WebSocket, translate_request
from meetsvc.realtime.relay import RelayManager
from meetsvc.realtime.rooms import HOST_NS, PARTICIPANT_NS, attendance_room, host_room, lobby_room
from meetsvc.services.handover import Handover
from meetsvc.services.waiting_room import Notices, WaitingRoom
from meetsvc.storage.availability import unavailable_dependency
from meetsvc.storage.queries.waiting_room import MeetingTimes
from meetsvc.video.base import JoinCredential, VideoBackendError

log = logging.getLogger(__name__)


class VideoRevoker(Protocol):
    """What the courier needs of a video backend's own signalling (the built-in backend's
    ``/video`` namespace): cutting a peer out of a meeting's media at once, or everyone.

    A Protocol rather than the namespace itself, so the courier knows nothing of how the media
    travels, and a backend that cannot revoke (or has no signalling here) is simply ``None``.
    """

    async def revoke(self, peer_id: str, meeting_id: str) -> None: ...

    async def end(self, meeting_id: str) -> None: ...


async def disconnect_room(server: socketio.AsyncServer, room: str, namespace: str) -> None:
    """Disconnect every socket of this process in the room, whatever its page does, and close
    the room everywhere (other processes' sockets in it hear nothing more)."""
    for sid, _ in list(server.manager.get_participants(namespace, room)):
        await server.disconnect(sid, namespace=namespace)
    await server.close_room(room, namespace=namespace)


class SocketServer(BoundedServer):
    """The service's socket.io server, on engine.io as :mod:`meetsvc.realtime.engine` runs it."""

    def _engineio_server_class(self) -> type[LeanEngineServer]:
        return LeanEngineServer


def create_server(
    *,
    allowed_origins: list[str],
    max_message_bytes: int,
    compression: bool,
    redis_url: str | None = None,
    redis_channel: str = "meetsvc",
    bounds: ConnectionBounds | None = None,
) -> BoundedServer:
    manager: socketio.AsyncManager
    manager = RelayManager(redis_url, channel=redis_channel) if redis_url else socketio.AsyncManager()
    server = SocketServer(
        bounds=bounds or ConnectionBounds(unjoined_seconds=10, per_address=200),
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=allowed_origins,
        max_http_buffer_size=max_message_bytes,
        http_compression=compression,
        # Heartbeats, chosen for phones: a phone that locks its screen suspends the page, which
        # then answers no ping until it wakes. engine.io closes a socket whose pong is later than
        # ping_timeout after the ping, and the page then reconnects and arrives again (a round of
        # reads and notices for the hosts). 45 s lets a phone sleep through most short pauses
        # without that; a socket that is really gone is still noticed within 75 s (interval plus
        # timeout), as nginx's proxy_read_timeout expects. Pinging every 30 s instead of 20 s
        # also cuts the heartbeats' CPU by a third at thousands of people waiting.
        ping_interval=30,
        ping_timeout=45,
        # Loggers given, not flags: with a flag each library adds a plain-text handler of its
        # own, and every record it logs is printed twice (see meetsvc.core.logs).
        logger=library_logger("socketio.server"),
        engineio_logger=library_logger("engineio.server"),
    )
    websocket = WebSocket if compression else UncompressedWebSocket
    server.eio._async = {**server.eio._async, "websocket": websocket, "translate_request": translate_request}
    return server


class Courier:
    """Delivers a :class:`Notices` to the right rooms, on whichever process they live, and
    hands admitted participants to the video backend (and takes them back).

    A decision is committed before its notices travel, so whatever of them cannot be done now
    (the database went away a moment after the commit, the video backend did not answer) is
    tried again in the background, every :data:`RETRY_MAX_SECONDS` at most, until it is done:
    a credential until it reaches the participant or they are no longer inside, a revocation
    or a room's end until it is recorded (for a credential's lifetime at most, after which
    there is nothing left to revoke). A host decision whose answer was lost with the database
    may have committed all the same: :meth:`reconcile` tells the people concerned what the
    database holds once it answers again.
    """

    def __init__(
        self,
        server: socketio.AsyncServer,
        time_zone: str,
        handover: Handover,
        video: VideoRevoker | None,
        room: WaitingRoom,
    ) -> None:
        self._server = server
        self._zone = ZoneInfo(time_zone)
        self._handover = handover
        self._video = video
        self._room = room
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}

    @staticmethod
    def _credential_payload(credential: JoinCredential) -> dict[str, Any]:
        return {**credential.as_payload(), "open_now": True}

    async def host_credential(self, meeting_id: str, staff_id: str) -> dict[str, Any]:
        return self._credential_payload(await self._handover.host(meeting_id, staff_id))

    async def waiting_room_opened(self, meeting_id: str) -> None:
        """Pages that arrived early ask to come in (with their own ticket, on their own process)."""
        await self._server.emit("opened", {}, room=lobby_room(meeting_id), namespace=PARTICIPANT_NS)

    async def deliver(self, notices: Notices) -> None:
        meeting_id, times = notices.meeting_id, notices.times
        for attendance_id, view in notices.participants.items():
            await self._server.emit(
                "state", view.as_payload(self._zone), room=attendance_room(attendance_id), namespace=PARTICIPANT_NS
            )
        for entry in notices.hosts.values():
            await self._server.emit("participant", entry.as_payload(), room=host_room(meeting_id), namespace=HOST_NS)
        if notices.meeting is not None:
            await self._server.emit(
                "meeting", notices.meeting.as_payload(), room=host_room(meeting_id), namespace=HOST_NS
            )
        ended = notices.meeting is not None and notices.meeting.status == "ended"
        for attendance_id in notices.left_inside:
            self._forget(("credential", attendance_id))  # no credential after leaving
            if self._video is not None:  # this process's media first: it needs nothing else
                await self._video.revoke(attendance_id, meeting_id)
            await self._until_done(
                ("revoke", attendance_id),
                functools.partial(self._handover.revoke, meeting_id, attendance_id, times),
                deadline=self._handover.lifetime.total_seconds(),
            )
        if ended:
            if self._video is not None:
                await self._video.end(meeting_id)
            await self._until_done(
                ("end", meeting_id),
                functools.partial(self._handover.end, meeting_id, times),
                deadline=self._handover.lifetime.total_seconds(),
            )
        for attendance_id, credential in notices.credentials.items():
            # Minted and recorded in the decision itself: handed over as it is.
            self._forget(("credential", attendance_id))
            await self._hand_credential(attendance_id, credential)
        if times is not None:
            wanted = {
                a: name
                for a, name in notices.needs_credential.items()
                if a not in notices.ended and a not in notices.credentials
            }
            if wanted:
                await self._hand_over_all(meeting_id, wanted, times)
        if notices.unlocked:
            # Those knocking while it was locked: their pages arrive again by themselves.
            await self.waiting_room_opened(meeting_id)
        # Entries whose session ended are told why, then every socket of theirs is closed.
        for attendance_id, reason in notices.ended.items():
            await self.end_entry(attendance_id, reason, meeting_id)
        if ended:
            # The meeting is over: these sockets hear nothing more of it. A denied or removed
            # entry's socket stays in its own room, where only its own state travels, so that a
            # host who changes their mind and admits them after all reaches the page.
            for attendance_id in notices.closed - set(notices.ended):
                await self._server.close_room(attendance_room(attendance_id), namespace=PARTICIPANT_NS)

    async def end_entry(self, attendance_id: str, reason: str, meeting_id: str) -> None:
        """An entry's browser session ended: its pages are told why, then every socket of it —
        lobby and video — is disconnected by the server, whatever the page does."""
        self._forget(("credential", attendance_id))
        room = attendance_room(attendance_id)
        await self._server.emit("ended", {"reason": reason}, room=room, namespace=PARTICIPANT_NS)
        await disconnect_room(self._server, room, PARTICIPANT_NS)
        if self._video is not None:
            await self._video.revoke(attendance_id, meeting_id)

    async def entries_ended(self, meeting_id: str, ended: dict[str, str]) -> None:
        """Entries ended outside a waiting-room decision (a newer device took over)."""
        for attendance_id, reason in ended.items():
            await self.end_entry(attendance_id, reason, meeting_id)

    async def _hand_over_all(self, meeting_id: str, wanted: dict[str, str], times: MeetingTimes) -> None:
        """Credentials for everyone a decision let in, issued and recorded together; whoever
        could not have theirs now is tried again on their own, as long as they are inside."""
        for attendance_id in wanted:
            self._forget(("credential", attendance_id))
        try:
            issued, failed = await self._handover.admit_all(meeting_id, wanted, times=times)
        except Exception as exc:
            if not _worth_retrying(exc):
                log.exception("credential of a committed decision failed")
                return
            log.warning("credential of a committed decision delayed: %s; trying again", _why(exc))
            issued, later = {}, list(wanted)
        else:
            later = list(failed)
            if later:
                log.warning("%d credentials of a committed decision delayed: video backend; trying again", len(later))
        for attendance_id, credential in issued.items():
            await self._hand_credential(attendance_id, credential)
        for attendance_id in later:
            self._retry_later(
                ("credential", attendance_id),
                functools.partial(self._hand_over, meeting_id, attendance_id, wanted[attendance_id], times),
                functools.partial(self._handover.is_inside, meeting_id, attendance_id),
                None,
            )

    async def _hand_over(self, meeting_id: str, participant_id: str, name: str, times: MeetingTimes) -> None:
        credential = await self._handover.admit(meeting_id, participant_id, display_name=name, times=times)
        await self._hand_credential(participant_id, credential)

    async def _hand_credential(self, attendance_id: str, credential: JoinCredential) -> None:
        # To this entry's own room only: nobody else ever sees their credential, not even
        # another person who opened the same invitation.
        await self._server.emit(
            "credential",
            self._credential_payload(credential),
            room=attendance_room(attendance_id),
            namespace=PARTICIPANT_NS,
        )

    def reconcile(self, meeting_id: str, participant_ids: list[str] | None) -> None:
        """After a decision failed with the database: once it answers, send these participants
        (everyone present when None) and the hosts the state it holds, and a credential to
        whoever is inside. Harmless when the decision did not commit: the state is unchanged."""
        key = ("current", meeting_id if participant_ids is None else ",".join(sorted(participant_ids)))
        self._forget(key)
        self._retry_later(key, functools.partial(self._deliver_current, meeting_id, participant_ids), None, None)

    async def _deliver_current(self, meeting_id: str, participant_ids: list[str] | None) -> None:
        await self.deliver(await self._room.current(meeting_id, participant_ids))

    async def _until_done(
        self,
        key: tuple[str, str],
        work: Callable[[], Awaitable[None]],
        *,
        still_wanted: Callable[[], Awaitable[bool]] | None = None,
        deadline: float | None = None,
    ) -> None:
        """Do ``work`` now; if a dependency is away, again in the background until it is done."""
        self._forget(key)
        try:
            await work()
        except Exception as exc:
            if not _worth_retrying(exc):
                log.exception("%s of a committed decision failed", key[0])
                return
            log.warning("%s of a committed decision delayed: %s; trying again", key[0], _why(exc))
            self._retry_later(key, work, still_wanted, deadline)

    def _retry_later(
        self,
        key: tuple[str, str],
        work: Callable[[], Awaitable[None]],
        still_wanted: Callable[[], Awaitable[bool]] | None,
        deadline: float | None,
    ) -> None:
        task = outside_request(asyncio.create_task, self._retry(key, work, still_wanted, deadline))
        self._pending[key] = task
        task.add_done_callback(lambda done: self._pending.pop(key) if self._pending.get(key) is done else None)

    async def _retry(
        self,
        key: tuple[str, str],
        work: Callable[[], Awaitable[None]],
        still_wanted: Callable[[], Awaitable[bool]] | None,
        deadline: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        give_up = None if deadline is None else loop.time() + deadline
        wait = RETRY_FIRST_SECONDS
        while give_up is None or loop.time() < give_up:
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MAX_SECONDS)
            try:
                if still_wanted is not None and not await still_wanted():
                    return
                await work()
            except Exception as exc:
                if not _worth_retrying(exc):
                    log.exception("%s of a committed decision failed", key[0])
                    return
                log.debug("%s of a committed decision delayed again: %s", key[0], _why(exc))
                continue
            log.info("%s of a committed decision done after a delay", key[0])
            return
        log.warning("%s of a committed decision given up after %.0f s", key[0], deadline)

    def _forget(self, key: tuple[str, str]) -> None:
        task = self._pending.pop(key, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        """Stop trying (at shut-down): pages reconnect elsewhere and get what they are due."""
        tasks = list(self._pending.values())
        self._pending.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


#: The waits between tries of what a committed decision still owes: from the first to the last.
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 1.0


def _worth_retrying(exc: Exception) -> bool:
    """A dependency that is away (the database, a network peer, the video backend) comes back;
    anything else is a bug that trying again will not mend."""
    return isinstance(exc, VideoBackendError) or unavailable_dependency(exc) is not None


def _why(exc: Exception) -> str:
    dependency = unavailable_dependency(exc) or "video backend"
    return f"{dependency} unavailable ({exc.__class__.__name__})"
