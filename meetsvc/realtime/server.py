"""The socket.io server: its configuration, and delivery of the waiting room's notices.

Decisions about compression and sizes are made here, on purpose:

* Messages are tiny (a state, a name), so per-message deflate buys nothing and costs a
  compressor per connection (~100 KiB each). It is refused unless configured
  (``realtime.websocket_compression``); ``bench/admit_latency.py`` shows both figures.
* Every packet is bounded (``realtime.max_message_bytes``); a larger one closes the connection.
* Only our own origin may open a socket (``cors_allowed_origins``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as engineio_aiohttp

from meetsvc.waiting_room import Notices

PARTICIPANT_NS = "/participant"
HOST_NS = "/host"


def participant_room(participant_id: str) -> str:
    return f"p:{participant_id}"


def host_room(meeting_id: str) -> str:
    return f"h:{meeting_id}"


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
) -> socketio.AsyncServer:
    manager: socketio.AsyncManager
    if redis_url:
        manager = socketio.AsyncRedisManager(redis_url)
    else:
        manager = socketio.AsyncManager()
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
    """Delivers a :class:`Notices` to the right rooms, on whichever process they live."""

    def __init__(self, server: socketio.AsyncServer, time_zone: str) -> None:
        self._server = server
        self._zone = ZoneInfo(time_zone)

    async def deliver(self, notices: Notices, *, extra: dict[str, dict[str, Any]] | None = None) -> None:
        for participant_id, view in notices.participants.items():
            payload = view.as_payload(self._zone)
            if extra and participant_id in extra:
                payload.update(extra[participant_id])
            await self._server.emit("state", payload, room=participant_room(participant_id), namespace=PARTICIPANT_NS)
        for entry in notices.hosts.values():
            await self._server.emit("participant", entry.as_payload(), room=host_room(notices.meeting_id), namespace=HOST_NS)
        if notices.meeting is not None:
            await self._server.emit("meeting", notices.meeting.as_payload(), room=host_room(notices.meeting_id), namespace=HOST_NS)
        for participant_id in notices.closed:
            # Denied, removed or ended: this socket hears nothing more of the meeting.
            await self._server.close_room(participant_room(participant_id), namespace=PARTICIPANT_NS)
