"""Building a live waiting room for tests: a meeting, hosts signed in, participants identified
through the real simulator, and socket.io clients as browsers would open them."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import socketio

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import Language
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY, EID, ENGINE, SESSIONS, SOCKETS
from meetsvc.services.sessions import SessionKind
from tests.support.timing import WAIT_SECONDS

# An event no namespace knows. Each namespace answers it (an ``error`` event, then the ack) and
# changes nothing, which makes it a harmless round trip: see :func:`round_trip`.
ROUND_TRIP = "round_trip"

PERSONS = ["198112189876", "197503179827", "199005229811", "196809059832", "199207319840", "195402269855"]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def book(
    world, *, starts_in: timedelta = timedelta(minutes=10), hosts: list[str] | None = None
) -> dict[str, Any]:
    starts = world.service.clock() + starts_in
    body = {
        "partner_organisation_id": world.region.id,
        "title": "SIP-möte",
        "care_area": "barn_och_unga",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "host_ids": hosts or [world.hosts[world.municipality.id]],
    }
    async with world.service.http.post(
        "/api/v1/meetings", json=body, headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def host_cookie(world, staff_id: str) -> str:
    """A signed-in staff session (sign-in itself is tested in tests/web)."""
    sessions = world.service.app[SESSIONS]
    async with world.service.app[ENGINE].begin() as connection:
        issued = await sessions.create(connection, SessionKind.STAFF, language=Language.SV, staff_id=staff_id)
    return issued.token


async def grant_statistics(world, staff_id: str) -> None:
    """Give a staff member the statistics reader's role beside the ones they have."""
    directory = world.service.app[DIRECTORY]
    member = await directory.staff_member(staff_id)
    await directory.change_staff_member(
        OrganisationCaller(member.organisation_id, "test"), staff_id, roles=member.roles | {Role.STATISTICS_READER}
    )


async def add_host(world, name: str = "Medledare") -> str:
    member = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.region.id, "test"), display_name=name
    )
    return member.id


@dataclass
class Invited:
    participant_id: str
    link: str
    page: aiohttp.ClientSession
    csrf: str = ""

    async def close(self) -> None:
        await self.page.close()


async def invite(
    world,
    meeting_id: str,
    *,
    name: str = "Kim Andersson",
    personal_number: str | None = None,
    role: str = "individual",
    organisation_id: str | None = None,
) -> Invited:
    body: dict[str, Any] = {"role": role, "display_name": name, "email": "kim@example.se"}
    if personal_number:
        body["personal_number"] = personal_number
    if organisation_id:
        body["organisation_id"] = organisation_id
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/participants", json=body, headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 201, await response.text()
        data = await response.json()
    page = aiohttp.ClientSession(base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    # Pressing the link page's button (a POST) is what opens the invitation.
    async with page.post(data["invitation_url"].replace(world.service.base_url, "")) as response:
        csrf = csrf_of(await response.text())
    return Invited(data["id"], data["invitation_url"], page, csrf)


async def identify(world, invited: Invited, personal_number: str) -> None:
    """The participant identifies on their page, approving on 'another device' in the simulator."""
    async with invited.page.post("/identify", data={"csrf": invited.csrf, "device": "other"}) as response:
        assert response.status == 200, await response.text()
    async with invited.page.get("/identify/status") as response:
        qr_data = (await response.json())["qr_data"]
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": qr_data}) as response:
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}
        ) as response:
            assert response.status == 200
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            async with invited.page.get("/identify/status") as response:
                if (await response.json())["state"] == "complete":
                    return
            await asyncio.sleep(0.03)


async def ticket(invited: Invited, *, unverified: bool = False) -> str:
    async with invited.page.post(
        "/lobby/ticket" + ("?unverified=1" if unverified else ""), headers={"X-CSRF-Token": invited.csrf}
    ) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["ticket"]


