"""A host's decisions, and an arrival, cost a small and fixed number of SQL statements.

Each operation is made through the waiting room the socket.io namespaces call and delivered as
they deliver it (the courier, which hands video credentials over and records them in the audit
log), with every statement the engine sends for both counted (:mod:`tests.support.statements`).
On SQLite the transaction's own ``BEGIN IMMEDIATE`` is one of them; ``COMMIT`` reaches neither
database as a statement, so it is not counted; PostgreSQL's driver begins its transactions
without one. Admitting everyone who matches costs the same
however many people it admits. Both databases; the audit chain holds after every operation.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from meetsvc.core.tokens import token_hash
from meetsvc.http.appkeys import AUDIT, COURIER, ENGINE, SESSIONS, TICKETS, WAITING_ROOM
from meetsvc.realtime.namespaces import deliver_decided
from meetsvc.services.sessions import TOUCH_EVERY
from meetsvc.services.waiting_room import HostCaller, Notices
from meetsvc.storage.tables import audit_log, browser_sessions, meetings, participants
from tests.support.lobby import PERSONS, book, host_cookie, identify, invite, participant_socket, ticket
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.statements import Statements, counting

#: The most statements each operation may cost, decision and delivery, by database.
#: Admit on SQLite: ``BEGIN IMMEDIATE``; the meeting locked with the host's right (and their
#: session, when the caller gives it), the invitation's entries and the audit log's head; the
#: entry; the invitation's summary; the audit entries, the admission's and its video credential's
#: (minted inside the transaction where the backend signs it itself, as the built-in one does),
#: in one INSERT that moves the head too; the wait. PostgreSQL sends no ``BEGIN`` statement, but
#: reads the entries in a statement of their own after the meeting's lock (see
#: ``hosted_invitation``) and moves the audit head in one before the entries; it writes the
#: entry and the invitation's summary in one statement (SQLite, in two). The first admission of
#: a meeting costs no more: the statement that admits marks the meeting in progress (a trigger).
ADMIT = {"sqlite": 6, "postgresql": 6}
ARRIVE = {"sqlite": 8, "postgresql": 6}
DENY = {"sqlite": 5, "postgresql": 5}
#: And the video's revocation recorded after the commit.
SEND_BACK = {"sqlite": 8, "postgresql": 7}
REMOVE = {"sqlite": 5, "postgresql": 5}
#: As an admission, and the meeting's open entries read: for any number of people.
ADMIT_ALL = {"sqlite": 8, "postgresql": 7}


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    """The service on SQLite and on PostgreSQL: the bounds hold on both."""
    running = await start_service(make_settings(database_url, keys_dir), clock)
    yield running
    await running.close()


@pytest_asyncio.fixture
async def opened(world) -> AsyncIterator[list]:
    """Pages and sockets to close at the end."""
    held: list = []
    yield held
    for thing in held:
        await thing.close()


async def _waiting(world, opened: list, meeting_id: str, person: str, name: str = "Kim Andersson") -> str:
    """Someone invited, identified and waiting; answers the invitation's id."""
    invited = await invite(world, meeting_id, name=name, personal_number=person)
    opened.append(invited)
    await identify(world, invited, person)
    socket = await participant_socket(world, await ticket(invited))
    opened.append(socket)
    await socket.wait_for("state", lambda s: s["state"] == "waiting")
    return invited.participant_id


async def _counted(world, operation) -> tuple[Notices, Statements]:
    """An operation and the delivery of its notices, counted together."""
    with counting(world.service.app[ENGINE]) as statements:
        notices = await operation
        await deliver_decided(world.service.app[COURIER], notices)
    return notices, statements


def _bound(world, bounds: dict[str, int]) -> int:
    return bounds[world.service.app[ENGINE].dialect.name]


async def _chain_holds(world) -> None:
    verification = await world.service.app[AUDIT].verify_stored(world.service.app[ENGINE])
    assert verification.ok, verification


async def _actions(world) -> list[str]:
    async with world.service.app[ENGINE].connect() as connection:
        return list((await connection.execute(select(audit_log.c.action).order_by(audit_log.c.seq))).scalars())


async def _meeting_status(world, meeting_id: str) -> tuple[str, datetime]:
    async with world.service.app[ENGINE].connect() as connection:
        row = (
            await connection.execute(
                select(meetings.c.status, meetings.c.updated_at).where(meetings.c.id == meeting_id)
            )
        ).one()
    return row.status, row.updated_at


