"""A real meetsvc serving on a loopback port, and an HTTP client for it."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from meetsvc.app import create_app
from meetsvc.config import Settings

# Ports handed out by free_port(), each still held by its bound socket until the service takes
# it over (web.SockSite): closing and re-binding would let another process take it in between.
_RESERVED: dict[int, socket.socket] = {}


def free_port() -> int:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    _RESERVED[port] = sock
    return port


def make_settings(database_url: str, keys_dir: Path, **overrides: Any) -> Settings:
    data: dict[str, Any] = {
        "environment": "development",
        "server": {"host": "127.0.0.1", "port": free_port()},
        "database": {"url": database_url},
        "security": {"keys_dir": str(keys_dir), "create_missing_keys": True, "secure_cookies": False},
        "logging": {"level": "WARNING", "format": "text"},
        "identity": {"provider": "bankid-simulator", "collect_interval_seconds": 0.1},
        "simulator": {"certs_dir": str(keys_dir.parent / "bankid-simulator"), "app_port": 0},
        # Most tests move a clock of their own; the schedule's tests switch it on themselves.
        "schedule": {"enabled": False},
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return Settings.model_validate(data)


class SettableClock:
    """A clock tests can move; the service reads it wherever it asks for 'now'."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RunningService:
    app: web.Application
    runner: web.AppRunner
    base_url: str
    settings: Settings
    clock: SettableClock
    http: aiohttp.ClientSession = field(repr=False)

    async def close(self) -> None:
        await self.http.close()
        await self.runner.cleanup()


async def start_service(settings: Settings, clock: SettableClock | None = None) -> RunningService:
    clock = clock or SettableClock()
    app = create_app(settings, clock=clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    reserved = _RESERVED.pop(settings.server.port, None)
    if reserved is not None:
        site: web.BaseSite = web.SockSite(runner, reserved)
    else:  # a port reused on purpose (a restarted service)
        site = web.TCPSite(runner, settings.server.host, settings.server.port, reuse_address=True)
    await site.start()
    base_url = f"http://{settings.server.host}:{settings.server.port}"
    http = aiohttp.ClientSession(base_url=base_url)
    return RunningService(app, runner, base_url, settings, clock, http)
