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

import logging
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as engineio_aiohttp

from meetsvc.realtime.rooms import HOST_NS, PARTICIPANT_NS, host_room, lobby_room, participant_room
from meetsvc.services.handover import Handover
from meetsvc.services.waiting_room import Notices
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


class _UncompressedWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
    """engine.io's aiohttp websocket, refusing permessage-deflate (see the module docstring)."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def create_server(
    *,
    allowed_origins: list[str],
    max_message_bytes: int,
    compression: bool,
    redis_url: str | None = None,
    redis_channel: str = "meetsvc",
) -> socketio.AsyncServer:
    manager: socketio.AsyncManager
    manager = socketio.AsyncRedisManager(redis_url, channel=redis_channel) if redis_url else socketio.AsyncManager()
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=allowed_origins,
        max_http_buffer_size=max_message_bytes,
        http_compression=compression,
        ping_interval=20,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    if not compression:
        server.eio._async = {**server.eio._async, "websocket": _UncompressedWebSocket}
    return server


class Courier:
    """Delivers a :class:`Notices` to the right rooms, on whichever process they live, and
    hands admitted participants to the video backend (and takes them back)."""

    def __init__(
        self, server: socketio.AsyncServer, time_zone: str, handover: Handover, video: VideoRevoker | None
    ) -> None:
        self._server = server
        self._zone = ZoneInfo(time_zone)
        self._handover = handover
        self._video = video

    @staticmethod
    def _credential_payload(credential: JoinCredential) -> dict[str, Any]:
        return {**credential.as_payload(), "open_now": True}

    async def host_credential(self, meeting_id: str, staff_id: str) -> dict[str, Any]:
        return self._credential_payload(await self._handover.host(meeting_id, staff_id))

    async def waiting_room_opened(self, meeting_id: str) -> None:
        """Pages that arrived early ask to come in (with their own ticket, on their own process)."""
        await self._server.emit("opened", {}, room=lobby_room(meeting_id), namespace=PARTICIPANT_NS)

    async def deliver(self, notices: Notices) -> None:
        meeting_id = notices.meeting_id
        for participant_id, view in notices.participants.items():
            await self._server.emit(
                "state", view.as_payload(self._zone), room=participant_room(participant_id), namespace=PARTICIPANT_NS
            )
        for entry in notices.hosts.values():
            await self._server.emit("participant", entry.as_payload(), room=host_room(meeting_id), namespace=HOST_NS)
        if notices.meeting is not None:
            await self._server.emit(
                "meeting", notices.meeting.as_payload(), room=host_room(meeting_id), namespace=HOST_NS
            )
        for participant_id in notices.left_inside:
            await self._handover.revoke(meeting_id, participant_id)
            if self._video is not None:
                await self._video.revoke(participant_id, meeting_id)
        if notices.meeting is not None and notices.meeting.status == "ended":
            await self._handover.end(meeting_id)
            if self._video is not None:
                await self._video.end(meeting_id)
        for participant_id in notices.needs_credential:
            try:
                credential = await self._handover.admit(meeting_id, participant_id)
            except VideoBackendError as exc:
                log.warning("video credential failed: %s", exc.__class__.__name__)
                continue
            # To this participant's own room only: nobody else ever sees their credential.
            await self._server.emit(
                "credential",
                self._credential_payload(credential),
                room=participant_room(participant_id),
                namespace=PARTICIPANT_NS,
            )
        if notices.meeting is not None and notices.meeting.status == "ended":
            # The meeting is over: these sockets hear nothing more of it. A denied or removed
            # participant's socket stays in its own room, where only its own state travels, so
            # that a host who changes their mind and admits them after all reaches the page.
            for participant_id in notices.closed:
                await self._server.close_room(participant_room(participant_id), namespace=PARTICIPANT_NS)
