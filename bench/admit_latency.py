"""How fast a host's "admit" reaches a waiting participant, and what each waiting socket costs.

For each N (100, 1,000, 5,000 by default) the benchmark seeds a fresh database (SQLite, or
PostgreSQL with ``--database postgresql`` and ``--processes 2``) with meetings of six
participants each (organisations, staff, meetings through :mod:`meetsvc.services.directory` and
:mod:`meetsvc.services.booking`; participants, their browser sessions, a *completed* eID identification
and the verified identity written straight into the tables of :mod:`meetsvc.storage.tables` —
identifying 5,000 people through the BankID simulator would dominate the run). Meetings start
ten minutes from now, so their waiting rooms are open.

Then it runs the service as a real separate process (``python -m meetsvc --config … serve``,
development environment, the BankID simulator on port 0) and:

1. gets one lobby ticket per participant over HTTP (``POST /lobby/ticket`` with the session
   cookie and ``X-CSRF-Token``, as the participant's page does) up to N=1,000, and above that
   mints them with the service's own signing key (``meetsvc.core.signing`` + ``LobbyTickets``, the
   server's base URL as issuer) to save half a minute; ``--tickets http|mint`` forces either,
   and the output says which;
2. warms up (a few participants in two extra meetings are connected and admitted; not reported);
3. reads the server's RSS, connects N participants with python-socketio over the websocket
   transport with ``auth={"ticket": …}`` — offering permessage-deflate as every browser does, so
   the server's ``realtime.websocket_compression`` alone decides — waits until each is in the
   waiting room, lets the server settle and reads its RSS again: (after − before) / N is the
   memory per waiting connection (the server cannot be asked to collect garbage, so it only
   settles);
4. connects each sampled meeting's host to ``/host`` (staff session cookie, ``auth={"meeting_id":
   …}``) and admits participants one at a time, in one shuffled order across the meetings: from
   just before the host's ``admit`` call (with ack) to the moment the participant's client
   receives ``state`` with state ``admitted`` (``time.perf_counter`` in this one process). Up to
   ``--samples`` admits are measured: everyone when N is small, else every participant of
   randomly chosen meetings (whole meetings, so the share of first admits in a meeting — which
   also mark it in progress — is the same at every N).

The floor is measured in the same run, interleaved sample by sample with the subject (which of
the two goes first alternates): a bare aiohttp websocket relay in its own subprocess, holding N
participant websockets as well (same compression setting; each gets one message on connect, as
the service sends its state), where one "host" websocket sends a message of the same size and the
server relays it to one participant's websocket, then acknowledges. The floor's memory per
connection is reported beside the subject's, and so is the service's CPU per admit.

The durable floor is the same relay after one durable transaction, the least an admission must
do: the participant's new state (one UPDATE) and its audit row (one INSERT), committed, then the
push. The floor process commits them through aiosqlite configured as the service configures
SQLite (WAL, synchronous=NORMAL, BEGIN IMMEDIATE) and, when PostgreSQL answers at ``--postgres``,
through asyncpg as well; each sample of the bare floor is followed by one of each. Each row
reports ``durable_floor_p50_ms``/``durable_floor_p99_ms`` for its own kind of database and
``durable_floor_sqlite_*``/``durable_floor_postgresql_*`` by name (null when not measured).

The N=1,000 case runs a second time with ``realtime.websocket_compression = true``.

``--processes 2`` runs the service as two processes, as a scaled-out installation does: one
PostgreSQL database (a fresh ``meetsvc_bench_…`` database per run, created through the admin DSN,
migrated with :func:`meetsvc.storage.migrate.upgrade`, dropped at the end of the run, also when it
fails) and socket.io's Redis manager between them (``realtime.redis_url``, and a channel of the
run's own in ``realtime.redis_channel`` where the service has that setting). Participants connect
to process 1 and hosts to process 2, so every admit in the figures is decided in process 2 and
reaches its participant through Redis and process 1. Each meeting's host also has a socket on
process 1, and every other two admits come from that one instead, interleaved with the others
and the floor: the same run and the same database without the crossing, reported as
``same_process_*`` (so the sample holds up to twice ``--samples`` admits). Memory per waiting
connection is read from process 1, where the participants are; CPU per admit and per connect is
the sum of both processes. The floor is unchanged. ``--database postgresql`` runs the
one-process service on PostgreSQL (no Redis), for a comparison across runs.

Usage::

    .venv/bin/python bench/admit_latency.py            # N = 100, 1000, 5000 (+ 1000 compressed)
    .venv/bin/python bench/admit_latency.py --quick    # N = 100, 500 (+ 500 compressed), ~200 admits each
    .venv/bin/python bench/admit_latency.py --n 2000 --samples 300 --compression-n 0
    .venv/bin/python bench/admit_latency.py --quick --processes 2          # two processes, PostgreSQL + Redis
    .venv/bin/python bench/admit_latency.py --quick --database postgresql  # one process, PostgreSQL
    .venv/bin/python bench/admit_latency.py --n 5000 --compression-n 0 --idle-seconds 65  # heartbeats' CPU too

``--idle-seconds S`` also reads the services' CPU over S seconds of nothing but heartbeats, once
with only the warm-up's sockets connected and once with the N waiting (before any admit):
``idle_cpu_ms_per_s_before``, ``idle_cpu_ms_per_s`` and their difference,
``heartbeat_cpu_ms_per_s``, the CPU the N waiting sockets cost per second of waiting. 65 s covers
two of the service's 30 s ping rounds.

The last line printed is a JSON array, one object per run.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import functools
import inspect
import json
import logging
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio

THIS_SCRIPT = Path(__file__).resolve()
PROBE_SCRIPT = THIS_SCRIPT.parent / "service_probe.py"
ROOT = THIS_SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PER_MEETING = 6
WARMUP_MEETINGS = 2
# Each arrival (and each ticket) is a write transaction, and SQLite takes one at a time: more in
# flight does not connect faster, it only makes each wait longer for the write lock — under a
# loaded machine, past the service's busy timeout.
CONNECT_CONCURRENCY = 8
TICKET_CONCURRENCY = 8
HOST_CONNECT_CONCURRENCY = 8
SAMPLE_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0
STARTUP_TIMEOUT = 60.0
# Above this N the tickets are signed here with the service's key: fetching 5,000 over HTTP (a
# session write each) would add about half a minute to the run and measures nothing.
HTTP_TICKETS_UP_TO = 1000
# Sockets opened after the admits that never join a namespace, and how long they are watched.
UNJOINED_SOCKETS = 100
UNJOINED_WATCH = 30.0
# What a browser offers: "permessage-deflate; client_max_window_bits".
BROWSER_DEFLATE = 15
ROLES = ["individual", "guardian", "municipality_staff", "region_staff", "school", "interpreter"]
# Where --processes 2 (and --database postgresql) find their servers; --postgres and --redis change them.
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"

_children: list[subprocess.Popen[bytes]] = []


def _kill_children() -> None:
    """Last resort (atexit): nothing this benchmark started outlives it."""
    for child in _children:
        if child.poll() is None:
            child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)


atexit.register(_kill_children)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Seeding ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Waiting:
    participant_id: str
    meeting_id: str
    session_id: str
    session_token: str
    csrf: str
    ticket: str = ""


@dataclass(slots=True)
class Meeting:
    id: str
    ends_at: datetime
    host_cookie: str
    participants: list[Waiting] = field(default_factory=list)


@dataclass(slots=True)
class World:
    meetings: list[Meeting]
    warmup: list[Meeting]

    @property
    def participants(self) -> list[Waiting]:
        return [p for m in self.meetings for p in m.participants]


async def seed(database_url: str, keys_dir: Path, n: int) -> World:
    """Organisations, staff and meetings through the service's operations; the N participants,
    their sessions and completed identifications in bulk through its tables."""
    from identity.bankid.simulator import TEST_PERSONS
    from identity.personnummer import PersonalNumber
    from meetsvc.core.pii import PersonalNumberVault
    from meetsvc.core.secrets import load_keys
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.domain.model import CareArea, Language, OrganisationKind
    from meetsvc.services.audit import AuditLog
    from meetsvc.services.booking import Booking, BookingLimits, NewMeeting
    from meetsvc.services.directory import Directory
    from meetsvc.services.sessions import BrowserSessions, SessionKind
    from meetsvc.storage.engine import create_engine
    from meetsvc.storage.migrate import upgrade
    from meetsvc.storage.tables import attendances, identifications, participant_identities, participants

    await upgrade(database_url)
    keys = await asyncio.to_thread(load_keys, keys_dir, create_missing=True)
    engine = create_engine(database_url)
    try:
        audit = AuditLog(keys.audit_chain)
        vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
        directory = Directory(engine, audit, vault)
        booking = Booking(engine, audit, vault, BookingLimits())
        sessions = BrowserSessions(engine, idle=timedelta(minutes=30), absolute=timedelta(hours=10))

        suffix = uuid.uuid4().hex[:6]
        municipality = await directory.create_organisation(f"Bänkby kommun {suffix}", OrganisationKind.MUNICIPALITY)
        region = await directory.create_organisation(f"Region Bänk {suffix}", OrganisationKind.REGION)
        caller = OrganisationCaller(municipality.id, "bench")
        organisation_of = {"municipality_staff": municipality.id, "region_staff": region.id}

        persons = []
        for person in TEST_PERSONS:
            normal = PersonalNumber.parse(person.personal_number).normal
            persons.append((person, vault.encrypt(normal, "participant"), vault.keyed_hash(normal)))
        address_hash = vault.keyed_hash("address:127.0.0.1")

        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
        ends = starts + timedelta(hours=1)
        meeting_count = math.ceil(n / PER_MEETING)
        seeded: list[Meeting] = []
        for index in range(meeting_count + WARMUP_MEETINGS):
            staff = await directory.add_staff_member(caller, display_name=f"Mötesledare {index + 1}")
            booked = await booking.create_meeting(
                caller,
                NewMeeting(
                    partner_organisation_id=region.id,
                    title="SIP-möte",
                    care_area=CareArea.BARN_OCH_UNGA,
                    starts_at=starts,
                    ends_at=ends,
                    host_ids=(staff.id,),
                ),
            )
            async with engine.begin() as connection:
                issued = await sessions.create(connection, SessionKind.STAFF, language=Language.SV, staff_id=staff.id)
            seeded.append(Meeting(booked.id, ends, issued.token))

        # Participants: the N measured ones in the first meetings, six of the warm-up in the last two.
        sizes = [PER_MEETING] * meeting_count
        if n % PER_MEETING:
            sizes[-1] = n % PER_MEETING
        sizes += [PER_MEETING] * WARMUP_MEETINGS
        now = datetime.now(UTC)
        participant_rows, identification_rows, identity_rows, attendance_rows = [], [], [], []
        for meeting, size in zip(seeded, sizes, strict=True):
            for slot in range(size):
                person, encrypted, hashed = persons[slot % len(persons)]
                role = ROLES[slot % len(ROLES)]
                participant_id = str(uuid.uuid4())
                participant_rows.append(
                    {
                        "id": participant_id,
                        "meeting_id": meeting.id,
                        "role": role,
                        "organisation_id": organisation_of.get(role),
                        "display_name": person.name,
                        "email": f"deltagare{len(participant_rows)}@example.se",
                        "mobile": None,
                        "language": "sv",
                        "personal_number_enc": encrypted,
                        "personal_number_hash": hashed,
                        "state": "invited",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                identity_rows.append(
                    {
                        "participant_id": participant_id,
                        "given_name": person.given_name,
                        "surname": person.surname,
                        "personal_number_hash": hashed,
                        "matches_invitation": True,
                        "provider": "bankid",
                        "level_of_assurance": "substantial",
                        "verified_at": now,
                    }
                )
                meeting.participants.append(Waiting(participant_id, meeting.id, "", "", ""))

        async with engine.begin() as connection:
            await connection.execute(participants.insert(), participant_rows)
            for meeting in seeded:
                for waiting in meeting.participants:
                    issued = await sessions.create(
                        connection, SessionKind.PARTICIPANT, language=Language.SV, participant_id=waiting.participant_id
                    )
                    waiting.session_id = issued.session.id
                    waiting.session_token = issued.token
                    waiting.csrf = issued.session.csrf_token
                    identification_rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "session_id": waiting.session_id,
                            "participant_id": waiting.participant_id,
                            "provider": "bankid",
                            "order_ref": str(uuid.uuid4()),
                            "provider_state": "{}",
                            "same_device": False,
                            "client_address_hash": address_hash,
                            "state": "complete",
                            "outcome": "matched",
                            "started_at": now - timedelta(seconds=30),
                            "finished_at": now,
                        }
                    )
                    # The entry the service binds to a session when its identification completes
                    # (meetsvc.services.waiting_room: state "identifying" until the socket arrives).
                    identity = identity_rows[len(attendance_rows)]
                    assert identity["participant_id"] == waiting.participant_id
                    attendance_rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "meeting_id": meeting.id,
                            "participant_id": waiting.participant_id,
                            "session_id": waiting.session_id,
                            "state": "identifying",
                            "unverified": False,
                            **{k: v for k, v in identity.items() if k != "participant_id"},
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            await connection.execute(identifications.insert(), identification_rows)
            await connection.execute(participant_identities.insert(), identity_rows)
            await connection.execute(attendances.insert(), attendance_rows)
    finally:
        await engine.dispose()
    return World(seeded[:meeting_count], seeded[meeting_count:])


# Where the service keeps its data and passes its messages -----------------------------------


class Unavailable(Exception):
    """PostgreSQL or Redis, which the chosen mode needs, cannot be reached."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """How the service runs: one or two processes, on SQLite or PostgreSQL, with Redis between two."""

    processes: int
    database: str  # "sqlite" or "postgresql"
    admin_dsn: str = ADMIN_DSN
    redis_url: str | None = None
    # Set when the service has ``realtime.redis_channel``: a channel of this run's own, so other
    # services on the same Redis neither hear these processes nor are heard by them.
    redis_channel: str | None = None

    def describe(self) -> str:
        if self.processes == 1:
            return f"one process on {'PostgreSQL' if self.database == 'postgresql' else 'SQLite'}"
        return "two processes on PostgreSQL + Redis"


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def check_postgres(admin_dsn: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(admin_dsn, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unavailable(
            f"PostgreSQL at {_without_password(admin_dsn)} cannot be reached ({exc.__class__.__name__}: {exc}); "
            f"this mode creates a database through it (--postgres changes the admin DSN)"
        ) from None
    await connection.close()


async def check_redis(url: str) -> None:
    from redis import asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise Unavailable(
            f"Redis at {_without_password(url)} cannot be reached ({exc.__class__.__name__}: {exc}); "
            f"two processes pass their socket.io messages through it (--redis changes the URL)"
        ) from None
    finally:
        await client.aclose()


def service_has_redis_channel() -> bool:
    from meetsvc.config import RealtimeSettings

    return "redis_channel" in RealtimeSettings.model_fields


@contextlib.asynccontextmanager
async def scratch_database(deployment: Deployment, workdir: Path) -> AsyncIterator[str]:
    """A fresh, empty database for one run, as the service's SQLAlchemy URL. A PostgreSQL one is
    dropped when the run ends, also when it fails; if even that fails, its name is printed."""
    if deployment.database == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'meetsvc.sqlite3'}"
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"meetsvc_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(deployment.admin_dsn, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            make_url(deployment.admin_dsn)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        try:
            admin = await asyncpg.connect(deployment.admin_dsn, timeout=10)
            try:
                # FORCE: a connection a killed service left behind must not keep the database alive.
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            print(
                f"could not drop the database {name} ({exc.__class__.__name__}: {exc}); drop it by hand",
                file=sys.stderr,
            )


# Processes ----------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """The benchmark's own settings only: no MEETSVC_* variable of the caller's shell leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as output:
        process = subprocess.Popen(args, cwd=str(ROOT), stdout=output, stderr=subprocess.STDOUT, env=_child_env())
    _children.append(process)
    return process


