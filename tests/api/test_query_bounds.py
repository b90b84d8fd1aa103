"""The organiser API's lists cost the same number of statements however long they are.

Each list is read through the booking service the API handlers call, with every statement the
engine sends for it counted (:mod:`tests.support.statements`), for 1, 10 and 30 meetings (or
1, 8 and 20 participants, the most a meeting holds): the count must not grow with the list. On
SQLite a read also must not take the write lock: its transaction starts with a plain (deferred)
``BEGIN``, never ``BEGIN IMMEDIATE``, so readers do not queue behind writers. Both databases.
"""

from __future__ import annotations

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.http.appkeys import BOOKING, ENGINE
from tests.api.helpers import Api
from tests.support.statements import Statements, counting

SIZES = (1, 10, 30)
#: A meeting holds at most ``meetings.max_participants`` (20 by default) people.
ROSTER_SIZES = (1, 8, 20)


def assert_reads_take_no_write_lock(dialect: str, statements: Statements) -> None:
    if dialect != "sqlite":
        return  # PostgreSQL's driver begins its transactions itself; nothing to count here
    assert statements.starting_with("BEGIN"), str(statements)
    assert not statements.starting_with("BEGIN IMMEDIATE"), str(statements)


async def test_a_page_of_meetings_costs_the_same_statements_however_many_there_are(api: Api) -> None:
    world = api.world
    booking, engine = world.service.app[BOOKING], world.service.app[ENGINE]
    caller = OrganisationCaller(organisation_id=world.municipality.id, actor="api-client:test")
    costs: dict[int, Statements] = {}
    made = 0
    for size in SIZES:
        while made < size:
            meeting = await api.create_meeting()
            await api.add_participant(meeting["id"])  # so each meeting has a count to read
            made += 1
        with counting(engine) as statements:
            found = await booking.list_meetings(caller, limit=100)
        assert len(found) == size
        assert all(m.participant_count == 1 and m.host_ids for m in found)
        costs[size] = statements
        assert_reads_take_no_write_lock(engine.dialect.name, statements)
    counts = {size: len(statements) for size, statements in costs.items()}
    assert len(set(counts.values())) == 1, f"statements grow with the page: {counts}\n{costs[SIZES[-1]]}"
    assert counts[SIZES[-1]] <= 4, str(costs[SIZES[-1]])


async def test_a_meeting_s_participants_cost_the_same_statements_however_many_there_are(api: Api) -> None:
    world = api.world
    booking, engine = world.service.app[BOOKING], world.service.app[ENGINE]
    caller = OrganisationCaller(organisation_id=world.municipality.id, actor="api-client:test")
    meeting = await api.create_meeting()
    costs: dict[int, Statements] = {}
    added = 0
    for size in ROSTER_SIZES:
        while added < size:
            await api.add_participant(meeting["id"], display_name=f"Deltagare {added}")
            added += 1
        with counting(engine) as statements:
            found = await booking.list_participants(caller, meeting["id"])
        assert len(found) == size
        assert all(p.invitation is not None and p.invitation.status == "active" for p in found)
        costs[size] = statements
        assert_reads_take_no_write_lock(engine.dialect.name, statements)
    counts = {size: len(statements) for size, statements in costs.items()}
    assert len(set(counts.values())) == 1, f"statements grow with the roster: {counts}\n{costs[ROSTER_SIZES[-1]]}"
    # BEGIN, the meeting, its hosts (whether an organiser may read it is decided by who leads it),
    # then the participants, their invitations and their identifications: one statement each.
    assert counts[ROSTER_SIZES[-1]] <= 6, str(costs[ROSTER_SIZES[-1]])
