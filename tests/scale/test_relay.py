"""The Redis relay between processes, through real Redis outages and cut connections.

Each "process" here is a python-socketio server with our :class:`RelayManager` on a Redis of the
test's own; one of them reaches Redis through a TCP proxy the test can cut, so one process loses
Redis while the other keeps it. What is checked is what the fan-out watch relies on: the relay
says it is listening only once Redis confirmed the subscription, so a notice published from that
moment on arrives; every confirmed resubscription counts as a possible loss (the watch then
catches the pages up); a broken connection is seen and closed, not renewed behind the relay's
back; and a notice one process could not publish makes the others catch up as well.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import socketio
from aiohttp import web

from meetsvc.realtime.relay import RelayManager
from tests.conftest import IN_CI
from tests.scale.faults import REDIS_SERVER, PostgresCut, RedisServer
from tests.support.timing import WAIT_SECONDS

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    if REDIS_SERVER is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the relay tests")
        pytest.skip(reason)
    server = RedisServer(tmp_path / "redis")
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[PostgresCut]:
    """A cuttable TCP proxy in front of the test's Redis (the proxy forwards any protocol)."""
    cut = PostgresCut(upstream_port=redis_server.port)
    await cut.start()
    yield cut
    await cut.close()


class Process:
    """A socket.io server on a real port with the relay manager, as one service process."""

    def __init__(self, url: str, channel: str) -> None:
        self.manager = RelayManager(url, channel=channel)
        self.server = socketio.AsyncServer(async_mode="aiohttp", client_manager=self.manager)
        self.app = web.Application()
        self.server.attach(self.app)
        self.runner = web.AppRunner(self.app)
        self.port = 0

        @self.server.on("connect")  # type: ignore[misc]  # python-socketio is untyped
        async def connect(sid: str, environ: dict[str, Any]) -> None:
            await self.server.enter_room(sid, "page")

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # the site has started, so its server exists
        # python-socketio starts the listener with the first socket; here at once, and only once.
        self.server.manager_initialized = True
        self.manager.initialize()

    async def close(self) -> None:
        thread = self.manager.thread
        thread.cancel()
        await asyncio.gather(thread, return_exceptions=True)
        await self.manager.aclose()
        await self.runner.cleanup()


async def until(check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Wait for a condition the relay reaches by itself; fails naming it after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                answer = check()
                if not isinstance(answer, bool):
                    answer = await answer
                if answer:
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not reached within {timeout} s: {what}")


@pytest_asyncio.fixture
async def processes(redis_server: RedisServer, proxy: PostgresCut) -> AsyncIterator[tuple[Process, Process]]:
    """("cut", "direct"): the first reaches Redis through the proxy, the second directly."""
    channel = f"meetsvc-test-{uuid.uuid4().hex}"
    cut = Process(f"redis://127.0.0.1:{proxy.port}/0", channel)
    direct = Process(redis_server.url, channel)
    async with AsyncExitStack() as stack:
        for process in (cut, direct):
            await process.start()
            stack.push_async_callback(process.close)
        await until(lambda: cut.manager.listening and direct.manager.listening, "both relays listening")
        yield cut, direct


async def page(process: Process) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
    client = socketio.AsyncClient(reconnection=False)
    notes: asyncio.Queue[Any] = asyncio.Queue()
    client.on("note", notes.put_nowait)
    await client.connect(f"http://127.0.0.1:{process.port}", transports=["websocket"])
    return client, notes


async def test_listening_means_subscribed_and_each_confirmation_counts_a_possible_loss(
    redis_server: RedisServer, processes: tuple[Process, Process]
) -> None:
    _, direct = processes
    relay = direct.manager
    assert relay.losses == 0, "the first subscription is no resubscription"
    assert await redis_server.subscribers(relay.channel) == 2
    assert await redis_server.subscribers(relay.catch_up_channel) == 2

    await redis_server.stop()
    await until(lambda: not relay.listening, "the relay sees Redis go")
    await redis_server.start()
    await until(lambda: relay.listening, "the relay listening again")
    # Listening is said once Redis confirmed: the subscription is there the moment it is said.
    assert await redis_server.subscribers(relay.channel) >= 1
    assert relay.losses == 1, "the confirmed resubscription counts as a possible loss"


async def test_a_notice_published_the_moment_the_relay_listens_again_arrives(
    redis_server: RedisServer, processes: tuple[Process, Process]
) -> None:
    cut, direct = processes
    client, notes = await page(cut)
    try:
        await redis_server.stop()
        await until(lambda: not cut.manager.listening, "the relay sees Redis go")
        await redis_server.start()
        await until(lambda: cut.manager.listening, "the relay listening again")
        # No wait between "listening" and publishing: a relay that said so on sending its
        # subscribe request, before Redis confirmed it, could miss this one.
        await direct.server.emit("note", {"n": 1}, room="page")
        async with asyncio.timeout(WAIT_SECONDS):
            assert await notes.get() == {"n": 1}
    finally:
        await client.disconnect()


async def test_a_cut_connection_is_seen_and_closed_not_renewed_behind_the_relay(
    redis_server: RedisServer, proxy: PostgresCut, processes: tuple[Process, Process]
) -> None:
    cut, _ = processes
    relay = cut.manager
    losses = relay.losses
    await proxy.cut()
    await proxy.restore()  # a blip: redis-py alone would reconnect and subscribe again unseen
    await until(lambda: relay.losses > losses and relay.listening, "the relay sees the cut and subscribes again")
    # Exactly one subscription per process: the broken one was closed, not left subscribed.
    await until(lambda: _subscribers_are(redis_server, relay.channel, 2), "one subscription per process on the channel")


async def _subscribers_are(redis_server: RedisServer, channel: str, count: int) -> bool:
    return await redis_server.subscribers(channel) == count


async def test_a_notice_that_could_not_be_published_makes_the_other_processes_catch_up(
    proxy: PostgresCut, processes: tuple[Process, Process]
) -> None:
    cut, direct = processes
    await proxy.cut()
    others = direct.manager.losses
    await cut.server.emit("note", {"n": 1}, room="page")  # lost: Redis is away for this process
    assert cut.manager.losses >= 1
    assert direct.manager.losses == others, "the other process cannot know yet"
    await proxy.restore()
    await until(lambda: direct.manager.losses > others, "the other process asked to catch its pages up")
    await until(lambda: cut.manager.listening, "the cut process listening again")
    assert not cut.manager._owe_catch_up

    # A process does not answer its own request: only the other one counts it.
    mine = cut.manager.losses
    theirs = direct.manager.losses
    await cut.manager._request_catch_up()
    await until(lambda: direct.manager.losses > theirs, "the other process heard the request")
    client, notes = await page(cut)  # a round trip through Redis after the request: it was heard
    try:
        await direct.server.emit("note", {"n": 2}, room="page")
        async with asyncio.timeout(WAIT_SECONDS):
            assert await notes.get() == {"n": 2}
    finally:
        await client.disconnect()
    assert cut.manager.losses == mine
