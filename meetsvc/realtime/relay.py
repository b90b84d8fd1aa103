"""python-socketio's Redis manager, made to fit a service that expects Redis to go away.

The manager carries the waiting room's notices between processes. Out of the box it retries
its listener after 1, 2, 4 … up to 60 seconds, so after an outage of ten seconds notices
waited several more seconds for the listener to look again; and it logs every failed publish
and every failed look at ERROR, two lines a notice while Redis is away. Here:

* the listener looks again every :data:`LISTEN_RETRY_SECONDS` at most (a subscribe costs one
  connection attempt), so notices flow within about a second of Redis answering;
* failures are logged at DEBUG: the fan-out watch (:mod:`meetsvc.realtime.fanout`) owns the one
  WARNING line an outage is worth, and the catch-up after it;
* every lost notice and every broken subscription is counted in :attr:`RelayManager.losses`,
  so that the watch catches pages up after a blip too short for its own ping to see, and
  :attr:`RelayManager.listening` says when the listener is subscribed again, so that the watch
  catches pages up only once nothing more can be missed;
* the listener is started outside any request's context (it starts with the first socket),
  so its records carry no request id of a page that happened to connect first.

It overrides two of the manager's private coroutines (``_publish``, ``_redis_listen_with_retries``),
keeping their contract; python-socketio is pinned, and ``tests/scale/test_faults.py`` runs them
through real Redis outages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio

from meetsvc.core.logs import library_logger, outside_request

log = logging.getLogger("meetsvc.realtime.relay")

#: The listener's waits between attempts while Redis is away: from the first to the last.
LISTEN_RETRY_FIRST_SECONDS = 0.1
LISTEN_RETRY_SECONDS = 0.5


class RelayManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # python-socketio is untyped
    """The Redis manager with a short listener back-off, quiet failures and a loss count."""

    connected: bool  # python-socketio's: whether ``redis`` holds a client to publish with

    def __init__(self, url: str, *, channel: str) -> None:
        super().__init__(url, channel=channel, logger=library_logger("socketio.redis"))
        self.losses = 0
        self.listening = False

    def initialize(self) -> None:
        outside_request(super().initialize)

    async def _publish(self, data: Any) -> Any:
        for last in (False, True):  # as python-socketio: reconnect once, then give up
            try:
                if not self.connected:
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:  # refused, reset, timed out: Redis is away
                self.connected = False
                if last:
                    self.losses += 1
                    log.debug("notice not published to redis: %s", exc.__class__.__name__)
        return None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        wait = LISTEN_RETRY_FIRST_SECONDS
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                self.listening = True
                wait = LISTEN_RETRY_FIRST_SECONDS
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # refused, reset, timed out: Redis is away
                self.listening = False
                self.losses += 1
                log.debug("listening on redis failed: %s; again in %.1f s", exc.__class__.__name__, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, LISTEN_RETRY_SECONDS)
