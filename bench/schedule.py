"""The schedule after a restart: how long rebuilding it from the database takes, what it holds
in memory, and whether the reminders that fall due in the run all go out, once.

1. Seeds a fresh database (PostgreSQL when reachable, else SQLite; ``--database`` chooses) with
   ``--meetings`` meetings (10,000 by default) of six participants each, spread over the next
   fourteen days, through :mod:`meetsvc.services.directory` and :mod:`meetsvc.services.booking` — the operations
   behind the API, each in its own transaction with its audit entry. Booking here records no
   invitation messages (sending 60,000 invitations is not what is measured); the reminders are
   the schedule's own and are recorded when they fall due.
2. Books ``--soon`` meetings (10) starting a little over an hour from now, so that their
   one-hour reminders fall due while the benchmark runs.
3. Starts the service as its own process (``python -m meetsvc --config … serve``, e-mail to an
   SMTP server in this process), waits until it leads the schedule, reads the last rebuild's
   time and the jobs it holds from ``/metrics`` and its RSS with psutil, and stops it; then
   does the same with the schedule switched off — the floor. The two alternate for
   ``--rounds`` rounds (the first start of all is a warm-up and is not reported): every
   reported figure is of a restart on the full database.
4. Reads the rows a rebuild reads in this process too, interleaved with the rounds: the floor
   for the rebuild's time.
5. Starts the service once more and waits until the soon meetings' reminders have reached the
   SMTP server. Then it counts, from the database, every reminder owed by then — a participant
   is owed one whose time came after they were invited and before the meeting — which includes
   day-before reminders of spread meetings that fell due during the run: ``reminders_due``;
   ``reminders_sent`` is how many of those arrived, ``reminders_duplicated`` how many arrived
   twice, ``reminders_unexpected`` how many arrived that nobody was owed.

Usage::

    .venv/bin/python bench/schedule.py                 # 10,000 meetings
    .venv/bin/python bench/schedule.py --meetings 1000 --rounds 2

The last line printed is one JSON object:
``{"meetings", "reminders_scheduled", "rebuild_s", "rss_mib", "reminders_due", "reminders_sent", …}``.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import psutil
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import load_keys
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import CareArea, OrganisationKind, ParticipantRole
from meetsvc.services.audit import AuditLog
from meetsvc.services.booking import Booking, BookingLimits, NewMeeting, NewParticipant
from meetsvc.services.directory import Directory
from meetsvc.services.links import JoinLinks
from meetsvc.storage.engine import create_engine
from meetsvc.storage.migrate import upgrade
from meetsvc.storage.tables import (
    meetings as meetings_table,
    participants as participants_table,
)

POSTGRES_ADMIN = os.environ.get("MEETSVC_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REMINDER_LEAD = timedelta(minutes=60)
LEADS = [timedelta(minutes=1440), REMINDER_LEAD]  # as the configuration below says
SEND_MARGIN = timedelta(seconds=15)
SPREAD = timedelta(days=14)
FIRST_START = timedelta(hours=3)
PARTICIPANTS = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered), "max": ordered[-1], "min": ordered[0]}


# The database --------------------------------------------------------------------------------


async def postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except Exception:
        return False
    await connection.close()
    return True


async def fresh_database(kind: str, workdir: Path) -> tuple[str, str | None]:
    """A migrated empty database: its URL and, for PostgreSQL, its name (to drop at the end)."""
    if kind == "postgresql":
        name = f"meetsvc_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    else:
        name = None
        url = f"sqlite+aiosqlite:///{workdir / 'meetsvc.sqlite3'}"
    await upgrade(url)
    return url, name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class Seeder:
    """Books meetings through the same operations as the organiser API."""

    def __init__(self, url: str, keys_dir: Path, concurrency: int) -> None:
        keys = load_keys(keys_dir, create_missing=True)
        self.engine = create_engine(url)
        audit = AuditLog(keys.audit_chain)
        vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
        self.directory = Directory(self.engine, audit, vault)
        links = JoinLinks(keys.derive("invitation links").reveal(), "http://127.0.0.1")
        self.booking = Booking(self.engine, audit, vault, BookingLimits(max_ahead=timedelta(days=400)), links=links)
        self.gate = asyncio.Semaphore(concurrency)
        self.caller: OrganisationCaller | None = None
        self.partner_id = ""
        self.host_id = ""

    async def organisations(self) -> None:
        municipality = await self.directory.create_organisation("Exempelstads kommun", OrganisationKind.MUNICIPALITY)
        region = await self.directory.create_organisation("Region Exempel", OrganisationKind.REGION)
        self.caller = OrganisationCaller(municipality.id, "bench")
        self.partner_id = region.id
        self.host_id = (await self.directory.add_staff_member(self.caller, display_name="Ledare")).id

    async def meeting(self, index: int, starts_at: datetime) -> None:
        assert self.caller is not None
        async with self.gate:
            meeting = await self.booking.create_meeting(
                self.caller,
                NewMeeting(
                    self.partner_id,
                    "SIP-möte",
                    CareArea.BARN_OCH_UNGA,
                    starts_at,
                    starts_at + timedelta(hours=1),
                    (self.host_id,),
                ),
            )
            for person in range(PARTICIPANTS):
                await self.booking.add_participant(
                    self.caller,
                    meeting.id,
                    NewParticipant(
                        role=ParticipantRole.INDIVIDUAL if person % 2 == 0 else ParticipantRole.GUARDIAN,
                        display_name=f"Deltagare {index}-{person}",
                        email=f"p{index}-{person}@example.se",
                    ),
                )

    async def close(self) -> None:
        await self.engine.dispose()


async def read_rebuild_rows(url: str, horizon: timedelta) -> float:
    """The floor of a rebuild: the same rows read, and nothing planned."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        until = datetime.now(UTC) + horizon + timedelta(hours=24)
        async with engine.connect() as connection:
            (
                await connection.execute(
                    select(
                        meetings_table.c.id,
                        meetings_table.c.status,
                        meetings_table.c.starts_at,
                        meetings_table.c.ends_at,
                        meetings_table.c.purged_at,
                    ).where(meetings_table.c.purged_at.is_(None), meetings_table.c.starts_at <= until)
                )
            ).all()
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def reminders_fallen_due(url: str, leads: list[timedelta], until: datetime) -> dict[str, datetime]:
    """Every reminder the service owes by ``until``: address → when it fell due.

    A participant is owed a reminder whose time came after they were invited (one invited later
    has the invitation instead) and before the meeting began. That includes the soon meetings'
    hour-before reminders and any day-before reminders of the spread meetings that fall due
    while the benchmark runs.
    """
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(participants_table.c.email, participants_table.c.created_at, meetings_table.c.starts_at)
                    .join(meetings_table, meetings_table.c.id == participants_table.c.meeting_id)
                    .where(meetings_table.c.starts_at <= until + max(leads))
                )
            ).all()
    finally:
        await engine.dispose()
    owed: dict[str, datetime] = {}
    for email_, created_at, starts_at in rows:
        for lead in leads:
            due = starts_at - lead
            if created_at <= due <= until and due < starts_at:
                owed[email_] = due
    return owed


