"""Watching the waiting room's fan-out through Redis, and catching pages up when it is back.

With ``realtime.redis_url`` set, a notice for a page connected to another process travels
through Redis (python-socketio's Redis manager). While Redis is away such notices are lost:
pub/sub keeps nothing. The decisions themselves are safe in the database, the manager delivers
to this process's own sockets and only logs what it could not publish, and its listener
reconnects by itself; but nobody would tell a page what it missed until it reconnected.

:class:`FanoutWatch` does. It pings Redis and looks at the manager's listener; after an outage,
once both are back, it sends every participant page connected *here* its own state from the
database (and a video credential to anyone let in meanwhile, as a reconnect would), and every
host console connected here its list. Each process does this for its own sockets, so after an
outage every page is up to date without reloading and nothing is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import socketio

from meetsvc.core.metrics import Metrics
from meetsvc.domain.errors import DomainError
from meetsvc.realtime.rooms import HOST_NS, PARTICIPANT_NS
from meetsvc.realtime.server import Courier
from meetsvc.services.waiting_room import LobbyPass, Notices, WaitingRoom

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 1


class FanoutWatch:
    """One loop per process: notices Redis (or this process's listener) going away and coming
    back, and then catches this process's pages up from the database."""

    def __init__(
        self,
        server: socketio.AsyncServer,
        room: WaitingRoom,
        courier: Courier,
        redis_url: str,
        *,
        metrics: Metrics | None = None,
        interval: float = 1.0,
    ) -> None:
        self._server = server
        self._room = room
        self._courier = courier
        self._metrics = metrics
        self._interval = interval
        self._client = aioredis.Redis.from_url(
            redis_url, socket_connect_timeout=PING_TIMEOUT_SECONDS, socket_timeout=PING_TIMEOUT_SECONDS, retry=None
        )
        self._seen_listening = False
        self._losses = 0
        self.outage = False

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a bug here must not end the watch for the process's lifetime
                log.exception("fan-out watch failed a check")
            await asyncio.sleep(self._interval)

    async def check(self) -> None:
        """One look: note an outage, or end one by catching the pages up."""
        healthy = await self._redis_answers() and self._listening()
        losses = getattr(self._server.manager, "losses", 0)
        lost, self._losses = losses != self._losses, losses
        if not healthy:
            if not self.outage:
                log.warning("redis unavailable: waiting-room notices to other processes are not delivered")
                if self._metrics is not None:
                    self._metrics.dependency_failures.labels("redis", "fanout").inc()
            self.outage = True
            return
        if lost:
            # Notices were lost since the last look, perhaps in a blip too short for a ping to
            # see: catch the pages up as after any outage.
            self.outage = True
        if not self.outage:
            return
        try:
            pages, consoles = await self.catch_up()
        except Exception as exc:  # the database may be away as well: try again on the next look
            log.warning("catching pages up after a redis outage failed: %s", exc.__class__.__name__)
            return
        self.outage = False
        log.info("notices may have been missed: caught up %d participant pages and %d host consoles", pages, consoles)

    async def _redis_answers(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS * 2):
                return bool(await self._client.ping())
        except Exception:  # refused, reset, timed out: not answering
            return False

    def _listening(self) -> bool:
        """Whether this process's socket.io listener is subscribed on a live connection.

        Our manager (:class:`meetsvc.realtime.relay.RelayManager`) says so itself, from the
        moment its subscription is confirmed; otherwise python-socketio's keeps its pub/sub
        object (redis-py's ``PubSub``) in ``manager.pubsub`` and replaces it when it reconnects.
        Before any socket connected here the manager has not started listening yet, which is no
        outage; and should a later version keep it elsewhere, this never sees it listening and
        the watch goes by the ping alone.
        """
        said = getattr(self._server.manager, "listening", None)
        if isinstance(said, bool):
            self._seen_listening = self._seen_listening or said
            return said or not self._seen_listening
        pubsub = getattr(self._server.manager, "pubsub", None)
        connection = getattr(pubsub, "connection", None)
        listening = bool(
            getattr(pubsub, "subscribed", False)
            and connection is not None
            and getattr(connection, "is_connected", False)
        )
        if listening:
            self._seen_listening = True
        return listening or not self._seen_listening

    async def catch_up(self) -> tuple[int, int]:
        """Send each page connected to this process what it would get by reconnecting."""
        pages = 0
        done: set[str] = set()
        for sid, _ in list(self._server.manager.get_participants(PARTICIPANT_NS, None)):
            lobby = await self._saved(sid, PARTICIPANT_NS, "lobby")
            if not isinstance(lobby, LobbyPass) or lobby.participant_id in done:
                continue
            done.add(lobby.participant_id)
            notices = await self._participant_notices(lobby)
            if notices is not None:
                await self._courier.deliver(notices)
                pages += 1
        consoles = 0
        for sid, _ in list(self._server.manager.get_participants(HOST_NS, None)):
            host = await self._saved(sid, HOST_NS, "host")
            meeting_id = await self._saved(sid, HOST_NS, "meeting_id")
            if host is None or meeting_id is None:
                continue
            try:
                settings, entries = await self._room.waiting_list(host, meeting_id)
            except DomainError:
                continue
            # To this console only: another process's consoles are caught up by that process.
            await self._server.emit("meeting", settings.as_payload(), to=sid, namespace=HOST_NS)
            for entry in entries:
                await self._server.emit("participant", entry.as_payload(), to=sid, namespace=HOST_NS)
            consoles += 1
        return pages, consoles

    async def _saved(self, sid: str, namespace: str, key: str) -> Any:
        try:
            return (await self._server.get_session(sid, namespace=namespace)).get(key)
        except KeyError:  # disconnected meanwhile
            return None

    async def _participant_notices(self, lobby: LobbyPass) -> Notices | None:
        """The same notices as a reconnect (:meth:`WaitingRoom.arrive`), without arriving again;
        None for someone removed from the meeting meanwhile (their room is closed already)."""
        try:
            notices = await self._room.current(lobby.meeting_id, [lobby.participant_id])
        except DomainError:  # the meeting is gone
            return None
        notices.hosts.clear()  # consoles are caught up by the processes they are connected to
        return notices if notices.participants else None

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.asynccontextmanager
async def watch_fanout(
    server: socketio.AsyncServer,
    room: WaitingRoom,
    courier: Courier,
    redis_url: str | None,
    *,
    metrics: Metrics | None = None,
) -> AsyncIterator[None]:
    """Run the watch while the application runs (only with Redis), and stop the socket.io
    manager's Redis listener with the application, which python-socketio leaves running."""
    if not redis_url:
        yield
        return
    watch = FanoutWatch(server, room, courier, redis_url, metrics=metrics)
    task = asyncio.create_task(watch.run(), name="meetsvc fan-out watch")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await watch.aclose()
        await _stop_listening(server.manager)


async def _stop_listening(manager: Any) -> None:
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Future) and not listener.done():
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    close = getattr(manager, "aclose", None)
    if close is not None:  # ours: both its clients, the listener's and the publisher's
        with contextlib.suppress(Exception):
            await close()
        return
    client = getattr(manager, "redis", None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.aclose()
