"""Real ``meetsvc serve`` processes for the scale-out tests, and a waiting room driven through them.

:class:`ServiceProcess` starts the command as an operator would, from a TOML file of its own,
with its output in a log file the test names when something goes wrong; the same class runs a
supervisor (``server.processes`` > 1) and finds its workers. The functions below it do what
``tests/support/lobby.py`` does for an in-process service, but against a base URL: the test
process builds organisations, keys and hosts straight in the shared database (as the operator's
commands would), and everything a browser does goes over HTTP and socket.io to a chosen process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import psutil
import socketio
from prometheus_client.parser import text_string_to_metric_families

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import load_keys
from meetsvc.core.signing import load_signing_keys
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import Language, Organisation, OrganisationKind
from meetsvc.services.audit import AuditLog
from meetsvc.services.directory import Directory
from meetsvc.services.sessions import BrowserSessions, SessionKind
from meetsvc.storage.engine import create_engine
from tests.support.lobby import HOST_EVENTS, PARTICIPANT_EVENTS, Socket, csrf_of
from tests.support.timing import WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[2]


# Ports and configuration ----------------------------------------------------------------------


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports free just now (a supervisor's workers
    take port .. port+count-1). Another program could take one before the service does; the
    range is random, so that is rare."""
    for _ in range(200):
        # Below the ephemeral range (32768 and up on Linux), where connections and port-0
        # listeners (each process's BankID simulator) take theirs.
        first = random.randint(20000, 32000 - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free range of loopback ports")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """A TOML document from nested dicts (tables become ``[a.b]`` sections)."""
    plain = [f"{key} = {_toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    text = ""
    if plain:
        text += (f"[{prefix}]\n" if prefix else "") + "\n".join(plain) + "\n\n"
    for key, value in data.items():
        if isinstance(value, dict):
            text += toml_text(value, f"{prefix}.{key}" if prefix else key)
    return text


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


@dataclass(frozen=True)
class Shared:
    """What every process of one test shares: the database, Redis, the key folder."""

    database_url: str
    keys_dir: Path
    certs_dir: Path
    redis_url: str | None = None
    redis_channel: str | None = None

    def prepare(self) -> None:
        """Create the keys (and the simulator's certificates) once, before any process starts."""
        from identity.bankid.testpki import ensure_test_pki

        load_keys(self.keys_dir, create_missing=True)
        load_signing_keys(self.keys_dir / "signing", create_missing=True)
        ensure_test_pki(self.certs_dir)

    def config(self, port: int, public_url: str | None, **overrides: Any) -> dict[str, Any]:
        """One process's configuration file; ``public_url`` None leaves it to the default (and,
        with several processes, to the supervisor)."""
        realtime: dict[str, Any] = {}
        if self.redis_url:
            realtime = {"redis_url": self.redis_url, "redis_channel": self.redis_channel or "meetsvc"}
        base: dict[str, Any] = {
            "environment": "development",
            "server": {"host": "127.0.0.1", "port": port, **({"public_url": public_url} if public_url else {})},
            "database": {"url": self.database_url},
            "security": {"keys_dir": str(self.keys_dir), "create_missing_keys": False, "secure_cookies": False},
            "identity": {"provider": "bankid-simulator", "collect_interval_seconds": 0.1},
            "simulator": {"certs_dir": str(self.certs_dir), "app_port": 0},
            "realtime": realtime,
            "schedule": {"enabled": False},
            "logging": {"level": "WARNING", "format": "text"},
        }
        return merge(base, overrides)


# Processes ------------------------------------------------------------------------------------


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


class ServiceProcess:
    """``meetsvc --config FILE serve`` in a process of its own, its output in ``FILE.log`` (with
    ``separate_stderr``, its log stream alone in ``FILE.err``)."""

    def __init__(self, config: dict[str, Any], directory: Path, name: str, *, separate_stderr: bool = False) -> None:
        self.config_path = directory / f"{name}.toml"
        self.config_path.write_text(toml_text(config), encoding="utf-8")
        self.log_path = directory / f"{name}.log"
        self.stderr_path = directory / f"{name}.err" if separate_stderr else None
        server = config["server"]
        self.ports = [server["port"] + i for i in range(server.get("processes", 1))]
        self.process: asyncio.subprocess.Process | None = None

    @property
    def urls(self) -> list[str]:
        return [base_url(port) for port in self.ports]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for path in (self.log_path, self.stderr_path):
            with contextlib.suppress(OSError, AttributeError):
                tails.append("\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]))
        return "\n".join(tails)

    async def start(self) -> ServiceProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSVC_")}
        with self.log_path.open("ab") as log, (self.stderr_path or self.log_path).open("ab") as errors:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "meetsvc",
                "--config",
                str(self.config_path),
                "serve",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=errors if self.stderr_path else asyncio.subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        return self

    async def wait_ready(self, timeout: float = 30) -> None:
        """Until every port answers 200 on /readyz."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for url in self.urls:
                await wait_ready(http, url, deadline, self)

    def workers(self) -> list[psutil.Process]:
        """A supervisor's live worker processes."""
        try:
            children = psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]

    def signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    async def wait(self, timeout: float) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code, None if it had to be killed."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.process.wait()
            return None


async def wait_ready(
    http: aiohttp.ClientSession, url: str, deadline: float, owner: ServiceProcess | None = None
) -> None:
    while True:
        if owner is not None and owner.process is not None and owner.process.returncode is not None:
            raise AssertionError(f"{url} exited with {owner.process.returncode}:\n{owner.log_tail()}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} was not ready in time:\n{owner.log_tail() if owner else ''}")
        await asyncio.sleep(0.1)


async def metrics(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """A process's /metrics as ``{"name{label=value}": value}`` (labels sorted), or {} if it is down."""
    try:
        async with http.get(f"{url}/metrics", timeout=aiohttp.ClientTimeout(total=2)) as response:
            text = await response.text()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return {}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


@contextlib.asynccontextmanager
async def running(*processes: ServiceProcess, timeout: float = 45) -> AsyncIterator[None]:
    """Start the processes together, wait until each is ready, and stop what still runs at the end."""
    try:
        for process in processes:
            await process.start()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for process in processes:
                for url in process.urls:
                    await wait_ready(http, url, deadline, process)
        yield
    except BaseException:
        for process in processes:  # shown by pytest with the failure
            print(f"--- {process.log_path.name} ---\n{process.log_tail()}")
        raise
    finally:
        await asyncio.gather(*(process.stop() for process in processes))


# The people and the meeting -------------------------------------------------------------------


@dataclass
class Deployment:
    """Organisations, API keys and hosts, made in the shared database by the test itself."""

    shared: Shared
    municipality: Organisation
    region: Organisation
    keys: dict[str, str]
    hosts: dict[str, str]
    host_cookie: str

    def auth(self, organisation: Organisation | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[(organisation or self.municipality).id]}"}


async def build_deployment(shared: Shared) -> Deployment:
    keys = await asyncio.to_thread(load_keys, shared.keys_dir, create_missing=False)
    engine = create_engine(shared.database_url)
    try:
        audit = AuditLog(keys.audit_chain)
        directory = Directory(engine, audit, PersonalNumberVault(keys.pii_encryption, keys.pii_hash))
        municipality = await directory.create_organisation("Exempelstads kommun", OrganisationKind.MUNICIPALITY)
        region = await directory.create_organisation("Region Exempel", OrganisationKind.REGION)
        api_keys, hosts = {}, {}
        for organisation in (municipality, region):
            _, api_keys[organisation.id] = await directory.create_api_client(organisation.id, "case management")
            member = await directory.add_staff_member(
                OrganisationCaller(organisation.id, "test"), display_name=f"Ledare {organisation.name}"
            )
            hosts[organisation.id] = member.id
        sessions = BrowserSessions(engine, idle=timedelta(minutes=30), absolute=timedelta(hours=10))
        async with engine.begin() as connection:
            issued = await sessions.create(
                connection, SessionKind.STAFF, language=Language.SV, staff_id=hosts[municipality.id]
            )
    finally:
        await engine.dispose()
    return Deployment(shared, municipality, region, api_keys, hosts, issued.token)


async def book(deployment: Deployment, url: str, starts_at: datetime, *, minutes: int = 60) -> dict[str, Any]:
    body = {
        "partner_organisation_id": deployment.region.id,
        "title": "SIP-möte",
        "care_area": "barn_och_unga",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=minutes)).isoformat(),
        "host_ids": [deployment.hosts[deployment.municipality.id]],
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/v1/meetings", json=body, headers=deployment.auth()) as response:
            assert response.status == 201, await response.text()
            return await response.json()


async def add_participant(deployment: Deployment, url: str, meeting_id: str, **fields: Any) -> dict[str, Any]:
    body = {"role": "individual", "display_name": "Kim Andersson", "email": "kim@example.se", **fields}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/v1/meetings/{meeting_id}/participants", json=body, headers=deployment.auth()) as response,
    ):
        assert response.status == 201, await response.text()
        return await response.json()


@dataclass
class Page:
    """A participant's browser. Its requests go to ``url`` unless told otherwise (behind the
    proxy any process may answer one); its cookies go to every process."""

    participant_id: str
    url: str
    http: aiohttp.ClientSession
    csrf: str = ""

    async def close(self) -> None:
        await self.http.close()


async def open_invitation(deployment: Deployment, url: str, participant: dict[str, Any]) -> Page:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    path = urlsplit(participant["invitation_url"]).path
    # The link page's button (a POST) opens the invitation.
    async with http.post(url + path) as response:
        assert response.status == 200, await response.text()
        csrf = csrf_of(await response.text())
    return Page(participant["id"], url, http, csrf)


async def identify(page: Page, personal_number: str) -> None:
    """Identify on the same device: the page's autostart link leads to the simulator of the
    process that started the order (each process runs its own), where the person approves."""
    async with page.http.post(f"{page.url}/identify", data={"csrf": page.csrf, "device": "same"}) as response:
        assert response.status == 200, await response.text()
    async with page.http.get(f"{page.url}/identify/status") as response:
        autostart = (await response.json())["autostart_url"]
    link = urlsplit(autostart)
    app_url = f"{link.scheme}://{link.netloc}/"
    token = parse_qs(link.query)["autostarttoken"][0]
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/autostart", json={"autoStartToken": token}) as response:
            assert response.status == 200, await response.text()
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}
        ) as response:
            assert response.status == 200, await response.text()
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            async with page.http.get(f"{page.url}/identify/status") as response:
                if (await response.json())["state"] == "complete":
                    return
            await asyncio.sleep(0.05)


async def lobby_ticket(page: Page, url: str | None = None) -> str:
    """A ticket for the waiting room, from ``url`` (any process) or the page's own."""
    async with page.http.post(f"{url or page.url}/lobby/ticket", headers={"X-CSRF-Token": page.csrf}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["ticket"]


def _record(socket: Socket, names: list[str]) -> None:
    for name in names:

        def handler(data: Any = None, _name: str = name) -> None:
            socket.events.append((_name, data))
            socket.arrived.set()

        socket.client.on(name, handler, namespace=socket.namespace)


async def participant_socket(url: str, ticket: str) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/participant")
    _record(socket, PARTICIPANT_EVENTS)
    await socket.client.connect(
        url, namespaces=["/participant"], auth={"ticket": ticket}, transports=["websocket"], wait_timeout=WAIT_SECONDS
    )
    return socket


async def host_socket(url: str, cookie: str, meeting_id: str) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/host")
    _record(socket, HOST_EVENTS)
    await socket.client.connect(
        url,
        namespaces=["/host"],
        auth={"meeting_id": meeting_id},
        headers={"Cookie": f"meetsvc_session={cookie}"},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    return socket
