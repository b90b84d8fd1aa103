"""engine.io, as the service runs it: the same protocol for less memory per waiting socket.

Thousands of people can wait at once, each holding one socket that is idle nearly all the time,
so what engine.io keeps per socket while idle is what a waiting room costs. Four of its parts
are replaced here (``bench/socket_memory.py`` shows where a socket's memory goes, and
``bench/admit_latency.py`` what it comes to in the process's RSS):

* **The packet queue** (:class:`PacketQueue`). engine.io queues every outgoing packet of a
  socket in an ``asyncio.Queue``, which holds four deques from the start (its items, its getters
  and putters, its ``join`` event's waiters), about 3 KiB per socket. Ours holds what it holds
  right now; ``get`` hands back a plain future, so ``asyncio.wait_for`` waits on it without a
  task of its own. It comes through :meth:`LeanEngineServer.create_queue`, engine.io's own hook
  for the queues it makes.
* **A websocket's reading and writing** (:class:`WebSocket`). engine.io keeps two tasks per
  websocket for as long as it is open: a writer waiting on the queue (through ``wait_for``,
  itself a third task), and, for every message read, a task reading it (through ``wait_for``
  too). Here the handler's own task reads, with aiohttp's receive timeout, and a writer task
  exists only while packets are waiting to go out: the queue wakes it and it ends once the queue
  is empty. An idle socket keeps no task for its reading or writing (aiohttp's own two per
  connection remain, and engine.io's ping task between a pong and the next ping).
* **The wait for a socket's next ping** (:class:`LeanEngineServer`): a timer, not a sleeping
  task.
* **The round of the sockets for overdue pongs** (:meth:`LeanEngineServer._service_task`): a
  step a second through the sockets, not one wake-up and one task per socket.
* **The environ's keys** (:func:`translate_request`): engine.io's own environ, with the keys it
  spells for each header interned, so every socket shares them. It and :class:`WebSocket` go
  into engine.io's table of its async driver's parts (``_async``), where
  :func:`meetsvc.realtime.server.create_server` already put the websocket class that refuses permessage-deflate.

The second stands in for ``AsyncSocket._websocket_handler`` of python-engineio (private,
pinned in the lock files) for sockets that open on the websocket transport, which every page of
the service does; a socket that upgrades from long-polling keeps engine.io's own handler. It
sets and reads the socket's ``connected`` and ``upgraded`` flags, feeds packets to its
``receive`` and ends it with ``close(wait=False, abort=True, reason=TRANSPORT_CLOSE)``, as that
handler does, and ends the writer on the queue's ``None`` as its ``poll`` does.
``tests/waiting_room/test_engine.py`` runs both handlers with real clients and fails when the source of
the engine.io code replaced here changes, so a new python-engineio is read before it is used.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import engineio
from aiohttp import WSMsgType, web
from engineio import exceptions as engineio_exceptions, packet
from engineio.async_drivers import aiohttp as engineio_aiohttp
from engineio.async_socket import AsyncSocket


class PacketQueue:
    """What engine.io asks of an ``asyncio.Queue``, in a few slots instead of four deques.

    Unbounded, as engine.io's queues are: ``put`` never waits. ``get`` returns a future that
    resolves to the next item (the item is handed to the oldest waiting getter as it is put);
    ``task_done`` and ``join`` count items as ``asyncio.Queue`` does. ``wake``, when set, is
    called after an item is stored for no waiting getter: :class:`WebSocket`'s writer starts so.
    A getter cancelled (a ``wait_for`` that timed out) is skipped; one cancelled after it was
    handed an item loses that item, which only happens when whoever waited on it is cancelled
    itself, and then nobody reads this socket's queue any more.
    """

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished", "wake")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._getters: list[asyncio.Future[Any]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self.wake: Any = None

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._unfinished += 1
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(item)
                return
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        if self.wake is not None:
            self.wake()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.pop(0)
        if not items:
            self._items = None
        return item

    def get(self) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self.get_nowait())
            return future
        getters = [g for g in self._getters or () if not g.done()]
        getters.append(future)
        self._getters = getters
        return future

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        while self._unfinished:
            joiner: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = [joiner]
            else:
                self._joiners.append(joiner)
            await joiner


class LeanEngineServer(engineio.AsyncServer):  # type: ignore[misc]  # python-engineio is untyped
    """engine.io's server, making :class:`PacketQueue` queues (``create_queue`` is its hook), and
    waiting for a socket's next ping with a timer instead of a task.

    After each pong engine.io starts ``AsyncSocket._send_ping`` as a background task, which
    sleeps ``ping_interval`` and then sends the ping unless the socket is closing or closed: a
    task, two coroutines and a future per waiting socket, nearly all the time. Here that one
    target gets a timer instead, and the ping is queued as ``_send_ping`` queues it once the
    timer is due, with no task. Every other background task is engine.io's.
    """

    #: How often the round of :meth:`_service_task` takes a step, at most.
    round_step_seconds = 1.0

    def create_queue(self, *args: Any, **kwargs: Any) -> PacketQueue:
        return PacketQueue()

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(target, "__func__", None) is AsyncSocket._send_ping and not args and not kwargs:
            return asyncio.get_running_loop().call_later(self.ping_interval, self._ping_due, target.__self__)
        return super().start_background_task(target, *args, **kwargs)

    def _ping_due(self, socket: AsyncSocket) -> None:
        if not socket.closing and not socket.closed:
            socket.last_ping = time.time()
            # As ``AsyncSocket.send`` queues it, with no task to run it: its check of the ping's
            # time passes (the ping is sent now) and putting into a PacketQueue never waits.
            socket.queue.put_nowait(packet.Packet(packet.PING))

    async def _service_task(self) -> None:
        """engine.io's round of its sockets, closing each whose pong is overdue, in steps.

        engine.io goes through every socket once per ``ping_timeout``, one socket at a time, and
        between two sockets waits through ``asyncio.wait_for`` for the server's stop: a task of
        its own and a wake-up of the event loop per socket, about 111 a second with 5,000
        waiting and 45 s, each costing more than the check it waits between. Here the round takes
        as long and looks at each socket as engine.io does (``check_ping_timeout``; a socket found
        closed leaves the table), but a step at most every :attr:`round_step_seconds`, each step
        a share of the sockets, waiting on one waiter for the stop that lasts as long as the
        round. ``shutdown`` stops it as it stops engine.io's (``service_task_event``).
        """
        self.service_task_event = self.create_event()
        stopped = asyncio.ensure_future(self.service_task_event.wait())
        try:
            while not stopped.done():
                sockets = list(self.sockets.values())
                steps = max(1, min(len(sockets), int(self.ping_timeout / self.round_step_seconds)))
                size = -(-len(sockets) // steps)  # the share of one step, rounded up
                for step in range(steps):
                    try:
                        for socket in sockets[step * size : (step + 1) * size]:
                            if socket.closed:
                                self.sockets.pop(socket.sid, None)
                            elif not socket.closing:
                                await socket.check_ping_timeout()
                    except Exception:  # as engine.io's round: one socket's failure does not end it
                        self.logger.exception("service task exception")
                    await asyncio.wait((stopped,), timeout=self.ping_timeout / steps)
                    if stopped.done():
                        return
        finally:
            stopped.cancel()


class _Writer:
    """Sends a socket's queued packets, in a task that lives only while there are some."""

    __slots__ = ("_ended", "_queue", "_task", "_ws")

    def __init__(self, ws: WebSocket, queue: PacketQueue) -> None:
        self._ws = ws
        self._queue = queue
        self._task: asyncio.Task[None] | None = None
        self._ended = False

    def wake(self) -> None:
        if not self._ended and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        queue = self._queue
        while True:
            try:
                pkt = queue.get_nowait()
            except asyncio.QueueEmpty:
                self._task = None  # an idle socket keeps not even a finished task
                return
            queue.task_done()
            if pkt is None:  # the socket is done: no more packets
                break
            try:
                await self._ws.send(pkt.encode())
            except Exception:  # the connection broke: as engine.io's writer, stop and close
                break
        self._ended = True
        await self._ws.close()

    async def finished(self) -> None:
        if self._task is not None:
            await self._task


class WebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]  # python-engineio is untyped
    """engine.io's aiohttp websocket, with permessage-deflate as configured and the reading and
    writing of the module docstring."""

    compress = True

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=self.compress)
        await self._sock.prepare(request)
        self.environ = environ
        socket = getattr(self.handler, "__self__", None)
        if isinstance(socket, AsyncSocket) and isinstance(socket.queue, PacketQueue) and not socket.connected:
            await self._serve(socket, socket.queue)
        else:  # an upgrade from long-polling: engine.io's own handler
            await self.handler(self)
        return self._sock

    async def _serve(self, socket: AsyncSocket, queue: PacketQueue) -> None:
        """``AsyncSocket._websocket_handler`` for a socket that opened on this websocket."""
        server = socket.server
        socket.connected = True
        socket.upgraded = True
        writer = _Writer(self, queue)
        queue.wake = writer.wake
        if not queue.empty():  # the handshake's OPEN packet
            writer.wake()
        server.logger.info("%s: Upgrade to websocket successful", socket.sid)
        timeout = server.ping_interval + server.ping_timeout
        try:
            while True:
                try:
                    message = await self._sock.receive(timeout=timeout)
                except (asyncio.CancelledError, Exception):  # as engine.io: any end of reading ends the socket
                    break
                data = message.data
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY) or len(data) > server.max_http_buffer_size:
                    break
                try:
                    await socket.receive(packet.Packet(encoded_packet=data))
                except engineio_exceptions.UnknownPacketError:
                    continue  # ignored, as engine.io's own handler ignores it: the socket stays open
                except engineio_exceptions.SocketIsClosedError:
                    server.logger.info("Receive error -- socket is closed")
                    break
                except Exception:
                    server.logger.exception("Unknown receive error")
        finally:
            queue.put_nowait(None)  # the writer sends what is left, then closes the websocket
            await writer.finished()
            queue.wake = None
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


def translate_request(request: web.Request) -> dict[str, Any]:
    """engine.io's environ for an aiohttp request, with its keys shared between requests.

    A socket's environ lives as long as the socket, and engine.io spells a new key for every
    header of every request (``HTTP_USER_AGENT``, ``HTTP_SEC_WEBSOCKET_KEY`` …), 60 to 70 bytes
    each: interned, every socket uses the same strings. The environ is otherwise engine.io's own,
    every key and value as it made them.
    """
    environ: dict[str, Any] = engineio_aiohttp.translate_request(request)
    return {sys.intern(key): value for key, value in environ.items()}


class UncompressedWebSocket(WebSocket):
    """Refusing permessage-deflate (see :mod:`meetsvc.realtime.server`)."""

    compress = False