async def test_an_admission_costs_a_few_statements_and_records_both_entries(world, opened) -> None:
    """The first admission of a meeting too: it marks the meeting in progress, at its own time,
    in the statement that admits."""
    meeting = await book(world)
    host = HostCaller(world.hosts[world.municipality.id])
    room = world.service.app[WAITING_ROOM]
    first = await _waiting(world, opened, meeting["id"], PERSONS[0])
    second = await _waiting(world, opened, meeting["id"], PERSONS[1], "Alex Berg")
    assert (await _meeting_status(world, meeting["id"]))[0] == "scheduled"
    started_at = None
    for participant_id in (first, second):
        world.service.clock.advance(seconds=7)
        notices, statements = await _counted(world, room.admit(host, meeting["id"], participant_id))
        assert [view.state for view in notices.participants.values()] == ["admitted"]
        assert len(statements) <= _bound(world, ADMIT), str(statements)
        assert not statements.starting_with("UPDATE meetings"), str(statements)
        assert (await _actions(world))[-2:] == ["participant.admit", "video.credential_issued"]
        started_at = started_at or world.service.clock()
        assert await _meeting_status(world, meeting["id"]) == ("in_progress", started_at)
    await _chain_holds(world)


async def test_an_admission_after_the_first_compiles_no_statement_afresh(world, opened) -> None:
    """Every statement of an admission comes from SQLAlchemy's compiled cache once one admission
    has run: a statement with its rows built in (a multi-row ``VALUES``) has no cache key and is
    compiled again on every admission, at a cost of its own beside the statement's."""
    meeting = await book(world)
    host = HostCaller(world.hosts[world.municipality.id])
    room = world.service.app[WAITING_ROOM]
    people = [
        await _waiting(world, opened, meeting["id"], person, f"Person {n}") for n, person in enumerate(PERSONS[:3])
    ]
    await _counted(world, room.admit(host, meeting["id"], people[0]))  # the meeting's first, and warming up
    await _counted(world, room.admit(host, meeting["id"], people[1]))
    notices, statements = await _counted(world, room.admit(host, meeting["id"], people[2]))
    assert [view.state for view in notices.participants.values()] == ["admitted"]
    assert len(statements) > 1
    assert statements.compiled_afresh == [], str(statements)


async def test_a_decision_checks_the_hosts_session_with_no_statement_of_its_own(world, opened) -> None:
    """The console's decisions carry the staff session: it is checked in the statement that
    checks the host and locks the meeting, and its idle clock moves in the same transaction
    (one statement more, only when due)."""
    meeting = await book(world)
    staff_id = world.hosts[world.municipality.id]
    cookie = await host_cookie(world, staff_id)
    async with world.service.app[ENGINE].connect() as connection:
        session_id = (
            await connection.execute(
                select(browser_sessions.c.id).where(browser_sessions.c.token_hash == token_hash(cookie))
            )
        ).scalar_one()
    room, sessions = world.service.app[WAITING_ROOM], world.service.app[SESSIONS]
    people = [
        await _waiting(world, opened, meeting["id"], person, f"Person {n}") for n, person in enumerate(PERSONS[:3])
    ]
    await room.admit(HostCaller(staff_id), meeting["id"], people[0])  # the meeting's first admission

    host = HostCaller(staff_id, sessions.check(session_id, staff_id))
    notices, statements = await _counted(world, room.admit(host, meeting["id"], people[1]))
    assert [view.state for view in notices.participants.values()] == ["admitted"]
    assert len(statements) <= _bound(world, ADMIT), str(statements)
    assert not statements.starting_with("UPDATE browser_sessions")

    world.service.clock.advance(seconds=TOUCH_EVERY.total_seconds())
    host = HostCaller(staff_id, sessions.check(session_id, staff_id))
    notices, statements = await _counted(world, room.admit(host, meeting["id"], people[2]))
    assert [view.state for view in notices.participants.values()] == ["admitted"]
    assert len(statements) <= _bound(world, ADMIT) + 1, str(statements)
    assert len(statements.starting_with("UPDATE browser_sessions")) == 1, str(statements)
    await _chain_holds(world)