async def _stop(process: subprocess.Popen[bytes], patience: float = 15.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited after ``patience`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + patience
        # A child's exit is no asyncio event here (Popen, not asyncio.subprocess): poll it.
        while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
    if process in _children:
        _children.remove(process)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _raised(log_text: str) -> dict[str, int]:
    """What each logged traceback ended with (its exception line), counted."""
    counts: dict[str, int] = {}
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        for later in lines[index + 1 :]:
            if later and not later[0].isspace():
                counts[later[:200]] = counts.get(later[:200], 0) + 1
                break
    return counts


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited with {process.returncode}:\n{_tail(log)}")
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}")


@dataclass(slots=True)
class Service:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    stats: Path | None = None


async def probe_stats(service: Service) -> dict[str, Any]:
    """Ask the service's probe (bench/service_probe.py) for its counters: SIGUSR1, then its file."""
    assert service.stats is not None
    previous = -1
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(service.stats.read_text(encoding="utf-8"))["seq"]
    service.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            stats: dict[str, Any] = json.loads(service.stats.read_text(encoding="utf-8"))
            if stats["seq"] > previous:
                return stats
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the service's probe did not answer SIGUSR1 within 10 s:\n{_tail(service.log)}")


async def start_service(
    workdir: Path,
    name: str,
    database_url: str,
    keys_dir: Path,
    certs_dir: Path,
    compression: bool,
    deployment: Deployment,
) -> Service:
    port = free_port()
    config = workdir / f"{name}.toml"
    realtime = f"websocket_compression = {'true' if compression else 'false'}\n"
    if deployment.redis_url:
        realtime += f"redis_url = {json.dumps(deployment.redis_url)}\n"
    if deployment.redis_channel:
        realtime += f"redis_channel = {json.dumps(deployment.redis_channel)}\n"
    config.write_text(
        f"""environment = "development"

[server]
host = "127.0.0.1"
port = {port}

[database]
url = {json.dumps(database_url)}

[security]
keys_dir = {json.dumps(str(keys_dir))}
create_missing_keys = true
secure_cookies = false

[identity]
provider = "bankid-simulator"

[simulator]
certs_dir = {json.dumps(str(certs_dir))}
app_port = 0

[realtime]
# Every client here comes from 127.0.0.1: thousands of people, not one address hoarding sockets.
connections_per_address = 100000
{realtime}
# The seeded meetings' reminders and openings are all past due at start; catching up on them
# would run beside the measured admits. The schedule has its own benchmark (bench/schedule.py).
[schedule]
enabled = false

[logging]
level = "WARNING"
format = "text"
""",
        encoding="utf-8",
    )
    log = workdir / f"{name}.log"
    stats = workdir / f"{name}.stats.json"
    process = _spawn(
        [sys.executable, str(PROBE_SCRIPT), str(stats), "-m", "meetsvc", "--config", str(config), "serve"], log
    )
    base_url = f"http://127.0.0.1:{port}"
    await _wait_ready(f"{base_url}/readyz", process, log)
    return Service(process, base_url, log, stats)


async def start_floor(workdir: Path, compression: bool, postgres_dsn: str | None = None) -> Service:
    port = free_port()
    log = workdir / "floor.log"
    durable = ["--floor-sqlite", str(workdir / "floor.sqlite3")]
    if postgres_dsn:
        durable += ["--floor-postgres", postgres_dsn]
    process = _spawn(
        [
            sys.executable,
            str(THIS_SCRIPT),
            "--floor-server",
            str(port),
            "--floor-compress",
            str(int(compression)),
            *durable,
        ],
        log,
    )
    base_url = f"http://127.0.0.1:{port}"
    await _wait_ready(f"{base_url}/healthz", process, log)
    return Service(process, base_url, log)


async def settled_rss(pid: int, *, least: float = 2.0, most: float = 12.0) -> int:
    """The process's RSS once it stops moving (within 256 KiB over half a second)."""
    process = psutil.Process(pid)
    await asyncio.sleep(least)
    last = process.memory_info().rss
    deadline = time.monotonic() + most - least
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        current = process.memory_info().rss
        if abs(current - last) < 256 * 1024:
            return current
        last = current
    return last


# The floor: a bare aiohttp websocket relay (runs in its own process) --------------------------


def run_floor_server(
    port: int, compress: bool, sqlite_path: str | None = None, postgres_dsn: str | None = None
) -> None:
    """The bare relay; asked to (``"durable"`` in the host's message), it first commits one UPDATE
    and one INSERT in a database (:class:`DurableFloor`), as an admission must at the least."""
    from aiohttp import web

    peers: dict[str, web.WebSocketResponse] = {}
    durable = DurableFloor(sqlite_path, postgres_dsn, schema=f"meetsvc_floor_{port}")

    async def participant(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress, max_msg_size=16384)
        await ws.prepare(request)
        key = request.match_info["key"]
        peers[key] = ws
        await durable.attend(key)
        # As the service tells an arriving participant their state (and engine.io sends its
        # open packet): the first message also makes aiohttp set up the compressor, if agreed.
        await ws.send_str(json.dumps({"state": "waiting"}))
        try:
            async for _ in ws:
                pass
        finally:
            if peers.get(key) is ws:
                del peers[key]
        return ws

    async def host(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress, max_msg_size=16384)
        await ws.prepare(request)
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            target = peers.get(data["to"])
            if data.get("durable"):
                await durable.commit(data["durable"], data["to"])
            if target is not None:
                await target.send_str(json.dumps(data["payload"]))
            await ws.send_str(json.dumps({"ok": target is not None}))
        return ws

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def databases(app: web.Application) -> AsyncIterator[None]:
        await durable.open()
        try:
            yield
        finally:
            await durable.close()

    app = web.Application()
    app.cleanup_ctx.append(databases)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/host", host)
    app.router.add_get("/p/{key}", participant)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


class DurableFloor:
    """One durable transaction, as cheap as an admission can be: the participant's new state (one
    UPDATE) and its audit row (one INSERT), committed.

    SQLite through aiosqlite configured as the service configures it (WAL, synchronous=NORMAL,
    BEGIN IMMEDIATE), in a file of the run's own; PostgreSQL through asyncpg, in two tables in a
    schema of the floor's own in the admin DSN's database (dropped when the floor stops), when it is reachable.
    """

    def __init__(self, sqlite_path: str | None, postgres_dsn: str | None, *, schema: str) -> None:
        self._sqlite_path = sqlite_path
        self._postgres_dsn = postgres_dsn
        self._schema = schema  # PostgreSQL: the floor's own, dropped with its tables at the end
        self._sqlite: Any = None
        self._postgres: Any = None
        # One connection each, and participants connect several at a time: one statement at once.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._sqlite_path:
            import aiosqlite

            self._sqlite = await aiosqlite.connect(self._sqlite_path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
                await self._sqlite.execute(f"PRAGMA {pragma}")
            await self._sqlite.execute(
                "CREATE TABLE floor_attendance (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at REAL)"
            )
            await self._sqlite.execute(
                "CREATE TABLE floor_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, "
                "action TEXT NOT NULL, at REAL NOT NULL)"
            )
        if self._postgres_dsn:
            import asyncpg

            self._postgres = await asyncpg.connect(self._postgres_dsn, timeout=5)
            await self._postgres.execute(f"CREATE SCHEMA {self._schema}")
            await self._postgres.execute(f"SET search_path TO {self._schema}")
            await self._postgres.execute(
                "CREATE TABLE floor_attendance (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at DOUBLE PRECISION)"
            )
            await self._postgres.execute(
                "CREATE TABLE floor_audit (id BIGSERIAL PRIMARY KEY, subject TEXT NOT NULL, "
                "action TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
            )

    async def attend(self, key: str) -> None:
        """The row an admission will change (made as the participant connects, not measured)."""
        async with self._lock:
            await self._attend(key)

    async def _attend(self, key: str) -> None:
        if self._sqlite is not None:
            await self._sqlite.execute(
                "INSERT OR IGNORE INTO floor_attendance (id, state) VALUES (?, 'waiting')", (key,)
            )
        if self._postgres is not None:
            await self._postgres.execute(
                "INSERT INTO floor_attendance (id, state) VALUES ($1, 'waiting') ON CONFLICT DO NOTHING", key
            )

    async def commit(self, kind: str, key: str) -> None:
        async with self._lock:
            await self._commit(kind, key)

    async def _commit(self, kind: str, key: str) -> None:
        now = time.time()
        if kind == "sqlite" and self._sqlite is not None:
            db = self._sqlite
            await db.execute("BEGIN IMMEDIATE")
            await db.execute("UPDATE floor_attendance SET state = 'admitted', updated_at = ? WHERE id = ?", (now, key))
            await db.execute(
                "INSERT INTO floor_audit (subject, action, at) VALUES (?, 'participant.admitted', ?)", (key, now)
            )
            await db.execute("COMMIT")
        elif kind == "postgresql" and self._postgres is not None:
            async with self._postgres.transaction():
                await self._postgres.execute(
                    "UPDATE floor_attendance SET state = 'admitted', updated_at = $1 WHERE id = $2", now, key
                )
                await self._postgres.execute(
                    "INSERT INTO floor_audit (subject, action, at) VALUES ($1, 'participant.admitted', $2)", key, now
                )
        else:
            raise RuntimeError(f"the floor has no {kind} database")

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                await self._postgres.execute(f"DROP SCHEMA IF EXISTS {self._schema} CASCADE")
            await self._postgres.close()


# Clients ------------------------------------------------------------------------------------

STATE_PAYLOAD = {
    "state": "admitted",
    "starts_at": "2030-01-01T10:00:00+01:00",
    "opens_at": "2030-01-01T09:45:00+01:00",
    "hosts_notified": True,
    "position": None,
    "message": None,
    "verified_name": "Karin Bänkström-Testsson",
}


class ClientLog(logging.Handler):
    """What the engine.io clients report, counted instead of printed once per socket.

    "packet queue is empty, aborting" is the client giving up on a connection that had no ping
    from the server for 25 s (engine.io's 20 s interval plus 5 s of grace): a sign of an
    overloaded machine, which the report must mention.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.counts[message] = self.counts.get(message, 0) + 1

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts


CLIENT_LOG = ClientLog()
ENGINEIO_LOGGER = logging.getLogger("bench.engineio.client")
ENGINEIO_LOGGER.addHandler(CLIENT_LOG)
ENGINEIO_LOGGER.setLevel(logging.WARNING)
ENGINEIO_LOGGER.propagate = False


class Participants:
    """N waiting participants' socket.io clients, and when each heard it was admitted."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession) -> None:
        self._base = base_url
        self._http = http
        self.clients: dict[str, socketio.AsyncClient] = {}
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._admitted: dict[str, asyncio.Future[float]] = {}
        # Connects that got no answer in time and were tried once more (the service's log says why).
        self.retried: list[str] = []

    async def connect(self, waiting: Waiting) -> None:
        try:
            await self._connect(waiting)
        except (TimeoutError, socketio.exceptions.ConnectionError) as exc:
            self.retried.append(f"{exc.__class__.__name__}: {exc}")
            await self._connect(waiting)

    async def _connect(self, waiting: Waiting) -> None:
        client = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=self._http,
            engineio_logger=ENGINEIO_LOGGER,
            websocket_extra_options={"compress": BROWSER_DEFLATE},
        )
        loop = asyncio.get_running_loop()
        arrived = self._waiting[waiting.participant_id] = loop.create_future()
        pid = waiting.participant_id

        def on_state(data: Any = None) -> None:
            state = data.get("state") if isinstance(data, dict) else None
            if state == "waiting":
                future = self._waiting.pop(pid, None)
                if future is not None and not future.done():
                    future.set_result(None)
            elif state == "admitted":
                now = time.perf_counter()
                future = self._admitted.pop(pid, None)
                if future is not None and not future.done():
                    future.set_result(now)

        client.on("state", on_state, namespace="/participant")
        try:
            await client.connect(
                self._base,
                namespaces=["/participant"],
                auth={"ticket": waiting.ticket},
                transports=["websocket"],
                headers={"Origin": self._base},
                wait_timeout=CONNECT_TIMEOUT,
            )
            await asyncio.wait_for(arrived, CONNECT_TIMEOUT)
        except BaseException:
            self._waiting.pop(pid, None)
            await _disconnect_all([client], 1.0)
            raise
        self.clients[pid] = client

    def expect_admitted(self, participant_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._admitted[participant_id] = future
        return future

    def is_open(self, participant_id: str) -> bool:
        client = self.clients.get(participant_id)
        return client is not None and client.eio.state == "connected"

    def alive(self, participant_ids: list[str]) -> int:
        return sum(1 for pid in participant_ids if self.is_open(pid))

    def deflate_negotiated(self) -> tuple[int, int]:
        """(sockets whose handshake agreed on permessage-deflate, sockets)."""
        agreed = sum(1 for c in self.clients.values() if getattr(getattr(c.eio, "ws", None), "compress", 0))
        return agreed, len(self.clients)

    async def close(self, grace: float) -> None:
        await _disconnect_all(list(self.clients.values()), grace)
        self.clients.clear()


class Hosts:
    """One signed-in host's /host socket per meeting, each with its own cookie jar."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url
        self.clients: dict[str, socketio.AsyncClient] = {}
        self._sessions: list[aiohttp.ClientSession] = []
        self.reconnects = 0

    async def connect(self, meeting: Meeting) -> None:
        http = aiohttp.ClientSession()
        self._sessions.append(http)
        client = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=http,
            engineio_logger=ENGINEIO_LOGGER,
            websocket_extra_options={"compress": BROWSER_DEFLATE},
        )
        await client.connect(
            self._base,
            namespaces=["/host"],
            auth={"meeting_id": meeting.id},
            headers={"Cookie": f"meetsvc_session={meeting.host_cookie}", "Origin": self._base},
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT,
        )
        self.clients[meeting.id] = client

    async def ready(self, meeting: Meeting) -> socketio.AsyncClient:
        """The meeting's host socket, connected again if its client gave it up meanwhile."""
        client = self.clients.get(meeting.id)
        if client is None or client.eio.state != "connected":
            self.reconnects += 1
            await self.connect(meeting)
            client = self.clients[meeting.id]
        return client

    async def close(self, grace: float) -> None:
        await _disconnect_all(list(self.clients.values()), grace)
        self.clients.clear()
        for http in self._sessions:
            await http.close()
        self._sessions.clear()


async def _disconnect_all(clients: list[socketio.AsyncClient], grace: float) -> None:
    async def one(client: socketio.AsyncClient) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), grace)

    await bounded(1024, [functools.partial(one, c) for c in clients])


class Floor:
    """The relay's "host" websocket and N participant websockets."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession) -> None:
        self._base = base_url
        self._http = http
        self._sockets: list[aiohttp.ClientWebSocketResponse] = []
        self._readers: list[asyncio.Task[None]] = []
        self._received: dict[str, asyncio.Future[float]] = {}
        self._host: aiohttp.ClientWebSocketResponse | None = None
        self._acks: asyncio.Queue[Any] = asyncio.Queue()

    async def open_host(self) -> None:
        self._host = await self._http.ws_connect(f"{self._base}/host", compress=BROWSER_DEFLATE)
        self._readers.append(asyncio.create_task(self._read_acks(self._host)))

    async def _read_acks(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self._acks.put_nowait(json.loads(message.data))

    async def connect(self, key: str) -> None:
        ws = await self._http.ws_connect(f"{self._base}/p/{key}", compress=BROWSER_DEFLATE)
        self._sockets.append(ws)
        hello = await ws.receive(timeout=CONNECT_TIMEOUT)
        if hello.type is not aiohttp.WSMsgType.TEXT or json.loads(hello.data).get("state") != "waiting":
            raise RuntimeError(f"floor socket {key}: unexpected first message {hello!r}")
        self._readers.append(asyncio.create_task(self._read(key, ws)))

    async def _read(self, key: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                now = time.perf_counter()
                if json.loads(message.data).get("state") == "admitted":
                    future = self._received.pop(key, None)
                    if future is not None and not future.done():
                        future.set_result(now)

    async def relay(self, key: str, durable: str | None = None) -> float:
        """One host → server → participant message; seconds until the participant has it. With
        ``durable`` ("sqlite" or "postgresql") the server commits the admission's two rows first."""
        assert self._host is not None
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._received[key] = future
        body = json.dumps({"to": key, "payload": STATE_PAYLOAD, "durable": durable})
        start = time.perf_counter()
        await self._host.send_str(body)
        arrived = await asyncio.wait_for(future, SAMPLE_TIMEOUT)
        ack = await asyncio.wait_for(self._acks.get(), SAMPLE_TIMEOUT)
        if not ack.get("ok"):
            raise RuntimeError(f"floor relay to {key} found no socket")
        return arrived - start

    def deflate_negotiated(self) -> tuple[int, int]:
        return sum(1 for ws in self._sockets if ws.compress), len(self._sockets)

    async def close(self, grace: float) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

        async def one(ws: aiohttp.ClientWebSocketResponse) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), grace)

        await bounded(1024, [functools.partial(one, ws) for ws in self._sockets + ([self._host] if self._host else [])])


async def unjoined_kept(base_url: str, http: aiohttp.ClientSession, count: int, watch: float) -> tuple[int, int]:
    """Open ``count`` engine.io websockets that never join a namespace (the handshake, then only
    pongs to the server's pings, as an idle client would) and count those still open ``watch``
    seconds after each connected. Returns (opened, still open)."""

    async def one() -> bool | None:
        try:
            ws = await http.ws_connect(
                f"{base_url}/socket.io/?EIO=4&transport=websocket", compress=BROWSER_DEFLATE, autoclose=False
            )
        except (aiohttp.ClientError, TimeoutError):
            return None  # refused: not opened
        try:
            deadline = time.monotonic() + watch
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return False
                if message.type == aiohttp.WSMsgType.ERROR:
                    return False
                if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                    await ws.send_str("3")
                elif message.type == aiohttp.WSMsgType.TEXT and message.data.startswith("1"):
                    return False  # engine.io's own close packet
            return not ws.closed
        finally:
            await ws.close()

    outcomes = await asyncio.gather(*(one() for _ in range(count)))
    opened = [o for o in outcomes if o is not None]
    return len(opened), sum(opened)


async def admit(host: socketio.AsyncClient, participants: Participants, waiting: Waiting) -> float:
    """The host admits one participant; seconds until the participant's client hears it."""
    future = participants.expect_admitted(waiting.participant_id)
    start = time.perf_counter()
    ack = await host.call(
        "admit", {"participant_id": waiting.participant_id}, namespace="/host", timeout=SAMPLE_TIMEOUT
    )
    if not isinstance(ack, dict) or not ack.get("ok"):
        raise RuntimeError(f"admit refused: {ack}")
    arrived = await asyncio.wait_for(future, SAMPLE_TIMEOUT)
    return arrived - start


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    """Run the jobs, at most ``concurrency`` at a time (each created only when it starts)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> None:
        async with semaphore:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def get_tickets(base_url: str, waiting: list[Waiting]) -> None:
    """What the participant's page does after eID: POST /lobby/ticket with its CSRF token."""
    async with aiohttp.ClientSession(
        base_url=base_url, cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=TICKET_CONCURRENCY)
    ) as http:

        async def one(item: Waiting) -> None:
            headers = {"Cookie": f"meetsvc_session={item.session_token}", "X-CSRF-Token": item.csrf, "Origin": base_url}
            async with http.post("/lobby/ticket", headers=headers) as response:
                body = await response.text()
                if response.status != 200:
                    raise RuntimeError(f"POST /lobby/ticket answered {response.status}: {body[:300]}")
                item.ticket = json.loads(body)["ticket"]

        await bounded(TICKET_CONCURRENCY, [functools.partial(one, item) for item in waiting])


def mint_tickets(base_url: str, keys_dir: Path, meetings: list[Meeting]) -> None:
    """The same tickets, signed with the service's key and naming its base URL as issuer."""
    from meetsvc.core.signing import load_signing_keys
    from meetsvc.realtime.tickets import LobbyTickets
    from meetsvc.services.waiting_room import LobbyPass

    tickets = LobbyTickets(
        load_signing_keys(keys_dir / "signing", create_missing=False, development=True),
        issuer=base_url,
        lifetime=timedelta(minutes=180),
    )
    now = datetime.now(UTC)
    for meeting in meetings:
        for item in meeting.participants:
            item.ticket, _ = tickets.issue(
                LobbyPass(item.participant_id, item.meeting_id, item.session_id),
                now=now,
                meeting_ends_at=meeting.ends_at,
            )


# One run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sampled:
    subject: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    # Two processes: admits by a host on the participants' own process, the baseline for the
    # crossing admits in ``subject``.
    same_process: list[float] = field(default_factory=list)
    # Admits not measured because the participant's socket had already been closed by its client,
    # and admits (or relays) whose message did not arrive within SAMPLE_TIMEOUT.
    skipped: int = 0
    lost: int = 0
    floor_lost: int = 0
    # The durable floor, by database ("sqlite", and "postgresql" when it is reachable).
    durable: dict[str, list[float]] = field(default_factory=dict)


async def interleaved(
    pairs: list[tuple[Meeting, Waiting, str]],
    hosts: Hosts,
    participants: Participants,
    floor: Floor,
    into: Sampled,
    same_process_hosts: Hosts | None = None,
) -> None:
    """One subject sample and one floor sample at a time; which goes first alternates.

    With ``same_process_hosts`` (two processes) every other two admits come from a host on the
    participants' own process instead, so crossing and not crossing see the same moments of the
    machine, and which of them meets the floor first alternates as well.
    """

    async def subject(index: int, meeting: Meeting, waiting: Waiting) -> None:
        if not participants.is_open(waiting.participant_id):
            into.skipped += 1
            return
        group = same_process_hosts if same_process_hosts is not None and (index // 2) % 2 == 1 else hosts
        host = await group.ready(meeting)
        try:
            (into.subject if group is hosts else into.same_process).append(await admit(host, participants, waiting))
        except (TimeoutError, socketio.exceptions.TimeoutError):
            into.lost += 1

    async def relay(key: str) -> None:
        try:
            into.floor.append(await floor.relay(key))
        except TimeoutError:
            into.floor_lost += 1
        for kind, samples in into.durable.items():  # the durable floor, right after the bare one
            try:
                samples.append(await floor.relay(key, durable=kind))
            except TimeoutError:
                into.floor_lost += 1

    for index, (meeting, waiting, floor_key) in enumerate(pairs):
        if index % 2 == 0:
            await subject(index, meeting, waiting)
            await relay(floor_key)
        else:
            await relay(floor_key)
            await subject(index, meeting, waiting)


async def _floor_postgres(deployment: Deployment) -> str | None:
    """The admin DSN when PostgreSQL answers (the durable floor then measures it too), else None."""
    try:
        await check_postgres(deployment.admin_dsn)
    except Unavailable:
        return None
    return deployment.admin_dsn


async def _drop_floor_schema(deployment: Deployment, floor_service: Service) -> None:
    """The durable floor's PostgreSQL schema, should its process not have dropped it on stopping."""
    if await _floor_postgres(deployment) is None:
        return
    import asyncpg

    port = floor_service.base_url.rsplit(":", 1)[1]
    connection = await asyncpg.connect(deployment.admin_dsn, timeout=5)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS meetsvc_floor_{int(port)} CASCADE")
    finally:
        await connection.close()


async def run_one(
    root: Path,
    n: int,
    compression: bool,
    samples: int,
    tickets_mode: str,
    rng: random.Random,
    deployment: Deployment,
    idle_seconds: float = 0.0,
) -> dict[str, Any]:
    wall0 = time.perf_counter()
    CLIENT_LOG.take()  # what earlier runs' clients said while closing is not this run's
    workdir = Path(tempfile.mkdtemp(prefix=f"n{n}-{'z' if compression else 'plain'}-", dir=root))
    async with scratch_database(deployment, workdir) as database_url:
        return await _measure(
            root, workdir, database_url, n, compression, samples, tickets_mode, rng, deployment, wall0, idle_seconds
        )


async def _measure(
    root: Path,
    workdir: Path,
    database_url: str,
    n: int,
    compression: bool,
    samples: int,
    tickets_mode: str,
    rng: random.Random,
    deployment: Deployment,
    wall0: float,
    idle_seconds: float = 0.0,
) -> dict[str, Any]:
    keys_dir, certs_dir = root / "keys", root / "bankid-simulator"
    world = await seed(database_url, keys_dir, n)
    seeded_s = time.perf_counter() - wall0

    # services[0] holds the participants; the hosts connect to the last one (the same one, or
    # the second process, whose admits then reach the participants through Redis).
    services: list[Service] = []
    floor_service: Service | None = None
    participants: Participants | None = None
    floor: Floor | None = None
    hosts: Hosts | None = None
    # Two processes: a second host socket per meeting, on the participants' process.
    same_process_hosts: Hosts | None = None
    shared = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar())
    try:
        first, floor_started = await asyncio.gather(
            start_service(workdir, "meetsvc-1", database_url, keys_dir, certs_dir, compression, deployment),
            start_floor(workdir, compression, await _floor_postgres(deployment)),
            return_exceptions=True,
        )
        for outcome in (first, floor_started):
            if isinstance(outcome, BaseException):
                raise outcome
        services.append(first)  # type: ignore[arg-type]  # not an exception: raised above
        floor_service = floor_started  # type: ignore[assignment]  # likewise
        assert floor_service is not None
        # One after the other: the first start creates the keys and the simulator's certificates
        # that both processes must share.
        for index in range(2, deployment.processes + 1):
            services.append(
                await start_service(
                    workdir, f"meetsvc-{index}", database_url, keys_dir, certs_dir, compression, deployment
                )
            )
        service, host_service = services[0], services[-1]

        t0 = time.perf_counter()
        everyone = world.participants + [p for m in world.warmup for p in m.participants]
        if tickets_mode == "auto":
            tickets_mode = "http" if n <= HTTP_TICKETS_UP_TO else "mint"
        if tickets_mode == "http":
            await get_tickets(service.base_url, everyone)
        else:
            await asyncio.to_thread(mint_tickets, service.base_url, keys_dir, world.meetings + world.warmup)
        tickets_s = time.perf_counter() - t0

        participants = Participants(service.base_url, shared)
        floor = Floor(floor_service.base_url, shared)
        await floor.open_host()

        # Warm-up: both servers see connections, admits and relays before anything is measured.
        warm = [(meeting, p) for meeting in world.warmup for p in meeting.participants]
        await bounded(CONNECT_CONCURRENCY, [functools.partial(participants.connect, p) for _, p in warm])
        await bounded(CONNECT_CONCURRENCY, [functools.partial(floor.connect, f"w{i}") for i in range(len(warm))])
        hosts = Hosts(host_service.base_url)
        if host_service is not service:
            same_process_hosts = Hosts(service.base_url)
        for meeting in world.warmup:
            for group in (hosts, same_process_hosts):
                if group is not None:
                    await group.connect(meeting)
        await interleaved(
            [(m, p, f"w{i}") for i, (m, p) in enumerate(warm)],
            hosts,
            participants,
            floor,
            Sampled(),
            same_process_hosts,
        )

        rss_before, floor_rss_before, *other_rss_before = await asyncio.gather(
            settled_rss(service.process.pid),
            settled_rss(floor_service.process.pid),
            *(settled_rss(s.process.pid) for s in services[1:]),
        )

        servers = [psutil.Process(s.process.pid) for s in services]

        def server_cpu() -> float:
            return sum(_cpu(process) for process in servers)

        async def idle_cpu_ms_per_s() -> float | None:
            """The services' CPU while nothing happens but heartbeats and their own timers."""
            if idle_seconds <= 0:
                return None
            started, cpu_started = time.perf_counter(), server_cpu()
            await asyncio.sleep(idle_seconds)
            return round((server_cpu() - cpu_started) / (time.perf_counter() - started) * 1000, 2)

        idle_before = await idle_cpu_ms_per_s()  # only the warm-up's sockets connected

        t0, cpu0, server_cpu0 = time.perf_counter(), time.process_time(), server_cpu()
        measured = world.participants
        await bounded(CONNECT_CONCURRENCY, [functools.partial(participants.connect, p) for p in measured])
        connect_s = time.perf_counter() - t0
        connect_cpu = (time.process_time() - cpu0, server_cpu() - server_cpu0)
        await bounded(CONNECT_CONCURRENCY, [functools.partial(floor.connect, f"p{i}") for i in range(n)])

        rss_after, floor_rss_after, *other_rss_after = await asyncio.gather(
            settled_rss(service.process.pid),
            settled_rss(floor_service.process.pid),
            *(settled_rss(s.process.pid) for s in services[1:]),
        )
        measured_ids = [p.participant_id for p in measured]
        alive_at_rss = participants.alive(measured_ids)
        subject_deflate, subject_sockets = participants.deflate_negotiated()
        floor_deflate, floor_sockets = floor.deflate_negotiated()
        idle_waiting = await idle_cpu_ms_per_s()  # the N waiting too, nobody admitted yet

        # Everyone in randomly chosen meetings (all meetings unless N exceeds the sample), admitted
        # in one shuffled order across those meetings. Whole meetings keep the mix of first and
        # later admits in a meeting (the first also marks the meeting in progress) equal at every N.
        # Two processes: as many again, admitted from the participants' own process.
        wanted = samples * (2 if same_process_hosts is not None else 1)
        index_of = {p.participant_id: i for i, p in enumerate(measured)}
        meeting_order = list(world.meetings)
        rng.shuffle(meeting_order)
        chosen: list[int] = []
        for meeting in meeting_order:
            if len(chosen) >= wanted:
                break
            chosen.extend(index_of[p.participant_id] for p in meeting.participants)
        rng.shuffle(chosen)
        meetings_by_id = {m.id: m for m in world.meetings}
        needed = sorted({measured[i].meeting_id for i in chosen})
        for group in (hosts, same_process_hosts):
            if group is not None:
                await bounded(
                    HOST_CONNECT_CONCURRENCY, [functools.partial(group.connect, meetings_by_id[m]) for m in needed]
                )

        stats_before = [await probe_stats(s) for s in services]
        t0, server_cpu0 = time.perf_counter(), server_cpu()
        result = Sampled()
        result.durable["sqlite"] = []
        if await _floor_postgres(deployment):
            result.durable["postgresql"] = []
        await interleaved(
            [(meetings_by_id[measured[i].meeting_id], measured[i], f"p{i}") for i in chosen],
            hosts,
            participants,
            floor,
            result,
            same_process_hosts,
        )
        admit_s = time.perf_counter() - t0
        admit_server_cpu = server_cpu() - server_cpu0
        stats_after = [await probe_stats(s) for s in services]
        admit_statements = sum(
            after["statements"] - before["statements"] for before, after in zip(stats_before, stats_after, strict=True)
        )
        gc_max_pause = max(after["gc_max_pause_ms"] for after in stats_after)
        gc_collections = sum(after["gc_collections"] for after in stats_after)
        alive_at_end = participants.alive(measured_ids)
        hosts_reconnected = hosts.reconnects + (same_process_hosts.reconnects if same_process_hosts is not None else 0)
        client_log = CLIENT_LOG.take()
        # After the admits, so they do not share the measured phase: sockets that never join.
        unjoined_opened, unjoined_open = await unjoined_kept(service.base_url, shared, UNJOINED_SOCKETS, UNJOINED_WATCH)
    finally:
        # Interrupted or failed: stop the servers first and give the clients no time to say goodbye.
        failed = sys.exc_info()[0] is not None
        grace = 0.5 if failed else 5.0
        if failed and sys.exc_info()[0] not in (KeyboardInterrupt, asyncio.CancelledError):
            for index, started_service in enumerate(services, start=1):
                print(
                    f"the log of service process {index} ends:\n{_tail(started_service.log, 60)}",
                    file=sys.stderr,
                    flush=True,
                )
        if failed:
            for child in list(_children):
                await _stop(child, patience=2.0)
        for group in (hosts, same_process_hosts, participants, floor):
            if group is not None:
                await group.close(grace)
        await shared.close()
        for child in list(_children):
            await _stop(child)
        if floor_service is not None:
            await _drop_floor_schema(deployment, floor_service)

    log_text = "".join(s.log.read_text(errors="replace") for s in services)
    locked, tracebacks = log_text.count("database is locked"), log_text.count("Traceback (most recent call last)")
    if not result.subject or not result.floor or (same_process_hosts is not None and not result.same_process):
        raise RuntimeError(f"N={n}: no admit (or no floor relay) arrived; see the notes above")
    ms = [v * 1000 for v in result.subject]
    same_ms = [v * 1000 for v in result.same_process]
    admits = len(ms) + len(same_ms)
    floor_ms = [v * 1000 for v in result.floor]
    kib = (rss_after - rss_before) / n / 1024
    floor_kib = (floor_rss_after - floor_rss_before) / n / 1024
    row = {
        "n": n,
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
        "floor_p50_ms": round(percentile(floor_ms, 50), 3),
        "floor_p90_ms": round(percentile(floor_ms, 90), 3),
        "floor_p99_ms": round(percentile(floor_ms, 99), 3),
        "floor_max_ms": round(max(floor_ms), 3),
        "kib_per_connection": round(kib, 1),
        "floor_kib_per_connection": round(floor_kib, 1),
        **durable_figures(result.durable, deployment.database),
        "compression": compression,
        "deflate_negotiated": subject_deflate == subject_sockets,
        "processes": deployment.processes,
        "database": deployment.database,
        "server_cpu_ms_per_admit": round(admit_server_cpu / admits * 1000, 2),
        "statements_per_admit": round(admit_statements / admits, 2),
        "gc_max_pause_ms": round(gc_max_pause, 2),
        "unauthenticated_kept": unjoined_open,
        "idle_cpu_ms_per_s": idle_waiting,
        "idle_cpu_ms_per_s_before": idle_before,
        "heartbeat_cpu_ms_per_s": (
            round(idle_waiting - idle_before, 2) if idle_waiting is not None and idle_before is not None else None
        ),
        "unauthenticated_opened": unjoined_opened,
        "admits_measured": len(ms),
        "admits_lost": result.lost,
        "admits_skipped": result.skipped,
        "meetings": len(world.meetings),
        "tickets": "http" if tickets_mode == "http" else "minted",  # minted: with the service's signing key
        "connect_retries": len(participants.retried) if participants is not None else 0,
        "connections_alive_at_rss": alive_at_rss,
        "connections_alive_after_admits": alive_at_end,
    }
    if same_ms:
        row.update(
            same_process_p50_ms=round(percentile(same_ms, 50), 3),
            same_process_p90_ms=round(percentile(same_ms, 90), 3),
            same_process_p99_ms=round(percentile(same_ms, 99), 3),
            same_process_max_ms=round(max(same_ms), 3),
            same_process_admits_measured=len(same_ms),
        )
    label = ("compression ON " if compression else "compression off") + f", {deployment.describe()}"
    if deployment.processes == 2:
        where = "in process 1, where the participants are"
        others = "; process 2 (hosts) " + ", ".join(
            f"{before / 2**20:.1f} → {after / 2**20:.1f} MiB"
            for before, after in zip(other_rss_before, other_rss_after, strict=True)
        )
        whose_cpu = "both server processes"
    else:
        where, others, whose_cpu = "", "", "server"
    ticket_note = (
        "over HTTP (POST /lobby/ticket)" if row["tickets"] == "http" else "minted with the service's signing key"
    )
    sample_note = (
        "all"
        if admits == n
        else f"a random sample of {admits:,} of {n:,} (every participant of randomly chosen meetings)"
    )
    if same_ms:
        sample_note += f", {len(ms):,} from a host on process 2 (crossing) and {len(same_ms):,} from one on process 1"
    print(
        f"N={n:>5} ({label}): admit→participant p50 {row['p50_ms']:.2f} p90 {row['p90_ms']:.2f} "
        f"p99 {row['p99_ms']:.2f} max {row['max_ms']:.2f} ms | floor p50 {row['floor_p50_ms']:.2f} "
        f"p90 {row['floor_p90_ms']:.2f} p99 {row['floor_p99_ms']:.2f} max {row['floor_max_ms']:.2f} ms | "
        f"{kib:.1f} KiB per waiting connection{' ' + where if where else ''} (floor {floor_kib:.1f}; RSS "
        f"{rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB{others})",
        flush=True,
    )
    durable_note = ", ".join(
        f"{kind} p50 {row[f'durable_floor_{kind}_p50_ms']:.2f} p99 {row[f'durable_floor_{kind}_p99_ms']:.2f} ms"
        for kind in ("sqlite", "postgresql")
        if row[f"durable_floor_{kind}_p50_ms"] is not None
    )
    print(f"         durable floor (one UPDATE + one INSERT committed, then the push): {durable_note}", flush=True)
    if same_ms:
        print(
            f"         host on the participants' process (no crossing; same run, same database, interleaved): "
            f"p50 {row['same_process_p50_ms']:.2f} p90 {row['same_process_p90_ms']:.2f} "
            f"p99 {row['same_process_p99_ms']:.2f} max {row['same_process_max_ms']:.2f} ms; crossing costs "
            f"{row['p50_ms'] - row['same_process_p50_ms']:+.2f} ms at the median "
            f"(×{row['p50_ms'] / row['same_process_p50_ms']:.2f}), "
            f"{row['p90_ms'] - row['same_process_p90_ms']:+.2f} ms at p90",
            flush=True,
        )
    print(
        f"         admits measured: {sample_note}, shuffled over {len(needed)} of {len(world.meetings)} meetings; "
        f"permessage-deflate agreed on {subject_deflate}/{subject_sockets} service sockets, "
        f"{floor_deflate}/{floor_sockets} floor sockets; tickets {ticket_note} in {tickets_s:.1f} s; "
        f"seed {seeded_s:.1f} s, connect {connect_s:.1f} s ({n / connect_s:.0f}/s; CPU per connect: "
        f"{whose_cpu} {connect_cpu[1] / n * 1000:.1f} ms, clients {connect_cpu[0] / n * 1000:.1f} ms), "
        f"admits {admit_s:.1f} s ({whose_cpu} CPU {admit_server_cpu / admits * 1000:.1f} ms, "
        f"{admit_statements / admits:.1f} SQL statements per admit; {gc_collections} garbage collections, the "
        f"longest {gc_max_pause:.1f} ms), {unjoined_open} of {unjoined_opened} sockets that joined nothing still "
        f"open {UNJOINED_WATCH:.0f} s after connecting, "
        f"run {time.perf_counter() - wall0:.1f} s; machine load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if idle_waiting is not None:
        print(
            f"         idle ({idle_seconds:.0f} s each, heartbeats and timers only): {whose_cpu} CPU "
            f"{idle_before:.1f} ms/s with the warm-up's sockets, {idle_waiting:.1f} ms/s with the {n} waiting too",
            flush=True,
        )
    if row["connect_retries"] or tracebacks:
        print(
            f"         NOTE: {row['connect_retries']} participant connect(s) got no answer "
            f"within {CONNECT_TIMEOUT:.0f} s and were retried; the service logged {tracebacks} traceback(s), "
            f"{locked} of them 'database is locked'"
            f"{' (both processes)' if len(services) > 1 else ''}"
            + "".join(
                f"; {count} x {message!r}"
                for message, count in sorted(_raised(log_text).items(), key=lambda item: -item[1])[:3]
            ),
            flush=True,
        )
    if result.lost or result.skipped or result.floor_lost or hosts_reconnected:
        print(
            f"         NOTE: {result.lost} admit(s) never reached a connected participant "
            f"within {SAMPLE_TIMEOUT:.0f} s (left out of the percentiles); {result.skipped} skipped because "
            f"the participant's socket had been "
            f"closed by its client; {result.floor_lost} floor relay(s) lost; {hosts_reconnected} host socket(s) "
            f"reconnected",
            flush=True,
        )
    if alive_at_rss < n or alive_at_end < n or client_log:
        reported = "; ".join(f"{count} x {message!r}" for message, count in sorted(client_log.items()))
        print(
            f"         NOTE: {alive_at_rss}/{n} participant sockets were open when RSS was read, {alive_at_end}/{n} "
            f"after the admits; the clients reported: {reported or 'nothing'}",
            flush=True,
        )
    return row


async def main(
    sizes: list[int],
    compression_n: int,
    samples: int,
    tickets_mode: str,
    seed_value: int,
    deployment: Deployment,
    idle_seconds: float = 0.0,
) -> list[dict[str, Any]]:
    # Before anything is started: a server that is not there is a message, not a traceback.
    if deployment.database == "postgresql":
        await check_postgres(deployment.admin_dsn)
    if deployment.processes > 1:
        assert deployment.redis_url is not None
        await check_redis(deployment.redis_url)
        if service_has_redis_channel():
            deployment = dataclasses.replace(deployment, redis_channel=f"meetsvc-bench-{uuid.uuid4().hex[:12]}")
    rng = random.Random(seed_value)
    compress_default = inspect.signature(aiohttp.ClientSession.ws_connect).parameters["compress"].default
    print(
        f"aiohttp {aiohttp.__version__}: ws_connect(compress={compress_default}) by default, "
        f"so python-socketio's client {'offers' if compress_default else 'does NOT offer'} permessage-deflate "
        f"unless told; every client here offers it as a browser does "
        f'(compress={BROWSER_DEFLATE}: "permessage-deflate; client_max_window_bits").',
        flush=True,
    )
    if deployment.processes == 1:
        service = f"python -m meetsvc serve in a subprocess ({deployment.describe()}"
        service += (
            f", a fresh database per run at {_without_password(deployment.admin_dsn)})"
            if deployment.database == "postgresql"
            else ")"
        )
    else:
        channel = (
            f"channel {deployment.redis_channel!r}, this run's own"
            if deployment.redis_channel
            else "the default channel 'socketio' (the service has no realtime.redis_channel), shared with any other "
            "service on this Redis"
        )
        service = (
            f"two python -m meetsvc serve subprocesses on one PostgreSQL database (a fresh one per run at "
            f"{_without_password(deployment.admin_dsn)}), socket.io's Redis manager between them "
            f"({_without_password(deployment.redis_url or '')}, {channel}); participants connect to process 1, hosts "
            f"to process 2, so their admits cross through Redis (every other two admits come from the host's second "
            f"socket, on process 1: the baseline without crossing); memory per connection is process 1's, CPU is both "
            f"processes'"
        )
    print(
        f"service: {service}; floor: bare aiohttp websocket relay in a subprocess; load generator: this process; "
        f"{os.cpu_count()} CPUs; seed {seed_value}",
        flush=True,
    )
    runs = [(n, False) for n in sizes]
    if compression_n:
        runs.append((compression_n, True))
    report = []
    with tempfile.TemporaryDirectory(prefix="bench-admit-") as root:
        for n, compression in runs:
            report.append(
                await run_one(Path(root), n, compression, samples, tickets_mode, rng, deployment, idle_seconds)
            )
    return report


def durable_figures(durable: dict[str, list[float]], database: str) -> dict[str, float | None]:
    """``durable_floor_p50_ms``/``_p99_ms`` for the run's own kind of database, and each kind's by name."""
    figures: dict[str, float | None] = {}
    for kind in ("sqlite", "postgresql"):
        ms = [v * 1000 for v in durable.get(kind, [])]
        figures[f"durable_floor_{kind}_p50_ms"] = round(percentile(ms, 50), 3) if ms else None
        figures[f"durable_floor_{kind}_p99_ms"] = round(percentile(ms, 99), 3) if ms else None
    figures["durable_floor_p50_ms"] = figures[f"durable_floor_{database}_p50_ms"]
    figures["durable_floor_p99_ms"] = figures[f"durable_floor_{database}_p99_ms"]
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", help="comma-separated numbers of waiting participants (default 100,1000,5000)")
    parser.add_argument("--quick", action="store_true", help="N = 100,500 (+ 500 compressed), about 200 admits each")
    parser.add_argument(
        "--samples",
        type=int,
        help="about how many admits to measure per N, of each kind with two processes (default 1000, quick 200)",
    )
    parser.add_argument(
        "--compression-n",
        type=int,
        help="N of the extra run with websocket_compression = true (default 1000, quick 500; 0: none)",
    )
    parser.add_argument(
        "--tickets",
        choices=["auto", "http", "mint"],
        default="auto",
        help=f"lobby tickets over HTTP or minted with the service's key (auto: HTTP up to N={HTTP_TICKETS_UP_TO:,})",
    )
    parser.add_argument(
        "--processes",
        type=int,
        choices=[1, 2],
        default=1,
        help="service processes; 2: on PostgreSQL with Redis between them, participants on one, hosts on the other",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        help="the service's database (default: sqlite with one process, postgresql with two, which need it)",
    )
    parser.add_argument(
        "--postgres", default=ADMIN_DSN, help=f"admin DSN a fresh database is created through (default {ADMIN_DSN})"
    )
    parser.add_argument("--redis", default=REDIS_URL, help=f"Redis for two processes (default {REDIS_URL})")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=0.0,
        help="also measure the services' CPU while idle, before and after the N connect, over this many seconds "
        "each (65 covers two ping rounds; default 0: not measured)",
    )
    parser.add_argument("--seed", type=int, default=int(uuid.uuid4().int % 10_000))
    parser.add_argument("--floor-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor-compress", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--floor-sqlite", help=argparse.SUPPRESS)
    parser.add_argument("--floor-postgres", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.database is None:
        args.database = "postgresql" if args.processes == 2 else "sqlite"
    if args.processes == 2 and args.database != "postgresql":
        parser.error("--processes 2 runs on PostgreSQL: two processes share one database")
    return args


def _run(coroutine: Any) -> Any:
    """asyncio.run, with SIGTERM treated like Ctrl+C so the subprocesses are stopped either way."""

    async def guarded() -> Any:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await coroutine

    return asyncio.run(guarded())


if __name__ == "__main__":
    args = parse_args()
    if args.floor_server is not None:
        run_floor_server(args.floor_server, bool(args.floor_compress), args.floor_sqlite, args.floor_postgres)
        raise SystemExit(0)
    if args.n:
        sizes = [int(part) for part in args.n.split(",") if part.strip()]
    elif args.quick:
        sizes = [100, 500]
    else:
        sizes = [100, 1000, 5000]
    samples = args.samples or (200 if args.quick else 1000)
    compression_n = (500 if args.quick else 1000) if args.compression_n is None else args.compression_n
    deployment = Deployment(
        processes=args.processes,
        database=args.database,
        admin_dsn=args.postgres,
        redis_url=args.redis if args.processes == 2 else None,
    )
    try:
        report = _run(main(sizes, compression_n, samples, args.tickets, args.seed, deployment, args.idle_seconds))
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        _kill_children()
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    print(json.dumps(report))
