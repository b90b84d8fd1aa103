"""The service restarts while people wait: the waiting room lives in the database, not the process.

Participants are waiting and admitted, the process goes away, a new one starts on the same
database and keys, and everyone's page reconnects with the ticket it already holds: each finds
their own place again, the hosts' list is the same, nobody was let in by the restart, and the
audit log still verifies. After a crash, the sockets the dead process had counted in the database
are counted out when the new one starts, so a page that reconnects is counted once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
import socketio
from sqlalchemy import select, update

from meetsvc.http.appkeys import AUDIT, ENGINE
from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import attendances, audit_log, participants
from tests.support.lobby import (
    PERSONS,
    book,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS
from tests.waiting_room.test_video_signalling import video_socket


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    """On SQLite and on PostgreSQL: a restart finds the same database either way."""
    running = await start_service(make_settings(database_url, keys_dir), clock)
    yield running
    await running.close()


async def states(service: RunningService) -> dict[str, tuple[str, Any]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(select(participants.c.id, participants.c.state, participants.c.waiting_since))
        ).all()
    return {row.id: (row.state, row.waiting_since) for row in rows}


async def admissions(service: RunningService) -> list[tuple[int, str, str]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.seq, audit_log.c.actor, audit_log.c.subject_id)
                .where(audit_log.c.action == "participant.admit")
                .order_by(audit_log.c.seq)
            )
        ).all()
    return [tuple(row) for row in rows]


def host_view(listing: dict[str, Any]) -> list[dict[str, Any]]:
    """The list without presence: the restart closed every socket, which the hosts may see."""
    dropped = {"presence", "connection_lost_at"}
    return [{k: v for k, v in entry.items() if k not in dropped} for entry in listing["participants"]]


async def test_after_a_restart_everyone_is_where_they_were(world):
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    assert (await host.call("configure", {"show_queue_position": True}))["ok"] is True

    cast = [
        ("Kim Andersson", PERSONS[0]),
        ("Alex Berg", PERSONS[1]),
        ("Sam Nilsson", PERSONS[2]),
        ("Robin Ek", PERSONS[5]),
    ]
    people, sockets, tickets = [], [], {}
    for name, number in cast:
        invited = await invite(world, meeting["id"], name=name, personal_number=number)
        await identify(world, invited, number)
        tickets[invited.participant_id] = await ticket(invited)
        socket = await participant_socket(world, tickets[invited.participant_id])
        await socket.wait_for("state")
        people.append(invited)
        sockets.append(socket)
        world.service.clock.advance(seconds=5)  # a queue in a known order
    first, admitted, third, fourth = (p.participant_id for p in people)
    assert (await host.call("admit", {"participant_id": admitted}))["ok"] is True
    await sockets[1].wait_for("state", lambda d: d["state"] == "admitted")
    await sockets[3].wait_for("state", lambda d: d["position"] == 3)

    before_states = await states(world.service)
    before_admissions = await admissions(world.service)
    before_list = host_view(await host.call("list"))
    before_pages = {p.participant_id: s.last_state for p, s in zip(people, sockets, strict=False)}
    assert [e["participant_id"] for e in before_list if e["state"] == "waiting"] == [first, third, fourth]
    assert before_states[admitted][0] == "admitted"
    assert [a[2] for a in before_admissions] == [admitted]

    # The pages lose their connections and the process stops.
    old = world.service
    for socket in [*sockets, host]:
        await socket.close()
    await old.close()

    # A new process, same settings (so the same address, issuer, database and keys), same clock.
    new = await start_service(old.settings, old.clock)
    world.service = new
    reconnected: list[Any] = []
    try:
        assert await states(new) == before_states, "starting the service changed someone's state"

        # The host's console reconnects first: it shows the same list, and changes nothing.
        host_again = await host_socket(world, cookie, meeting["id"])
        reconnected.append(host_again)
        assert host_view(await host_again.call("list")) == before_list
        assert await states(new) == before_states

        # Each page reconnects with the ticket it already holds, in another order than they came.
        pages = {}
        for participant_id in (fourth, admitted, first, third):
            page = await participant_socket(world, tickets[participant_id])
            reconnected.append(page)
            pages[participant_id] = page
            await page.wait_for("state")
        for participant_id, page in pages.items():
            seen = page.of("state")[0]
            assert seen == before_pages[participant_id], (participant_id, seen, before_pages[participant_id])
        assert [pages[p].of("state")[0]["position"] for p in (first, third, fourth)] == [1, 2, 3]
        assert pages[admitted].of("state")[0]["state"] == "admitted"
        # The admitted one is given a way into the video again; the waiting ones are not.
        await pages[admitted].wait_for("credential")
        for participant_id in (first, third, fourth):
            await pages[participant_id].round_trip()
            assert pages[participant_id].of("credential") == []
            assert {s["state"] for s in pages[participant_id].of("state")} == {"waiting"}

        # The hosts' list is what it was; nobody was admitted by any of this.
        assert host_view(await host_again.call("list")) == before_list
        assert await states(new) == before_states
        assert await admissions(new) == before_admissions
        await host_again.round_trip()
        # A page coming back is nothing for a host to act on: only its presence is news.
        states_told = {(e["participant_id"], e["state"]) for e in host_again.of("participant")}
        assert states_told <= {(e["participant_id"], e["state"]) for e in before_list}
        assert {e["presence"] for e in host_again.of("participant")} <= {"waiting", "joining"}

        # The service still works as before: the host admits the first in the queue, the queue moves.
        assert (await host_again.call("admit", {"participant_id": first}))["ok"] is True
        await pages[first].wait_for("state", lambda d: d["state"] == "admitted")
        assert (await pages[third].wait_for("state", lambda d: d["position"] == 1))["state"] == "waiting"
        assert [a[2] for a in await admissions(new)] == [admitted, first]

        async with new.app[ENGINE].connect() as connection:
            verification = await new.app[AUDIT].verify(connection)
        assert verification.ok, verification
    finally:
        for socket in reconnected:
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await socket.close()
        for page in people:
            await page.close()
        await new.close()


async def sockets_counted(service: RunningService) -> dict[str, tuple[int, int]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(attendances.c.participant_id, attendances.c.lobby_sockets, attendances.c.video_sockets)
            )
        ).all()
    return {row.participant_id: (row.lobby_sockets, row.video_sockets) for row in rows}


async def test_after_a_crash_the_sockets_of_the_dead_process_are_not_counted(world):
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    waiting = await invite(world, meeting["id"], name="Kim Andersson", personal_number=PERSONS[0])
    inside = await invite(world, meeting["id"], name="Alex Berg", personal_number=PERSONS[1])
    tickets, sockets = {}, []
    for invited, number in ((waiting, PERSONS[0]), (inside, PERSONS[1])):
        await identify(world, invited, number)
        tickets[invited.participant_id] = await ticket(invited)
        socket = await participant_socket(world, tickets[invited.participant_id])
        await socket.wait_for("state", lambda d: d["state"] == "waiting")
        sockets.append(socket)
    assert (await host.call("admit", {"participant_id": inside.participant_id}))["ok"] is True
    credential = await sockets[1].wait_for("credential")
    video = await video_socket(world, credential["token"])
    await host.wait_for(
        "participant", lambda e: e["participant_id"] == inside.participant_id and e["presence"] == "in_meeting"
    )
    counted = await sockets_counted(world.service)
    assert counted == {waiting.participant_id: (1, 0), inside.participant_id: (1, 1)}

    # The process is killed: its sockets drop without being counted out. (Stopping it here counts
    # them out as a clean stop does, so what a killed process leaves behind is put back.)
    old = world.service
    for socket in [*sockets, video, host]:
        await socket.close()
    await old.close()
    engine = create_engine(old.settings.database.url)
    try:
        async with engine.begin() as connection:
            for participant_id, (lobby, in_video) in counted.items():
                await connection.execute(
                    update(attendances)
                    .where(attendances.c.participant_id == participant_id)
                    .values(lobby_sockets=lobby, video_sockets=in_video, connection_lost_at=None)
                )
    finally:
        await engine.dispose()

    new = await start_service(old.settings, old.clock)
    world.service = new
    reconnected: list[Any] = []
    try:
        # Nobody's page is connected to the new process yet, and the hosts see that.
        assert await sockets_counted(new) == {waiting.participant_id: (0, 0), inside.participant_id: (0, 0)}
        host_again = await host_socket(world, cookie, meeting["id"])
        reconnected.append(host_again)
        listed = {e["participant_id"]: e for e in (await host_again.call("list"))["participants"]}
        assert (listed[waiting.participant_id]["state"], listed[waiting.participant_id]["presence"]) == (
            "waiting",
            "connection_lost",
        )
        assert listed[waiting.participant_id]["connection_lost_at"]
        assert (listed[inside.participant_id]["state"], listed[inside.participant_id]["presence"]) == (
            "in_meeting",
            "left_video",
        )
        # Who was in the video is on record: they left it when the process died.
        async with new.app[ENGINE].connect() as connection:
            left = (
                await connection.execute(
                    select(audit_log.c.actor, audit_log.c.subject_id, audit_log.c.details)
                    .where(audit_log.c.action == "attendance.video_left")
                    .order_by(audit_log.c.seq)
                )
            ).all()
            verification = await new.app[AUDIT].verify(connection)
        # (The stop above recorded the video socket's close as a clean stop does; a killed
        # process records nothing, so the new one says it.)
        by_restart = [row for row in left if row.actor == "system"]
        assert [row.subject_id for row in by_restart] == [inside.participant_id]
        assert json.loads(by_restart[0].details)["reason"] == "restart"
        assert verification.ok, verification

        # The waiting page reconnects: counted once, so closing it is seen at once.
        page = await participant_socket(world, tickets[waiting.participant_id])
        await page.wait_for("state", lambda d: d["state"] == "waiting")
        await host_again.wait_for(
            "participant",
            lambda e: e["participant_id"] == waiting.participant_id and e["presence"] == "waiting",
        )
        assert (await sockets_counted(new))[waiting.participant_id] == (1, 0)
        mark = len(host_again.events)
        await page.close()
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                host_again.arrived.clear()
                if any(
                    name == "participant"
                    and data["participant_id"] == waiting.participant_id
                    and data["presence"] == "connection_lost"
                    for name, data in host_again.events[mark:]
                ):
                    break
                await host_again.arrived.wait()
    finally:
        for socket in reconnected:
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await socket.close()
        for invited in (waiting, inside):
            await invited.close()
        await new.close()
