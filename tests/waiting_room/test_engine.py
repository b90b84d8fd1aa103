"""engine.io as the service runs it (:mod:`meetsvc.realtime.engine`): its packet queue, its
websocket handler with real clients, and the python-engineio code that handler stands in for.

No pauses: a socket's state is checked once a round trip on it proves the server is past the
point checked, or once the server's own bookkeeping shows it (bounded by ``WAIT_SECONDS``).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import sys
import time
from datetime import timedelta

import engineio
import pytest
import socketio
from engineio.async_drivers import aiohttp as engineio_aiohttp
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket

from meetsvc.http.appkeys import SOCKETS
from meetsvc.realtime.engine import LeanEngineServer, PacketQueue
from tests.conftest import World
from tests.support.lobby import (
    PARTICIPANT_EVENTS,
    Socket,
    _recorder,
    book,
    close_and_see_it_gone,
    invite,
    participant_socket,
    ticket,
)
from tests.support.timing import WAIT_SECONDS

# The queue ------------------------------------------------------------------------------------


async def test_the_queue_hands_items_out_in_order_and_counts_them_done() -> None:
    queue = PacketQueue()
    assert queue.empty() and queue.qsize() == 0
    await queue.put("a")
    queue.put_nowait("b")
    assert queue.qsize() == 2
    assert await queue.get() == "a"
    assert queue.get_nowait() == "b"
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    joined = asyncio.ensure_future(queue.join())
    queue.task_done()
    await asyncio.sleep(0)  # one turn of the loop: join still waits for the second item
    assert not joined.done()
    queue.task_done()
    await joined
    with pytest.raises(ValueError, match="too many"):
        queue.task_done()


async def test_a_waiting_getter_gets_the_next_item_and_a_cancelled_one_is_skipped() -> None:
    queue = PacketQueue()
    gone, waiting = queue.get(), queue.get()
    gone.cancel()  # asyncio.wait_for timed out on it
    queue.put_nowait("packet")
    assert await waiting == "packet"
    assert queue.empty()  # handed over, never stored


async def test_a_getter_that_timed_out_is_not_kept() -> None:
    queue = PacketQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0)
    later = queue.get()
    assert queue._getters == [later]  # the one that timed out was dropped
    queue.put_nowait("x")
    assert await later == "x"


async def test_wake_is_called_when_an_item_waits_for_no_getter() -> None:
    queue = PacketQueue()
    woken: list[int] = []
    queue.wake = lambda: woken.append(queue.qsize())
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert woken == [1, 2]
    getter = queue.get()
    assert getter.result() == 1


async def test_the_wait_for_a_sockets_next_ping_is_a_timer_and_the_ping_goes_out_when_due() -> None:
    server = LeanEngineServer(async_mode="aiohttp", ping_interval=30)
    socket = AsyncSocket(server, "sid")
    loop = asyncio.get_running_loop()
    before = loop.time()
    waiting = server.start_background_task(socket._send_ping)
    assert isinstance(waiting, asyncio.TimerHandle)  # no task while the socket waits
    assert before + 30 <= waiting.when() <= loop.time() + 30
    waiting.cancel()
    socket.last_ping = None
    server._ping_due(socket)  # the timer is due
    assert socket.last_ping is not None
    sent = socket.queue.get_nowait()  # queued at once, with no task to send it
    assert sent.packet_type == engineio.packet.PING
    socket.closed = True
    server._ping_due(socket)
    assert socket.queue.empty()  # a closed socket is not pinged
    other = server.start_background_task(asyncio.sleep, 0)
    assert isinstance(other, asyncio.Task)  # every other background task is engine.io's
    await other


async def test_the_round_closes_every_socket_whose_pong_is_overdue_in_steps_and_stops_on_shutdown() -> None:
    server = LeanEngineServer(async_mode="aiohttp", ping_timeout=3)
    server.round_step_seconds = 1  # three steps of the round, of three sockets each
    sockets = [AsyncSocket(server, f"sid-{index}") for index in range(9)]
    server.sockets = {socket.sid: socket for socket in sockets}
    for socket in sockets:
        socket.last_ping = None  # their pong came: engine.io clears the ping's time on a pong
    overdue_first, overdue_last, gone = sockets[0], sockets[8], sockets[4]
    overdue_first.last_ping = overdue_last.last_ping = time.time() - 3600  # a ping an hour unanswered
    gone.closed = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    server.start_service_task = False
    server.service_task_handle = server.start_background_task(server._service_task)

    async with asyncio.timeout(WAIT_SECONDS):
        while not overdue_last.closed:  # in the round's last step, two seconds on
            await asyncio.sleep(0.05)  # looked at now and then, not spun for
    assert overdue_first.closed
    # The round is spread over ping_timeout: the last step comes two steps of a second later.
    assert loop.time() - started >= 1.9
    assert gone.sid not in server.sockets  # a closed socket leaves the table
    assert [socket.sid for socket in sockets if socket.closed or socket.closing] == [
        overdue_first.sid,
        gone.sid,
        overdue_last.sid,
    ]

    async with asyncio.timeout(WAIT_SECONDS):
        await server.shutdown()  # stops the round while it waits, as engine.io's stops
    assert server.service_task_handle is None


# With real clients ----------------------------------------------------------------------------


def _engine_socket(world: World, client: socketio.AsyncClient) -> AsyncSocket:
    server = world.service.app[SOCKETS]
    assert isinstance(server.eio, LeanEngineServer)
    socket: AsyncSocket = server.eio.sockets[client.eio.sid]
    return socket


async def test_a_page_on_the_websocket_transport_is_read_and_written_by_the_services_handler(world: World) -> None:
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person = await invite(world, meeting["id"])
    page = await participant_socket(world, await ticket(person, unverified=True))
    try:
        await page.wait_for("state")
        await page.round_trip()
        engine_socket = _engine_socket(world, page.client)
        queue = engine_socket.queue
        assert isinstance(queue, PacketQueue)
        assert queue.wake is not None  # its writer, not engine.io's: set by the service's handler only
        assert engine_socket.connected and engine_socket.upgraded
        environ = world.service.app[SOCKETS].get_environ(page.client.get_sid("/participant"), "/participant")
        assert "HTTP_HOST" in environ and environ["aiohttp.request"] is not None  # engine.io's own environ
        assert all(sys.intern(key) is key for key in environ)  # its keys shared with every other socket's
        await close_and_see_it_gone(world, page)
        async with asyncio.timeout(WAIT_SECONDS):
            while page.client.eio.sid in world.service.app[SOCKETS].eio.sockets or queue.wake is not None:
                await asyncio.sleep(0.01)
        assert engine_socket.closed
    finally:
        await page.close()
        await person.close()


async def test_pings_and_pongs_go_on_with_a_timer_between_them(world: World) -> None:
    server = world.service.app[SOCKETS]
    server.eio.ping_interval = 0.01  # this test's service only: pings come one after the other
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person = await invite(world, meeting["id"])
    page = await participant_socket(world, await ticket(person, unverified=True))
    try:
        await page.wait_for("state")
        engine_socket = _engine_socket(world, page.client)
        pings: set[float] = set()
        async with asyncio.timeout(WAIT_SECONDS):
            while len(pings) < 3:  # each ping after the pong of the one before
                if engine_socket.last_ping is not None:
                    pings.add(engine_socket.last_ping)
                await asyncio.sleep(0.005)
        await page.round_trip()
        assert page.client.connected
    finally:
        await page.close()
        await person.close()


async def test_the_server_closing_a_page_reaches_it(world: World) -> None:
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person = await invite(world, meeting["id"])
    page = await participant_socket(world, await ticket(person, unverified=True))
    gone = asyncio.Event()
    page.client.on("disconnect", lambda *_: gone.set(), namespace="/participant")
    try:
        await page.wait_for("state")
        await world.service.app[SOCKETS].eio.disconnect(page.client.eio.sid)
        async with asyncio.timeout(WAIT_SECONDS):
            await gone.wait()
    finally:
        await page.close()
        await person.close()


async def test_a_page_that_upgrades_from_long_polling_keeps_engineios_own_handler(world: World) -> None:
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person = await invite(world, meeting["id"])
    page = Socket(socketio.AsyncClient(reconnection=False), "/participant")
    _recorder(page, PARTICIPANT_EVENTS)
    try:
        await page.client.connect(
            world.service.base_url,
            namespaces=["/participant"],
            auth={"ticket": await ticket(person, unverified=True)},
            transports=["polling", "websocket"],
            wait_timeout=WAIT_SECONDS,
        )
        await page.wait_for("state")
        engine_socket = _engine_socket(world, page.client)
        async with asyncio.timeout(WAIT_SECONDS):
            while not engine_socket.upgraded:
                await asyncio.sleep(0.01)
        await page.round_trip()  # after the upgrade, both ways
        assert isinstance(engine_socket.queue, PacketQueue)
        assert engine_socket.queue.wake is None  # engine.io's writer reads it through get()
    finally:
        await page.close()
        await person.close()


# What the handler stands in for ---------------------------------------------------------------

# The python-engineio (and python-socketio) code that meetsvc.realtime.engine mirrors or relies
# on, by a digest of its source. When python-engineio or python-socketio is upgraded and one of
# these changes, read the new code against meetsvc/realtime/engine.py (what the socket's handler
# does, what its queue is asked), change the module where needed, and only then the digest here.
STOOD_IN_FOR = {
    "engineio.async_socket.AsyncSocket._websocket_handler": (AsyncSocket._websocket_handler, "27f120df4d717a24"),
    "engineio.async_socket.AsyncSocket.poll": (AsyncSocket.poll, "826f58a9f3606db2"),
    "engineio.async_socket.AsyncSocket._send_ping": (AsyncSocket._send_ping, "67db82a704ea49d0"),
    "engineio.async_socket.AsyncSocket.schedule_ping": (AsyncSocket.schedule_ping, "fe316639159cd70d"),
    "engineio.AsyncServer.start_background_task": (engineio.AsyncServer.start_background_task, "c873562535a68297"),
    "engineio.AsyncServer._service_task": (engineio.AsyncServer._service_task, "b6358bda51d0b34b"),
    "engineio.async_socket.AsyncSocket.check_ping_timeout": (AsyncSocket.check_ping_timeout, "77616d5ca7809257"),
    "engineio.async_socket.AsyncSocket.send": (AsyncSocket.send, "0437276ccba7ab09"),
    "engineio.base_socket.BaseSocket.__init__": (BaseSocket.__init__, "8532b631a4dc815f"),
    "engineio.async_drivers.aiohttp.WebSocket": (engineio_aiohttp.WebSocket, "96fbcb0d1f45694a"),
    "socketio.AsyncServer._engineio_server_class": (socketio.AsyncServer._engineio_server_class, "199c42bf149247e0"),
}


@pytest.mark.parametrize("name", sorted(STOOD_IN_FOR))
def test_the_engineio_code_the_service_stands_in_for_is_the_code_it_was_written_against(name: str) -> None:
    code, digest = STOOD_IN_FOR[name]
    found = hashlib.sha256(inspect.getsource(code).encode()).hexdigest()[:16]
    assert found == digest, f"{name} changed: read it against meetsvc/realtime/engine.py, then update its digest"