# The mail server -----------------------------------------------------------------------------


class Sink:
    """Counts the reminders each address receives."""

    def __init__(self) -> None:
        self.reminders: dict[str, int] = {}
        self.other = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        subject = str(email.message_from_bytes(bytes(content), policy=email.policy.default)["Subject"] or "")
        if subject.startswith(("Påminnelse:", "Reminder:")):
            for address in envelope.rcpt_tos:
                self.reminders[address] = self.reminders.get(address, 0) + 1
        else:
            self.other += 1
        return "250 OK"


# The service ---------------------------------------------------------------------------------


def write_config(workdir: Path, url: str, keys_dir: Path, smtp_port: int, *, schedule: bool) -> tuple[Path, int]:
    port = free_port()
    config = workdir / f"meetsvc-{'subject' if schedule else 'floor'}.toml"
    config.write_text(
        f"""environment = "development"

[server]
host = "127.0.0.1"
port = {port}

[database]
url = {json.dumps(url)}

[security]
keys_dir = {json.dumps(str(keys_dir))}
create_missing_keys = true
secure_cookies = false

[identity]
provider = "bankid-simulator"

[simulator]
certs_dir = {json.dumps(str(workdir / "bankid-simulator"))}
app_port = 0

[notify]
email = "smtp"
sms = "off"
from_address = "no-reply@sip-mote.example.se"
reminders_minutes_before = [1440, 60]

[notify.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[notify.delivery]
poll_seconds = 1.0

[schedule]
enabled = {"true" if schedule else "false"}

[logging]
level = "WARNING"
format = "text"
""",
        encoding="utf-8",
    )
    return config, port


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


