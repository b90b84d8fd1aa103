"""python-socketio's Redis manager, made to fit a service that expects Redis to go away.

The manager carries the waiting room's notices between processes. Out of the box it retries
its listener after 1, 2, 4 … up to 60 seconds, so after an outage of ten seconds notices
waited several more seconds for the listener to look again; and it logs every failed publish
and every failed look at ERROR, two lines a notice while Redis is away. Here:

* the listener looks again every :data:`LISTEN_RETRY_SECONDS` at most (a subscribe costs one
  connection attempt), so notices flow within about a second of Redis answering;
* redis-py's own retries are off (``retry=None``), and a pub/sub connection that broke is closed
  rather than left to redis-py, which would reconnect it and subscribe again in the background:
  a subscription renewed that way hides the gap during which notices went to nobody, and
  nothing caught the pages up after it;
* :attr:`RelayManager.listening` turns true only when Redis *confirms* the subscription, not when
  the request is sent: until then a notice published elsewhere reaches nobody here;
* every confirmed resubscription counts as a possible loss in :attr:`RelayManager.losses`, so
  that the fan-out watch (:mod:`meetsvc.realtime.fanout`) catches this process's pages up from
  the database once nothing more can be missed; whatever was published before the
  confirmation was committed before it, so the re-read finds it (the first subscription, made
  as the first socket connects, is no resubscription: nothing was heard before it to miss);
* a notice this process could not publish was lost for the other processes' pages, which their
  own watches cannot know about; so once Redis takes a publish again, this process publishes a
  catch-up request on ``<channel>:catch-up`` and every other process counts it as a loss too;
* failures are logged at DEBUG: the watch owns the one WARNING line an outage is worth;
* the listener is started outside any request's context (it starts with the first socket),
  so its records carry no request id of a page that happened to connect first.

It overrides three of the manager's private methods (``_redis_connect``, ``_publish``,
``_redis_listen_with_retries``), keeping their contract; python-socketio is pinned, and
``tests/scale/test_relay.py`` and ``tests/scale/test_faults.py`` run them through real Redis
outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import socketio

from meetsvc.core.logs import library_logger, outside_request

log = logging.getLogger("meetsvc.realtime.relay")

#: The listener's waits between attempts while Redis is away: from the first to the last.
LISTEN_RETRY_FIRST_SECONDS = 0.1
LISTEN_RETRY_SECONDS = 0.5

#: How long connecting to Redis may take before it counts as away (a publish waits for it).
CONNECT_TIMEOUT_SECONDS = 2.0

#: Suffix of the channel on which a process asks the others to catch their pages up.
CATCH_UP_SUFFIX = ":catch-up"


class RelayManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # python-socketio is untyped
    """The Redis manager with a short listener back-off, quiet failures, a loss count and
    catch-up requests between processes."""

    connected: bool  # python-socketio's: whether ``redis`` holds a client to publish with
    redis: aioredis.Redis | None  # python-socketio's: the client to publish with
    host_id: str  # python-socketio's: this process's id in the messages it publishes

    def __init__(self, url: str, *, channel: str) -> None:
        super().__init__(
            url,
            channel=channel,
            logger=library_logger("socketio.redis"),
            redis_options={"retry": None, "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
        self.losses = 0
        self.listening = False
        self.catch_up_channel = channel + CATCH_UP_SUFFIX
        self._owe_catch_up = False
        self._subscribed_before = False
        self._listener: aioredis.Redis | None = None

    def initialize(self) -> None:
        outside_request(super().initialize)

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.redis_url, **self.redis_options)

    def _redis_connect(self) -> None:
        """A new client to publish with. Unlike python-socketio's, it leaves the listener's
        pub/sub alone: a publish that reconnects must not swap it out from under the listener."""
        old, self.redis = self.redis, self._client()
        self.connected = True
        if old is not None:
            _close_later(old)

    async def _publish(self, data: Any) -> Any:
        for last in (False, True):  # as python-socketio: reconnect once, then give up
            try:
                if not self.connected:
                    self._redis_connect()
                assert self.redis is not None
                answer = await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:  # refused, reset, timed out: Redis is away
                self.connected = False
                if last:
                    self.losses += 1
                    self._owe_catch_up = True
                    log.debug("notice not published to redis: %s", exc.__class__.__name__)
                continue
            if self._owe_catch_up:
                await self._request_catch_up()
            return answer
        return None

    async def _request_catch_up(self) -> None:
        """Ask the other processes to catch their pages up (they missed what we could not send)."""
        try:
            if not self.connected:
                self._redis_connect()
            assert self.redis is not None
            await self.redis.publish(self.catch_up_channel, self.host_id)
        except Exception as exc:  # away again: asked on the next publish or subscription
            self.connected = False
            log.debug("catch-up request not published to redis: %s", exc.__class__.__name__)
            return
        self._owe_catch_up = False

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        wait = LISTEN_RETRY_FIRST_SECONDS
        channel = self.channel.encode("utf-8")
        catch_up_channel = self.catch_up_channel.encode("utf-8")
        while True:
            try:
                self._listener = self._client()
                self.pubsub = self._listener.pubsub()
                await self.pubsub.subscribe(self.channel, self.catch_up_channel)
                async for message in self.pubsub.listen():
                    kind = message["type"]
                    if kind == "subscribe" and message["channel"] == catch_up_channel:
                        # Both channels are subscribed (Redis confirms in the order asked).
                        self.listening = True
                        wait = LISTEN_RETRY_FIRST_SECONDS
                        if self._subscribed_before:
                            self.losses += 1
                        self._subscribed_before = True
                        if self._owe_catch_up:
                            await self._request_catch_up()
                    elif kind == "message" and message["channel"] == catch_up_channel:
                        if message["data"] != self.host_id.encode("utf-8"):
                            self.losses += 1
                    elif kind == "message" and message["channel"] == channel:
                        yield message
                raise ConnectionError("unsubscribed")  # listen() ends only without a subscription
            except Exception as exc:  # refused, reset, timed out: Redis is away
                self.listening = False
                log.debug("listening on redis failed: %s; again in %.1f s", exc.__class__.__name__, wait)
                await self._close_listener()
                await asyncio.sleep(wait)
                wait = min(wait * 2, LISTEN_RETRY_SECONDS)

    async def _close_listener(self) -> None:
        pubsub, listener, self._listener = self.pubsub, self._listener, None
        with contextlib.suppress(Exception):
            if pubsub is not None:
                await pubsub.aclose()
        with contextlib.suppress(Exception):
            if listener is not None:
                await listener.aclose()

    async def aclose(self) -> None:
        """Close both clients (after the listener task is stopped)."""
        self.listening = False
        await self._close_listener()
        client, self.redis, self.connected = self.redis, None, False
        with contextlib.suppress(Exception):
            if client is not None:
                await client.aclose()


_closing: set[asyncio.Task[None]] = set()


def _close_later(client: aioredis.Redis) -> None:
    """Close a replaced publishing client in the background (its connections would linger)."""
    try:
        task = asyncio.get_running_loop().create_task(_quietly_close(client))
    except RuntimeError:  # no loop: nothing was ever connected
        return
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _quietly_close(client: aioredis.Redis) -> None:
    with contextlib.suppress(Exception):
        await client.aclose()
