"""Redis, then PostgreSQL, go away during a meeting; the service says so clearly and recovers.

Two service processes share the database and a Redis of their own, as in production: the host's
console is on one, the participants' pages on the other, so every notice between them crosses
Redis. The database is reached through a proxy the test can cut (the shared PostgreSQL server
itself keeps running for other tests).

While Redis is away the host's decisions are still made, recorded and audited; the pages learn
them once Redis is back, and notices flow again without restarting anything. While the database
is away, every door answers 503 (problem+json for programs, a readable page for people, an error
answer on the socket) and nothing answers 500; once it is back the same action succeeds. In the
end every admission a host was told about is in the database, and the audit chain verifies.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from meetsvc.http.appkeys import AUDIT, SOCKETS
from meetsvc.storage.tables import audit_log, participants
from tests.conftest import IN_CI, World
from tests.scale.faults import REDIS_SERVER, PostgresCut, RedisServer
from tests.support.lobby import (
    PERSONS,
    Socket,
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

# Several service processes (or a Redis of their own): slow; `-m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


@pytest.fixture(scope="module")
def redis_binary() -> str:
    if REDIS_SERVER is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the fault tests")
        pytest.skip(reason)
    return REDIS_SERVER


@pytest_asyncio.fixture
async def redis_server(redis_binary: str, tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def service(
    postgres_database: str, postgres_cut: PostgresCut, redis_server: RedisServer, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The host's process (``world`` is built on it)."""
    settings = make_settings(
        postgres_cut.url_for(postgres_database), keys_dir, realtime={"redis_url": redis_server.url}
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


@pytest_asyncio.fixture
async def second(service: RunningService, clock: SettableClock) -> AsyncIterator[RunningService]:
    """The participants' process: same database, Redis, keys and clock, a port of its own."""
    settings = make_settings(
        service.settings.database.url,
        Path(service.settings.security.keys_dir),
        realtime={"redis_url": service.settings.realtime.redis_url},
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


class Problems(logging.Handler):
    """Collects log records that would mean a request failed in an unplanned way."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def unexpected(self) -> list[str]:
        # A stack trace, or a request answered 500 ("unexpected error"); a loop that says the
        # database is away and goes on is expected here.
        return [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.exc_info or (r.name == "meetsvc.error" and r.levelno >= logging.ERROR)
        ]


@pytest.fixture
def log_records() -> Iterator[Problems]:
    handler = Problems()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def fanout_listening(
    world: World, redis: RedisServer, processes: int, timeout: float = 2 * WAIT_SECONDS
) -> float:
    """Wait until every process's socket.io listener is subscribed again; returns the seconds it took."""
    channel = world.service.app[SOCKETS].manager.channel
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while await redis.subscribers(channel) < processes:
            await asyncio.sleep(0.1)
    return time.monotonic() - started


async def ready(service: RunningService, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            async with service.http.get("/readyz") as response:
                if response.status == 200:
                    return await response.json()
            await asyncio.sleep(0.1)


async def admissions(database_url: str, meeting_id: str, audit) -> tuple[dict[str, str], list[str], Any]:  # type: ignore[no-untyped-def]
    """Straight from the database (not through the proxy or the service): states, admit entries, the chain."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            states = dict(
                (
                    await connection.execute(
                        select(participants.c.id, participants.c.state).where(participants.c.meeting_id == meeting_id)
                    )
                ).all()
            )
            admitted = list(
                (
                    await connection.execute(
                        select(audit_log.c.subject_id)
                        .where(audit_log.c.action == "participant.admit", audit_log.c.meeting_id == meeting_id)
                        .order_by(audit_log.c.seq)
                    )
                ).scalars()
            )
            verification = await audit.verify(connection)
    finally:
        await engine.dispose()
    return states, admitted, verification


async def dependency_failures(service: RunningService) -> dict[tuple[str, str], float]:
    async with service.http.get("/metrics") as response:
        text = await response.text()
    counts = {}
    for line in text.splitlines():
        match = re.match(r'meetsvc_dependency_failures_total\{dependency="(\w+)",seen_by="(\w+)"\} (\S+)', line)
        if match:
            counts[(match[1], match[2])] = float(match[3])
    return counts


async def refusal(service: RunningService, ticket_: str) -> Any:
    """Why the participant namespace refuses this ticket now (the page's ``connect_error``)."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", lambda data=None: reasons.append(data), namespace="/participant")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            service.base_url,
            namespaces=["/participant"],
            auth={"ticket": ticket_},
            transports=["websocket"],
            wait_timeout=WAIT_SECONDS,
        )
    await client.disconnect()
    return reasons[0] if reasons else None


def assert_unavailable_problem(response_status: int, headers: Any, body: dict[str, Any], text: str) -> None:
    assert response_status == 503, text
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == 503
    assert int(headers["Retry-After"]) > 0
    assert "Traceback" not in text and "asyncpg" not in text and "sqlalchemy" not in text.lower()


@pytest.mark.timeout(300)
async def test_redis_then_postgresql_go_away_during_a_meeting(
    world: World,
    second: RunningService,
    redis_server: RedisServer,
    postgres_cut: PostgresCut,
    postgres_database: str,
    log_records: Problems,
) -> None:
    host_process, page_process = world.service, second
    on_pages = replace(world, service=page_process)  # the participants' requests go to the other process
    meeting = await book(world)
    meeting_id = meeting["id"]
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting_id)
    api = world.auth(world.municipality)

    # Four people identify with BankID on the pages' process and wait.
    people, pages, tickets = [], [], {}
    for number, name in zip(PERSONS[:4], ("Kim Andersson", "Alex Berg", "Sam Nilsson", "Robin Ek"), strict=False):
        invited = await invite(on_pages, meeting_id, name=name, personal_number=number)
        await identify(on_pages, invited, number)
        tickets[invited.participant_id] = await ticket(invited)
        page = await participant_socket(on_pages, tickets[invited.participant_id])
        await page.wait_for("state", lambda d: d["state"] == "waiting")
        people.append(invited)
        pages.append(page)
    first, second_, third, fourth = (p.participant_id for p in people)
    for person in (first, second_, third, fourth):  # arrivals crossed Redis to the host's process
        await host.wait_for("participant", lambda e, p=person: e["participant_id"] == p)
    told_admitted: list[str] = []
    sockets: list[Socket] = [host, *pages]
    try:
        # --- Redis goes away ------------------------------------------------------------------
        await redis_server.stop()
        async with host_process.http.get("/readyz") as response:
            assert response.status == 503
            body = await response.json()
            assert body["redis"] != "ok" and body["database"] == "ok", body
            assert "redis://" not in await response.text()
        async with host_process.http.get("/healthz") as response:
            assert response.status == 200
        async with host_process.http.get(f"/api/v1/meetings/{meeting_id}", headers=api) as response:
            assert response.status == 200 and (await response.json())["id"] == meeting_id

        # The host admits the first: decided, recorded, audited, and the host hears so at once.
        started = time.monotonic()
        answer = await host.call("admit", {"participant_id": first})
        assert answer == {"ok": True}, answer
        assert time.monotonic() - started < 2, "publishing to an absent Redis held up the host's answer"
        told_admitted.append(first)
        listing = await host.call("list")
        assert {e["participant_id"]: e["state"] for e in listing["participants"]}[first] == "admitted"
        # Someone new is invited, identifies and arrives on the other process meanwhile.
        late = await invite(on_pages, meeting_id, name="Alva Holm", personal_number=PERSONS[4])
        people.append(late)
        await identify(on_pages, late, PERSONS[4])
        tickets[late.participant_id] = await ticket(late)
        late_page = await participant_socket(on_pages, tickets[late.participant_id])
        sockets.append(late_page)
        await late_page.wait_for("state", lambda d: d["state"] == "waiting")
        # Without Redis neither side hears the other: the decision and the arrival wait in the
        # database. With Redis stopped nothing is in flight between the processes, so a round
        # trip on each socket shows all it will hear.
        await pages[0].round_trip()
        await host.round_trip()
        assert [s["state"] for s in pages[0].of("state")] == ["waiting"]
        assert not [e for e in host.of("participant") if e["participant_id"] == late.participant_id]

        # --- Redis comes back ------------------------------------------------------------------
        await redis_server.start()
        waited = await fanout_listening(world, redis_server, processes=2)
        await ready(host_process)
        await ready(page_process)
        # Each process catches its own pages up: the first person learns they were let in (and
        # gets their way into the video), the host sees who arrived, and nobody reconnected.
        await pages[0].wait_for("state", lambda d: d["state"] == "admitted")
        await pages[0].wait_for("credential")
        await host.wait_for(
            "participant", lambda e: e["participant_id"] == late.participant_id and e["state"] == "waiting"
        )
        assert all(socket.client.connected for socket in sockets)
        # And live notices cross between the processes again, with nothing restarted.
        started = time.monotonic()
        assert (await host.call("admit", {"participant_id": second_})) == {"ok": True}
        told_admitted.append(second_)
        await pages[1].wait_for("state", lambda d: d["state"] == "admitted")
        print(
            f"fan-out listening again {waited:.1f}s after Redis restarted; admit reached the page in "
            f"{(time.monotonic() - started) * 1000:.0f} ms"
        )

        # --- PostgreSQL goes away --------------------------------------------------------------
        await postgres_cut.cut()
        for process in (host_process, page_process):
            async with process.http.get(f"/api/v1/meetings/{meeting_id}", headers=api) as response:
                text = await response.text()
                assert_unavailable_problem(
                    response.status, response.headers, await response.json(content_type=None), text
                )
        body_in = {"role": "guardian", "display_name": "Ny Person", "email": "ny@example.se"}
        async with host_process.http.post(
            f"/api/v1/meetings/{meeting_id}/participants", json=body_in, headers=api
        ) as response:
            text = await response.text()
            assert_unavailable_problem(response.status, response.headers, await response.json(content_type=None), text)
        # A person's page: a readable page, in Swedish, that says to try again.
        async with people[2].page.get("/lobby", headers={"Accept": "text/html"}) as response:
            text = await response.text()
            assert response.status == 503, text
            assert response.headers["Content-Type"].startswith("text/html")
            assert int(response.headers["Retry-After"]) > 0
            assert "<h1>" in text and "Traceback" not in text
        async with host_process.http.get("/readyz") as response:
            body = await response.json()
            assert response.status == 503 and body["database"] != "ok" and body["redis"] == "ok", body
        async with host_process.http.get("/healthz") as response:
            assert response.status == 200
        # The host tries to admit the third: a clear error answer, the socket stays up.
        answer = await host.call("admit", {"participant_id": third})
        assert answer["ok"] is False and answer["error"] == "unavailable", answer
        assert host.client.connected
        # A page that reconnects now is refused with a reason, on which it tries again.
        assert await refusal(page_process, tickets[fourth]) == {"message": "unavailable"}

        # --- PostgreSQL comes back -------------------------------------------------------------
        await postgres_cut.restore()
        answer = await host.call("admit", {"participant_id": third})  # the same action, retried once
        assert answer == {"ok": True}, answer
        told_admitted.append(third)
        await pages[2].wait_for("state", lambda d: d["state"] == "admitted")
        await ready(host_process)
        await ready(page_process)
        async with page_process.http.get(f"/api/v1/meetings/{meeting_id}", headers=api) as response:
            assert response.status == 200
        async with people[3].page.get("/lobby") as response:
            assert response.status == 200

        # --- Nothing was lost ------------------------------------------------------------------
        states, admitted, verification = await admissions(postgres_database, meeting_id, host_process.app[AUDIT])
        assert verification.ok, verification
        assert admitted == told_admitted, "every admission a host was told about is audited, once"
        assert {p: states[p] for p in told_admitted} == dict.fromkeys(told_admitted, "admitted")
        assert states[fourth] == "waiting" and states[late.participant_id] == "waiting"
        for process in (host_process, page_process):
            metrics = (await (await process.http.get("/metrics")).text()).splitlines()
            assert not [line for line in metrics if 'status="500"' in line], "a request was answered 500"
        failures = await dependency_failures(host_process)
        assert {
            ("redis", "readyz"),
            ("redis", "fanout"),
            ("database", "http"),
            ("database", "socket"),
            ("database", "readyz"),
        } <= failures.keys(), failures
        assert log_records.unexpected() == []
    finally:
        for socket in sockets:
            await socket.close()
        for person in people:
            await person.close()


@pytest.mark.timeout(300)
async def test_every_admitted_participant_gets_a_credential_through_database_cuts(
    world: World,
    second: RunningService,
    postgres_cut: PostgresCut,
    postgres_database: str,
    log_records: Problems,
) -> None:
    """The database drops for a quarter of a second, again and again, right after a commit, while
    hosts admit people as fast as they can: whatever committed reaches each admitted person's page as a way in,
    without the page reconnecting, within seconds of the database answering again."""
    host_process, page_process = world.service, second
    on_pages = replace(world, service=page_process)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    hosts: dict[str, Socket] = {}  # by meeting
    people: list[Any] = []
    pages: dict[str, Socket] = {}
    meeting_of: dict[str, str] = {}
    try:
        for _ in range(2):  # two meetings of 15 (a meeting holds 20 at most)
            meeting_id = (await book(world))["id"]
            hosts[meeting_id] = await host_socket(world, cookie, meeting_id)
            for index in range(15):
                # Unverified (as someone without eID): a host's explicit admit lets them in all the same.
                invited = await invite(on_pages, meeting_id, name=f"Deltagare {index}")
                people.append(invited)
                page = await participant_socket(on_pages, await ticket(invited, unverified=True))
                await page.wait_for("state", lambda d: d["state"] == "waiting")
                pages[invited.participant_id] = page
                meeting_of[invited.participant_id] = meeting_id

        answers: dict[str, list[str]] = {p: [] for p in pages}

        async def admit(participant_id: str) -> None:
            host = hosts[meeting_of[participant_id]]
            answer = await host.call("admit", {"participant_id": participant_id})
            answers[participant_id].append("ok" if answer.get("ok") else answer["error"])

        async def admit_everyone() -> None:
            # At about 60 a second, each admit in flight while the next goes; whoever got
            # `unavailable` is admitted again (a host clicking again), until each is decided.
            pending = list(pages)
            while pending:
                tasks = []
                for participant_id in pending:
                    tasks.append(asyncio.create_task(admit(participant_id)))
                    await asyncio.sleep(1 / 60)
                await asyncio.gather(*tasks)
                pending = [p for p in pending if answers[p][-1] == "unavailable"]

        # The database goes away for 0.25 s right after a commit, five times over: when a
        # decision has just been made and its notices are on their way.
        postgres_cut.cut_after_commits(5, length=0.25)
        await admit_everyone()
        await postgres_cut.stop_cutting()
        restored_at = time.monotonic()
        stranded = [p for p, page in pages.items() if not page.of("credential")]
        # Each was admitted once: by the first answer `ok`, or by one that was lost with the
        # database (the retry then finds them admitted already).
        assert all(a[-1] in ("ok", "transition-refused") for a in answers.values()), answers
        for meeting_id in hosts:
            states, admitted, verification = await admissions(postgres_database, meeting_id, host_process.app[AUDIT])
            assert set(states.values()) == {"admitted"}, states
            assert sorted(admitted) == sorted(p for p in pages if meeting_of[p] == meeting_id), "one admit each"
            assert verification.ok, verification

        try:
            for page in pages.values():
                await page.wait_for("credential")
        except TimeoutError:
            without = [p for p, page in pages.items() if not page.of("credential")]
            pytest.fail(f"{len(without)} admitted participants never got their way in: {without}")
        waited = time.monotonic() - restored_at
        assert all(page.client.connected for page in pages.values()), "a page had to reconnect"
        lost_answers = sum(1 for a in answers.values() if a[-1] == "transition-refused")
        unavailable = sum(a.count("unavailable") for a in answers.values())
        print(
            f"{len(pages)} admitted through {postgres_cut.commits_cut} database cuts of 0.25 s, each right after a "
            f"commit: {unavailable} admits answered "
            f"unavailable, {lost_answers} committed with their answer lost; {len(stranded)} without a "
            f"credential when the admits ended, all with one {waited:.1f} s after the cuts ended"
        )
        assert log_records.unexpected() == []
    finally:
        for socket in [*hosts.values(), *pages.values()]:
            await socket.close()
        for person in people:
            await person.close()