async def round_trip(client: socketio.AsyncClient, namespace: str, events: list[tuple[str, Any]]) -> None:
    """Ask the server something on this socket and wait for the answer.

    socket.io delivers in order on a connection, so once the answer is here, everything the
    server had sent this socket before it read the question has arrived too: a test that then
    finds nothing new knows nothing was sent, however slow the machine. The ``error`` event the
    question draws is taken back out of ``events``, so the record holds only what the test did.
    """
    answer = await client.call(ROUND_TRIP, {}, namespace=namespace, timeout=WAIT_SECONDS)
    assert isinstance(answer, dict) and answer.get("error") == "unknown-event", answer
    for index in range(len(events) - 1, -1, -1):
        if events[index] == ("error", answer):
            del events[index]
            break


@dataclass
class Socket:
    """A socket.io client that remembers every event it received."""

    client: socketio.AsyncClient
    namespace: str
    events: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    @property
    def last_state(self) -> dict[str, Any] | None:
        states = self.of("state")
        return states[-1] if states else None

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = WAIT_SECONDS) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                for event, data in self.events:
                    if event == name and predicate(data):
                        return data
                self.arrived.clear()
                await self.arrived.wait()

    async def call(self, event: str, data: Any = None, *args: Any) -> Any:
        payload = (data, *args) if args else (data if data is not None else {})
        return await self.client.call(event, payload, namespace=self.namespace, timeout=WAIT_SECONDS)

    async def round_trip(self) -> None:
        """Everything the server sent this socket so far has arrived (see :func:`round_trip`)."""
        await round_trip(self.client, self.namespace, self.events)

    async def heard_since(self, mark: int) -> list[tuple[str, Any]]:
        """What arrived after ``len(events)`` was ``mark``, proven complete by a round trip."""
        await self.round_trip()
        return self.events[mark:]

    async def close(self) -> None:
        await self.client.disconnect()


async def close_and_see_it_gone(world, socket: Socket) -> None:
    """Close the socket, then wait until the server has finished with it (its disconnect handler
    has run): a test can then check that the going changed nothing, without guessing a pause."""
    manager = world.service.app[SOCKETS].manager
    sid = socket.client.get_sid(socket.namespace)
    await socket.close()
    async with asyncio.timeout(WAIT_SECONDS):
        while sid in manager.rooms.get(socket.namespace, {}).get(None, {}):
            await asyncio.sleep(0.01)


def _recorder(socket: Socket, names: list[str]) -> None:
    for name in names:

        def handler(data=None, _name=name):
            socket.events.append((_name, data))
            socket.arrived.set()

        socket.client.on(name, handler, namespace=socket.namespace)


PARTICIPANT_EVENTS = ["state", "error", "participant", "meeting", "credential", "admitted", "opened"]
HOST_EVENTS = ["participant", "meeting", "error", "state", "signed_out", "note"]


async def participant_socket(world, ticket_: str, **connect: Any) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/participant")
    _recorder(socket, PARTICIPANT_EVENTS)
    await socket.client.connect(
        world.service.base_url,
        namespaces=["/participant"],
        auth={"ticket": ticket_},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
        **connect,
    )
    return socket


async def host_socket(world, cookie: str, meeting_id: str, **connect: Any) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/host")
    _recorder(socket, HOST_EVENTS)
    headers = {"Cookie": f"meetsvc_session={cookie}", **connect.pop("headers", {})}
    await socket.client.connect(
        world.service.base_url,
        namespaces=["/host"],
        auth={"meeting_id": meeting_id},
        headers=headers,
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
        **connect,
    )
    return socket


async def entry_of(world, participant_id: str) -> str:
    """The id of the invitation's (only) open entry: the video knows a person by it."""
    from sqlalchemy import select

    from meetsvc.storage.tables import attendances

    async with world.service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(attendances.c.id).where(
                    attendances.c.participant_id == participant_id, attendances.c.ended_at.is_(None)
                )
            )
        ).all()
    assert len(rows) == 1, rows
    return str(rows[0].id)