async def test_an_arrival_costs_a_few_statements(world, opened) -> None:
    meeting = await book(world)
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    opened.append(invited)
    await identify(world, invited, PERSONS[0])
    lobby = world.service.app[TICKETS].verify(await ticket(invited), now=world.service.clock())
    notices, statements = await _counted(world, world.service.app[WAITING_ROOM].arrive(lobby))
    assert [view.state for view in notices.participants.values()] == ["waiting"]
    assert len(statements) <= _bound(world, ARRIVE), str(statements)
    assert (await _actions(world))[-1] == "participant.arrive"
    await _chain_holds(world)


async def test_deny_send_back_and_remove_cost_a_few_statements(world, opened) -> None:
    meeting = await book(world)
    host = HostCaller(world.hosts[world.municipality.id])
    room = world.service.app[WAITING_ROOM]
    denied = await _waiting(world, opened, meeting["id"], PERSONS[0])
    sent_back = await _waiting(world, opened, meeting["id"], PERSONS[1], "Alex Berg")
    removed = await _waiting(world, opened, meeting["id"], PERSONS[2], "Sam Lind")
    await room.admit(host, meeting["id"], sent_back)

    notices, statements = await _counted(world, room.deny(host, meeting["id"], denied, "Fel möte"))
    assert next(iter(notices.participants.values())).state == "denied"
    assert len(statements) <= _bound(world, DENY), str(statements)

    notices, statements = await _counted(world, room.send_back(host, meeting["id"], sent_back, message="Vänta"))
    assert notices.participants and next(iter(notices.participants.values())).state == "waiting"
    assert len(statements) <= _bound(world, SEND_BACK), str(statements)
    assert (await _actions(world))[-2:] == ["participant.send_back", "video.revoked"]

    notices, statements = await _counted(world, room.remove(host, meeting["id"], removed))
    assert next(iter(notices.participants.values())).state == "removed"
    assert len(statements) <= _bound(world, REMOVE), str(statements)
    await _chain_holds(world)


async def test_admitting_everyone_who_matches_costs_the_same_however_many_they_are(world, opened) -> None:
    host = HostCaller(world.hosts[world.municipality.id])
    room = world.service.app[WAITING_ROOM]
    counts = {}
    for size in (1, 4):
        meeting = await book(world)
        waiting = [
            await _waiting(world, opened, meeting["id"], person, f"Person {n}")
            for n, person in enumerate(PERSONS[:size])
        ]
        notices, statements = await _counted(world, room.admit_all_matching(host, meeting["id"]))
        assert sorted(notices.hosts[a].participant_id for a in notices.needs_credential) == sorted(waiting)
        assert len(statements) <= _bound(world, ADMIT_ALL), str(statements)
        assert (await _meeting_status(world, meeting["id"]))[0] == "in_progress"
        counts[size] = len(statements)
        actions = await _actions(world)
        assert actions[-2 * size :] == ["participant.admit"] * size + ["video.credential_issued"] * size
    assert counts[1] == counts[4], counts
    await _chain_holds(world)


async def test_two_decisions_at_once_about_one_entry_each_start_from_the_other(world, opened) -> None:
    """Reading less must not mean reading stale: a decision that waited for another's lock on the
    meeting decides from what that one wrote (on PostgreSQL a statement that waits for a lock
    reads other tables as they were when it started, so the entries are read after the lock)."""
    meeting = await book(world)
    host = HostCaller(world.hosts[world.municipality.id])
    room = world.service.app[WAITING_ROOM]
    for attempt in range(5):
        participant_id = await _waiting(world, opened, meeting["id"], PERSONS[attempt], f"Person {attempt}")
        await asyncio.gather(
            room.admit(host, meeting["id"], participant_id),
            room.deny(host, meeting["id"], participant_id),
            return_exceptions=True,
        )
        async with world.service.app[ENGINE].connect() as connection:
            details = (
                await connection.execute(
                    select(audit_log.c.details)
                    .where(audit_log.c.subject_id == participant_id, audit_log.c.action.in_(_DECISIONS))
                    .order_by(audit_log.c.seq)
                )
            ).scalars()
            steps = [json.loads(one) for one in details]
            state = (
                await connection.execute(select(participants.c.state).where(participants.c.id == participant_id))
            ).scalar_one()
        assert steps and steps[0]["from"] == "waiting", steps
        assert all(before["to"] == after["from"] for before, after in itertools.pairwise(steps)), steps
        assert steps[-1]["to"] == state
    await _chain_holds(world)


_DECISIONS = ("participant.admit", "participant.deny")
