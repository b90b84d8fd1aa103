"""Liveness, readiness and metrics endpoints for the platform that runs the service."""

from __future__ import annotations

import asyncio
import ipaddress

import redis.asyncio as aioredis
from aiohttp import web

from meetsvc.core.logs import request_id_var
from meetsvc.http.api.problems import problem_response
from meetsvc.http.appkeys import ENGINE, METRICS, SCHEMA_HEADS, SETTINGS
from meetsvc.storage.engine import Engine
from meetsvc.storage.migrate import current_revisions
from meetsvc.storage.queries.health import ping

# Readiness answers quickly or not at all: a load balancer asks every few seconds.
DATABASE_TIMEOUT_SECONDS = 3
REDIS_TIMEOUT_SECONDS = 1


async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers (whatever its dependencies do)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The service can do its work: the database answers and its schema is current, and Redis
    answers when the waiting room's notices go through it.

    Each dependency is named with ``"ok"`` or why not: ``"migrations pending"`` or the class of
    the error (never its text, which could hold an address or a password).
    """
    redis_url = request.app[SETTINGS].realtime.redis_url
    checks = [_database(request.app[ENGINE], request.app[SCHEMA_HEADS])]
    if redis_url:
        checks.append(_redis(redis_url))
    results = await asyncio.gather(*checks)
    body = {"database": results[0]}
    if redis_url:
        body["redis"] = results[1]
    failing = [name for name, state in body.items() if state != "ok"]
    failures = request.app[METRICS].dependency_failures
    for name in failing:
        if body[name] != "migrations pending":
            failures.labels(name, "readyz").inc()
    status = 503 if failing else 200
    return web.json_response({"status": "unavailable" if failing else "ok", **body}, status=status)


async def _database(engine: Engine, heads: frozenset[str]) -> str:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await ping(connection)
            current = await current_revisions(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return exc.__class__.__name__
    return "ok" if current == heads else "migrations pending"


async def _redis(url: str) -> str:
    """A PING on a connection of its own, so a broken pub/sub connection cannot hide the answer."""
    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS, retry=None
    )
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS * 2):
            await client.ping()
    except Exception as exc:  # refused, timed out, or an error reply: not ready
        return exc.__class__.__name__
    finally:
        await client.aclose()
    return "ok"


# Headers a proxy adds to say whom it forwards for: a request carrying one came from further away.
_FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _metrics_reader_allowed(request: web.Request) -> bool:
    """Whether ``server.metrics_allow`` lets this request read the figures.

    A request a proxy forwarded is judged by the address it was forwarded for, believed only from
    ``server.trusted_proxies``; forwarded by any other proxy, it is refused. Otherwise a proxy on
    this host would make every visitor look like loopback.
    """
    server = request.app[SETTINGS].server
    address = request.remote or ""
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        forwarded = request.headers.get("X-Forwarded-For")
        if address not in server.trusted_proxies or not forwarded:
            return False
        address = forwarded.split(",")[-1].strip()
    try:
        reader = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(reader, ipaddress.IPv6Address) and reader.ipv4_mapped is not None:  # a dual-stack socket
        reader = reader.ipv4_mapped
    return any(reader in network for network in server.metrics_networks)


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus figures, for the addresses in ``server.metrics_allow`` only."""
    if not _metrics_reader_allowed(request):
        return problem_response(
            403,
            "forbidden",
            "The figures are not served to this address.",
            "server.metrics_allow lists the addresses that may read /metrics",
            request_id=request_id_var.get(),
        )
    registry = request.app[METRICS]
    return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
