"""Connections that never join a namespace are closed in time, and each address is capped.

Raw websocket clients speak engine.io as a browser's would before joining anything: the
handshake, then nothing. Time is the service's clock, moved by the test; a socket's staying open
is proven by a round trip on it (a join refused, or a namespace's answer), never by a pause.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from meetsvc.http.appkeys import SOCKETS
from tests.conftest import World
from tests.support.databases import SqliteTemplate
from tests.support.lobby import book, invite, participant_socket, ticket
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

CAP = 3


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service with a small per-address cap, trusting loopback as its proxy."""
    settings = make_settings(
        sqlite_template.clone(),
        keys_dir,
        realtime={"unjoined_seconds": 10, "connections_per_address": CAP},
        server={"trusted_proxies": ["127.0.0.1"]},
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


class RawSocket:
    """An engine.io websocket that never joins a namespace unless told."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws

    async def round_trip(self) -> None:
        """Ask to join a namespace that does not exist and wait for the refusal: the connection is
        open at the server, and still unjoined (a refused join does not count as joining)."""
        await self.ws.send_str("40/nowhere,")
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message = await self.ws.receive()
                assert message.type == aiohttp.WSMsgType.TEXT, f"the connection ended: {message}"
                if message.data.startswith("44/nowhere,"):
                    return
                if message.data == "2":
                    await self.ws.send_str("3")

    async def closed_by_server(self) -> bool:
        """Wait until the server ends the connection (engine.io pings answered meanwhile)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message = await self.ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return True
                if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                    await self.ws.send_str("3")
                elif message.type == aiohttp.WSMsgType.TEXT and message.data.startswith("1"):
                    return True  # engine.io's own close packet

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def raw_socket(service: RunningService, headers: dict[str, str] | None = None) -> RawSocket:
    http = aiohttp.ClientSession()
    try:
        ws = await http.ws_connect(
            f"{service.base_url}/socket.io/?EIO=4&transport=websocket", headers=headers or {}, autoclose=False
        )
        opening = await ws.receive()
        assert opening.type == aiohttp.WSMsgType.TEXT and opening.data.startswith("0"), opening
        assert "sid" in json.loads(opening.data[1:])
    except BaseException:
        await http.close()
        raise
    return RawSocket(http, ws)


async def refused(service: RunningService, headers: dict[str, str] | None = None) -> int:
    """The handshake's answer status when the connection is refused (fails if it is accepted)."""
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
            ws = await http.ws_connect(
                f"{service.base_url}/socket.io/?EIO=4&transport=websocket", headers=headers or {}
            )
            await ws.close()
        return raised.value.status


async def sweep(service: RunningService) -> int:
    """Look for overdue connections now (the service does so every second by itself)."""
    closed: int = await service.app[SOCKETS].sweep()
    return closed


async def test_a_socket_that_never_joins_is_closed_once_its_time_is_up(world: World) -> None:
    service = world.service
    idle = await raw_socket(service)
    try:
        service.clock.advance(seconds=9)
        assert await sweep(service) == 0
        await idle.round_trip()  # still open at nine seconds

        service.clock.advance(seconds=1)
        assert await idle.closed_by_server()
    finally:
        await idle.close()


async def test_a_socket_that_joined_stays_however_long(world: World) -> None:
    service = world.service
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person = await invite(world, meeting["id"])
    page = await participant_socket(world, await ticket(person, unverified=True))
    idle = await raw_socket(service)
    try:
        await page.wait_for("state")
        service.clock.advance(seconds=60)
        assert await sweep(service) == 1  # the idle one only
        assert await idle.closed_by_server()
        await page.round_trip()  # the page that joined is still connected
        assert page.client.connected
    finally:
        await idle.close()
        await page.close()
        await person.close()


async def test_connections_per_address_are_capped_and_freed_on_closing(world: World) -> None:
    service = world.service
    sockets = [await raw_socket(service) for _ in range(CAP)]
    try:
        assert await refused(service) == 401
        await sockets.pop().close()
        bounds = service.app[SOCKETS].bounds
        async with asyncio.timeout(WAIT_SECONDS):  # until the server has seen it go
            while bounds.open_from("127.0.0.1") >= CAP:
                await asyncio.sleep(0.01)
        sockets.append(await raw_socket(service))
        for socket in sockets:
            await socket.round_trip()
    finally:
        for socket in sockets:
            await socket.close()


async def test_the_forwarded_address_counts_only_from_a_trusted_proxy(world: World) -> None:
    service = world.service
    # From a trusted proxy (loopback here): each forwarded address has a cap of its own.
    first = [await raw_socket(service, {"X-Forwarded-For": "198.51.100.7"}) for _ in range(CAP)]
    second: list[RawSocket] = []
    try:
        assert await refused(service, {"X-Forwarded-For": "198.51.100.7"}) == 401
        second.append(await raw_socket(service, {"X-Forwarded-For": "198.51.100.8"}))
        # A client cannot pick its address: the proxy's last hop is the one believed.
        assert await refused(service, {"X-Forwarded-For": "198.51.100.8, 198.51.100.7"}) == 401
        # Garbage in the header counts as the proxy's own address.
        second.append(await raw_socket(service, {"X-Forwarded-For": "not-an-address"}))
    finally:
        for socket in first + second:
            await socket.close()


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> None:
    settings = make_settings(sqlite_template.clone(), keys_dir, realtime={"connections_per_address": CAP})
    service = await start_service(settings, clock)
    sockets: list[RawSocket] = []
    try:
        for index in range(CAP):  # each claims another address; all are loopback's
            sockets.append(await raw_socket(service, {"X-Forwarded-For": f"198.51.100.{index}"}))
        assert await refused(service, {"X-Forwarded-For": "203.0.113.1"}) == 401
    finally:
        for socket in sockets:
            await socket.close()
        await service.close()