class Service:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = log
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "meetsvc", "--config", str(config), "serve"],
                cwd=str(ROOT),
                stdout=output,
                stderr=subprocess.STDOUT,
                env=child_env(),
            )

    async def metrics(self, http: aiohttp.ClientSession) -> dict[str, float]:
        async with http.get(f"{self.base_url}/metrics") as answer:
            text = await answer.text()
        found = {}
        for line in text.splitlines():
            if line.startswith("meetsvc_schedule_"):
                name, value = line.rsplit(" ", 1)
                found[name] = float(value)
        return found

    async def ready(self, http: aiohttp.ClientSession, *, leading: bool, timeout: float = 60.0) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}; see {self._log}")
            try:
                async with http.get(f"{self.base_url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        found = await self.metrics(http)
                        if not leading or found.get("meetsvc_schedule_leading") == 1.0:
                            return found
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the service was not ready within {timeout:.0f} s; see {self._log}")

    async def settled_rss(self) -> int:
        process = psutil.Process(self.process.pid)
        last = process.memory_info().rss
        for _ in range(20):
            await asyncio.sleep(0.25)
            now = process.memory_info().rss
            if abs(now - last) < 64 * 1024:
                return now
            last = now
        return last

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            # A child's exit is no asyncio event here (Popen, not asyncio.subprocess): poll it.
            while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


# The run -------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, object]:
    kind = args.database
    if kind == "auto":
        kind = "postgresql" if await postgres_reachable() else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="meetsvc-bench-schedule-"))
    keys_dir = workdir / "keys"
    url, pg_name = await fresh_database(kind, workdir)
    loop = asyncio.get_running_loop()
    sink = Sink()
    smtp = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0)
    smtp_port = smtp.sockets[0].getsockname()[1]
    services: list[Service] = []
    try:
        seeder = Seeder(url, keys_dir, concurrency=8 if kind == "postgresql" else 1)
        await seeder.organisations()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        step = SPREAD / args.meetings
        started = time.perf_counter()
        await asyncio.gather(*(seeder.meeting(i, now + FIRST_START + i * step) for i in range(args.meetings)))
        book_s = time.perf_counter() - started
        print(f"booked {args.meetings} meetings of {PARTICIPANTS} on {kind} in {book_s:.1f} s", flush=True)

        # Meetings whose hour-before reminders fall due in the run.
        soon_start = (datetime.now(UTC) + REMINDER_LEAD + timedelta(seconds=args.due_in)).replace(microsecond=0)
        await asyncio.gather(*(seeder.meeting(args.meetings + i, soon_start) for i in range(args.soon)))
        due_at = soon_start - REMINDER_LEAD
        await seeder.close()
        soon_reminders = args.soon * PARTICIPANTS

        subject_config, subject_port = write_config(workdir, url, keys_dir, smtp_port, schedule=True)
        floor_config, floor_port = write_config(workdir, url, keys_dir, smtp_port, schedule=False)
        rebuilds, row_reads, subject_rss, floor_rss, held = [], [], [], [], []
        async with aiohttp.ClientSession() as http:
            # The first start of all creates keys and warms the disk cache: not reported.
            warm = Service(subject_config, subject_port, workdir / "subject.log")
            services.append(warm)
            await warm.ready(http, leading=True)
            await warm.stop()
            for round_ in range(args.rounds):
                order = ("subject", "floor") if round_ % 2 == 0 else ("floor", "subject")
                for which in order:
                    if which == "subject":
                        service = Service(subject_config, subject_port, workdir / "subject.log")
                        services.append(service)
                        found = await service.ready(http, leading=True)
                        rebuilds.append(found["meetsvc_schedule_rebuild_seconds"])
                        held.append(found)
                        subject_rss.append(await service.settled_rss())
                    else:
                        service = Service(floor_config, floor_port, workdir / "floor.log")
                        services.append(service)
                        await service.ready(http, leading=False)
                        floor_rss.append(await service.settled_rss())
                        row_reads.append(await read_rebuild_rows(url, timedelta(minutes=360)))
                    await service.stop()
                print(
                    f"round {round_ + 1}: rebuild {rebuilds[-1] * 1000:.1f} ms (reading the rows alone "
                    f"{row_reads[-1] * 1000:.1f} ms), RSS {subject_rss[-1] / 2**20:.1f} MiB "
                    f"(schedule off {floor_rss[-1] / 2**20:.1f} MiB)",
                    flush=True,
                )

            final = Service(subject_config, subject_port, workdir / "subject.log")
            services.append(final)
            await final.ready(http, leading=True)
            deadline = time.monotonic() + max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + args.patience
            # A count reaching a threshold before a deadline: polling keeps the sink a plain counter.
            while time.monotonic() < deadline and sum(min(1, n) for n in sink.reminders.values()) < soon_reminders:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            # Room for a duplicate, were there one, and for the reminders owed by now to arrive.
            await asyncio.sleep(SEND_MARGIN.total_seconds() + 2)
            stopped_at = datetime.now(UTC)
            await final.stop()
            # Reminders that fell due in the last seconds may be on their way: neither owed nor
            # counted as unexpected.
            owed_by_stop = await reminders_fallen_due(url, LEADS, stopped_at)
            owed = {a: due for a, due in owed_by_stop.items() if due <= stopped_at - SEND_MARGIN}
    finally:
        for service in services:
            await service.stop()
        smtp.close()
        if pg_name is not None:
            await drop_database(pg_name)

    last = held[-1]
    reminders_scheduled = int(last.get('meetsvc_schedule_jobs{kind="remind"}', 0))
    jobs = int(sum(v for k, v in last.items() if k.startswith("meetsvc_schedule_jobs{")))
    return {
        "meetings": args.meetings + args.soon,
        "participants": (args.meetings + args.soon) * PARTICIPANTS,
        "database": kind,
        "reminders_scheduled": reminders_scheduled,
        "jobs_held": jobs,
        "rebuild_meetings_read": int(last.get("meetsvc_schedule_rebuild_meetings", 0)),
        "rebuild_s": round(statistics.median(rebuilds), 4),
        "rebuild_s_max": round(max(rebuilds), 4),
        "floor_read_rows_s": round(statistics.median(row_reads), 4),
        "rss_mib": round(statistics.median(subject_rss) / 2**20, 1),
        "floor_rss_mib": round(statistics.median(floor_rss) / 2**20, 1),
        "schedule_mib": round((statistics.median(subject_rss) - statistics.median(floor_rss)) / 2**20, 1),
        "reminders_due": len(owed),
        "reminders_sent": sum(1 for address in owed if sink.reminders.get(address)),
        "reminders_unexpected": sum(1 for address in sink.reminders if address not in owed_by_stop),
        "soon_reminders": soon_reminders,
        "reminders_duplicated": sum(max(0, n - 1) for n in sink.reminders.values()),
        "book_s": round(book_s, 1),
        "rounds": args.rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--soon", type=int, default=10, help="meetings whose reminders fall due in the run")
    parser.add_argument("--due-in", type=float, default=40.0, help="seconds from booking to those reminders")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--patience", type=float, default=60.0, help="seconds to wait for reminders after they fall due"
    )
    parser.add_argument("--database", choices=("auto", "postgresql", "sqlite"), default="auto")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
