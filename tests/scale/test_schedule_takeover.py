"""The schedule moves to another process when its leader is killed, and every reminder still
reaches its recipient: exactly once, unless the kill falls inside a send.

Three real ``meetsvc serve`` processes share one PostgreSQL database, each with the schedule
switched on; the one holding the advisory lock leads (``meetsvc_schedule_leading 1`` on its
``/metrics``). Meetings are booked so that group A's reminders fall due while the first leader
runs, B's right after it is killed with SIGKILL (while no process may lead yet), and C's after
another process has taken over. The new leader's rebuild runs A's and B's reminder jobs again
(they are past due); only B's may be recorded then. That leader is killed once everything due
so far is sent *and marked* in the outbox, and each person gets each message exactly once.

The second test kills the leader in the middle of sending. A process killed between an SMTP
server's "accepted" and its own mark in the outbox cannot know the message went out: it stays
claimed until its lease runs out and another process sends it again, with the same Message-ID
(at least once: see :mod:`meetsvc.notify.deliverer`). Nothing is lost, and a receiver can tell
the copy by its id.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import outbox_messages
from tests.notify.mailserver import MailServer
from tests.scale.processes import (
    Deployment,
    ServiceProcess,
    Shared,
    add_participant,
    base_url,
    book,
    build_deployment,
    free_ports,
    metrics,
    running,
)
from tests.support.timing import WAIT_SECONDS

# Several service processes (or a Redis of their own): slow; `-m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

FROM = "no-reply@sip-mote.example.se"
LEADER_RETRY_SECONDS = 1.5
#: How long a message claimed by a process that died stays claimed before another sends it.
LEASE_SECONDS = 5.0
#: Seconds from booking to each group's reminder, and to the leader's death.
LEADS = {"A": 5.0, "B": 11.0, "C": 17.0}
KILL_AT = 10.5
SUBJECTS = {"Inbjudan:": "invitation", "Påminnelse:": "reminder"}


def schedule_config(shared: Shared, port: int, public_url: str, mail_server: MailServer) -> dict:  # type: ignore[type-arg]
    return shared.config(
        port,
        public_url,
        schedule={"enabled": True, "sync_seconds": 0.5, "leader_retry_seconds": LEADER_RETRY_SECONDS},
        notify={
            "email": "smtp",
            "sms": "off",
            "from_address": FROM,
            "reminders_minutes_before": [60],
            "smtp": {"host": "127.0.0.1", "port": mail_server.port, "security": "none", "timeout_seconds": 2.5},
            "delivery": {
                "poll_seconds": 0.2,
                "send_timeout_seconds": 2.5,
                "lease_seconds": LEASE_SECONDS,
                "first_retry_seconds": 0.5,
                "max_retry_seconds": 2,
            },
        },
    )


def received(mail_server: MailServer) -> Counter[tuple[str, str]]:
    """How many messages each (recipient, kind) got."""
    counts: Counter[tuple[str, str]] = Counter()
    for mail in mail_server.received:
        subject = mail.message["Subject"]
        kind = next((k for prefix, k in SUBJECTS.items() if subject.startswith(prefix)), subject)
        for recipient in mail.rcpt_tos:
            counts[(recipient, kind)] += 1
    return counts


async def leaders(http: aiohttp.ClientSession, processes: list[ServiceProcess]) -> list[ServiceProcess]:
    found = await asyncio.gather(*(metrics(http, p.urls[0]) for p in processes))
    return [p for p, figures in zip(processes, found, strict=False) if figures.get("meetsvc_schedule_leading") == 1.0]


async def the_leader(http: aiohttp.ClientSession, processes: list[ServiceProcess]) -> ServiceProcess:
    """The one process leading, once exactly one does."""
    found: list[ServiceProcess] = []

    async def one() -> bool:
        found[:] = await leaders(http, processes)
        return len(found) == 1

    await eventually(
        one, LEADER_RETRY_SECONDS + WAIT_SECONDS, f"not exactly one leader among {len(processes)} processes"
    )
    return found[0]


async def eventually(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def three_processes(shared: Shared, tmp_path: Path, mail_server: MailServer) -> list[ServiceProcess]:
    first = free_ports(3)
    public_url = base_url(first)  # as behind a proxy: one address for all
    return [
        ServiceProcess(schedule_config(shared, first + i, public_url, mail_server), tmp_path, f"process-{i}")
        for i in range(3)
    ]


async def book_groups(
    deployment: Deployment, processes: list[ServiceProcess], leads: dict[str, float], people: int = 2
) -> tuple[float, dict[str, list[str]], Counter[tuple[str, str]]]:
    """A meeting per group whose reminder (60 minutes before) falls due ``lead`` seconds from
    now, booked through each process in turn; when that was, who is in each group, and what
    each person should receive."""
    booked_at = time.monotonic()
    now = datetime.now(UTC)
    groups: dict[str, list[str]] = {}
    expected: Counter[tuple[str, str]] = Counter()
    for index, (group, lead) in enumerate(leads.items()):
        url = processes[index % len(processes)].urls[0]
        starts = (now + timedelta(minutes=60, seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
        meeting = await book(deployment, url, starts)
        groups[group] = []
        for n in range(people):
            address = f"{group.lower()}{n}@example.se"
            await add_participant(deployment, url, meeting["id"], display_name=f"Deltagare {group}{n}", email=address)
            groups[group].append(address)
            expected[(address, "invitation")] += 1
            expected[(address, "reminder")] += 1
    return booked_at, groups, expected


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        query = select(func.count()).select_from(outbox_messages).where(outbox_messages.c.status != "sent")
        return (await connection.execute(query)).scalar_one()


async def outbox_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(outbox_messages.c.status, outbox_messages.c.attempts))).all())


@pytest_asyncio.fixture
async def shared(postgres_database: str, tmp_path: Path) -> Shared:
    """The schedule needs no Redis: only the database is shared."""
    shared = Shared(postgres_database, tmp_path / "keys", tmp_path / "bankid-simulator")
    await asyncio.to_thread(shared.prepare)
    return shared


@pytest_asyncio.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_database)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_another_process_takes_the_schedule_over_and_each_reminder_goes_out_once(
    shared: Shared, tmp_path: Path, mail_server: MailServer, engine: AsyncEngine, http: aiohttp.ClientSession
):
    processes = three_processes(shared, tmp_path, mail_server)
    async with running(*processes):
        deployment = await build_deployment(shared)
        booked_at, groups, expected = await book_groups(deployment, processes, LEADS)
        leader = await the_leader(http, processes)

        async def a_sent_and_marked() -> bool:
            counts = received(mail_server)
            return all(counts[(a, "reminder")] == 1 for a in groups["A"]) and await unsent(engine) == 0

        await eventually(a_sent_and_marked, LEADS["A"] + WAIT_SECONDS, "A's reminders did not go out")
        assert time.monotonic() < booked_at + KILL_AT, "the machine was too slow to send A's reminders before the kill"
        assert not [a for a in groups["B"] + groups["C"] if received(mail_server)[(a, "reminder")]]

        await asyncio.sleep(max(0.0, booked_at + KILL_AT - time.monotonic()))
        leader.signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await leader.wait(timeout=WAIT_SECONDS)
        survivors = [p for p in processes if p is not leader]

        await the_leader(http, survivors)
        takeover_seconds = time.monotonic() - killed_at
        assert time.monotonic() < booked_at + LEADS["C"], "the takeover came after C's reminders fell due"

        async def all_arrived() -> bool:
            return all(received(mail_server)[key] >= 1 for key in expected) and await unsent(engine) == 0

        # Once every message is final no process sends it again, and the mail server records a
        # message before it accepts it: the counts below are complete, with no pause for a duplicate.
        await eventually(
            all_arrived, booked_at + LEADS["C"] + WAIT_SECONDS - time.monotonic(), "reminders went missing"
        )
        counts = received(mail_server)
        assert counts == expected, {key: n for key, n in counts.items() if n != expected.get(key)}
        assert len(await leaders(http, survivors)) == 1
        rows = await outbox_rows(engine)
        assert len(rows) == sum(expected.values())
        assert {row.status for row in rows} == {"sent"} and {row.attempts for row in rows} == {1}
        print(f"takeover after {takeover_seconds:.2f} s")


async def test_a_leader_killed_while_sending_loses_no_reminder_and_a_copy_keeps_its_message_id(
    shared: Shared, tmp_path: Path, mail_server: MailServer, engine: AsyncEngine, http: aiohttp.ClientSession
):
    processes = three_processes(shared, tmp_path, mail_server)
    async with running(*processes):
        deployment = await build_deployment(shared)
        _, groups, expected = await book_groups(deployment, processes, {"D": 4.0}, people=3)

        async def invitations_out() -> bool:
            return (
                sum(n for (_, kind), n in received(mail_server).items() if kind == "invitation") == 3
                and await unsent(engine) == 0
            )

        await eventually(invitations_out, WAIT_SECONDS, "the invitations did not go out")
        leader = await the_leader(http, processes)
        async with asyncio.timeout(WAIT_SECONDS):
            while not any(received(mail_server)[(a, "reminder")] for a in groups["D"]):
                await asyncio.sleep(0.002)
        leader.signal(signal.SIGKILL)  # the leader recorded them and, woken first, most likely sends them
        await leader.wait(timeout=WAIT_SECONDS)

        async def all_arrived() -> bool:
            return all(received(mail_server)[key] >= 1 for key in expected) and await unsent(engine) == 0

        # Every message final, and the killed process gone: nothing more can arrive (see above).
        await eventually(all_arrived, LEASE_SECONDS + WAIT_SECONDS, "a reminder was lost with the process that sent it")
        copies: dict[str, set[str]] = {}
        for mail in mail_server.received:
            if mail.message["Subject"].startswith("Påminnelse:"):
                copies.setdefault(mail.rcpt_tos[0], set()).add(mail.message["Message-ID"])
        assert sorted(copies) == sorted(groups["D"])
        assert all(len(ids) == 1 for ids in copies.values()), "a copy sent again must carry the first one's Message-ID"
        assert received(mail_server) - expected == Counter(
            {key: n - 1 for key, n in received(mail_server).items() if n > 1 and key[1] == "reminder"}
        ), "only reminders in flight at the kill may come twice"
        rows = await outbox_rows(engine)
        assert len(rows) == sum(expected.values()) and {row.status for row in rows} == {"sent"}
        print(f"sent twice: {sum((received(mail_server) - expected).values())} of {len(groups['D'])}")
