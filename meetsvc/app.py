"""Building the application: one function wires storage, keys, operations and routes.

Each resource is opened and closed in one ``cleanup_ctx`` generator, so a failure half-way
through start-up closes what was opened and nothing leaks between test apps.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import AsyncIterator, Callable

from aiohttp import web

from meetsvc import health
from meetsvc.api import routes
from meetsvc.api.endpoints import ENDPOINTS
from meetsvc.api.openapi import build_openapi
from meetsvc.audit import AuditLog
from meetsvc.booking import Booking, BookingLimits
from meetsvc.directory import Clock, Directory, utc_now
from meetsvc.keys import load_keys
from meetsvc.metrics import Metrics
from meetsvc.middleware import observe, problems
from meetsvc.pii import PersonalNumberVault
from meetsvc.settings import Settings
from meetsvc.state import AUDIT, BOOKING, DIRECTORY, ENGINE, KEYS, METRICS, OPENAPI, SCHEMA_HEADS, SETTINGS
from meetsvc.storage.engine import create_engine
from meetsvc.storage.migrate import head_revisions


def booking_limits(settings: Settings) -> BookingLimits:
    meetings = settings.meetings
    return BookingLimits(
        max_participants=meetings.max_participants,
        min_duration=timedelta(minutes=meetings.min_duration_minutes),
        max_duration=timedelta(minutes=meetings.max_duration_minutes),
        max_ahead=timedelta(days=meetings.max_days_ahead),
        time_zone=meetings.time_zone,
    )


def _storage(clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def storage(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        keys = await asyncio.to_thread(
            load_keys, settings.security.keys_dir, create_missing=settings.security.create_missing_keys
        )
        engine = create_engine(settings.database.url, echo=settings.database.echo)
        app[KEYS] = keys
        app[ENGINE] = engine
        app[SCHEMA_HEADS] = await asyncio.to_thread(head_revisions, settings.database.url)
        audit = AuditLog(keys.audit_chain)
        vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
        app[AUDIT] = audit
        app[DIRECTORY] = Directory(engine, audit, vault, clock)
        app[BOOKING] = Booking(engine, audit, vault, booking_limits(settings), clock)
        try:
            yield
        finally:
            await engine.dispose()

    return storage


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    app = web.Application(
        middlewares=[observe, problems],
        client_max_size=settings.server.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[OPENAPI] = build_openapi(ENDPOINTS, server_url=settings.server.base_url)
    app.cleanup_ctx.append(_storage(clock))

    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", health.metrics, name="metrics")
    app.router.add_get("/api/v1/openapi.json", openapi_document, name="openapi")
    routes.register(app, ENDPOINTS)
    return app
