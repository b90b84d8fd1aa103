"""Building the application: one function wires storage, keys, operations and routes.

Each resource is opened and closed in one ``cleanup_ctx`` generator, so a failure half-way
through start-up closes what was opened and nothing leaks between test apps.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import AsyncIterator, Callable

from aiohttp import web

from meetsvc.http import health
from meetsvc.http.api import routes
from meetsvc.http.api.endpoints import ENDPOINTS
from meetsvc.http.api.openapi import build_openapi
from meetsvc.services.audit import AuditLog
from meetsvc.services.booking import Booking, BookingLimits
from meetsvc.services.directory import Directory
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.secrets import load_keys
from meetsvc.services.links import JoinLinks
from meetsvc.notify.runtime import NotifyRuntime, open_notify
from meetsvc.schedule.events import Rules
from meetsvc.schedule.leader import leadership_for
from meetsvc.schedule.runner import Schedule, ScheduleCollector
from meetsvc.schedule.work import Hooks, ScheduledWork
from meetsvc.core.metrics import Metrics
from meetsvc.http.middleware import observe, problems
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.config import Settings
from meetsvc.services.eid import open_eid
from meetsvc.services.identification import Identification, RateLimits
from meetsvc.services.invitations import Invitations
from meetsvc.services.sessions import BrowserSessions
from meetsvc.http.appkeys import (
    AUDIT,
    BOOKING,
    DIRECTORY,
    EID,
    ENGINE,
    IDENTIFICATION,
    INVITATIONS,
    KEYS,
    LINKS,
    METRICS,
    NOTIFY,
    OPENAPI,
    SCHEDULE,
    SCHEMA_HEADS,
    SESSIONS,
    SETTINGS,
    SOCKETS,
    TICKETS,
    WAITING_ROOM,
    COURIER,
)
from meetsvc.services.handover import Handover
from meetsvc.realtime.fanout import watch_fanout
from meetsvc.realtime.namespaces import HostNamespace, ParticipantNamespace
from meetsvc.realtime.video import VideoNamespace
from meetsvc.video.builtin import AUDIENCE as VIDEO_AUDIENCE
from meetsvc.video.registry import create_backend
from meetsvc.realtime.server import Courier, create_server
from meetsvc.realtime.tickets import LobbyTickets
from meetsvc.core.signing import SigningKeys
from meetsvc.services.waiting_room import WaitingRoom
from meetsvc.http.pages.i18n import load_catalogues
from meetsvc.http.pages.render import preload_templates
from meetsvc.http.pages.routes import add_page_routes
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
        app[LINKS] = JoinLinks(keys.derive("invitation links").reveal(), settings.server.base_url)
        sessions = BrowserSessions(
            engine,
            idle=timedelta(minutes=settings.sessions.idle_minutes),
            absolute=timedelta(hours=settings.sessions.absolute_hours),
            clock=clock,
        )
        app[SESSIONS] = sessions
        app[INVITATIONS] = Invitations(engine, audit, sessions, clock)
        signing = await asyncio.to_thread(
            SigningKeys.load, settings.security.keys_dir / "signing", create_missing=settings.security.create_missing_keys
        )
        app[TICKETS] = LobbyTickets(
            signing, issuer=settings.server.base_url, lifetime=timedelta(minutes=settings.waiting_room.ticket_minutes)
        )
        room = WaitingRoom(engine, audit, opens_before=timedelta(minutes=settings.waiting_room.opens_minutes_before), clock=clock)
        app[WAITING_ROOM] = room
        issuer = settings.server.base_url
        backend = await asyncio.to_thread(
            create_backend,
            settings.video,
            sign=signing.sign,
            verify=lambda token: signing.verify(token, audience=VIDEO_AUDIENCE, issuer=issuer, now=clock()),
            issuer=issuer,
            public_url=issuer,
            clock=clock,
        )
        handover = Handover(
            engine, audit, backend, keys.derive("video room names"),
            lifetime=timedelta(minutes=settings.waiting_room.video_credential_minutes), clock=clock,
        )
        video = VideoNamespace(room, signing, issuer=issuer, clock=clock, metrics=app[METRICS]) if backend.name == "builtin" else None
        courier = Courier(app[SOCKETS], settings.meetings.time_zone, handover, video)
        app[COURIER] = courier
        app[SOCKETS].register_namespace(ParticipantNamespace(room, app[TICKETS], courier, clock, metrics=app[METRICS]))
        app[SOCKETS].register_namespace(HostNamespace(room, sessions, courier, metrics=app[METRICS]))
        if video is not None:
            app[SOCKETS].register_namespace(video)
        try:
            yield
        finally:
            await backend.aclose()
            await engine.dispose()

    return storage


def _notifications(clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    """Messages (the outbox and this process's delivery loop), booking that records them, and
    the schedule, which runs in whichever process holds its lock."""

    async def notifications(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        engine = app[ENGINE]
        keys = app[KEYS]
        async with open_notify(settings.notify, engine, public_url=settings.server.base_url, clock=clock) as notify:
            app[NOTIFY] = notify

            def booking_changed(meeting_id: str) -> None:
                notify.deliverer.wake()
                if SCHEDULE in app:
                    app[SCHEDULE].changed(meeting_id)

            app[BOOKING] = Booking(
                engine, app[AUDIT], PersonalNumberVault(keys.pii_encryption, keys.pii_hash), booking_limits(settings), clock,
                links=app[LINKS], notices=notify.notices, on_change=booking_changed,
            )
            schedule = _build_schedule(app, notify, clock)
            if schedule is not None:
                app[SCHEDULE] = schedule
                app[METRICS].registry.register(ScheduleCollector(schedule))
                schedule.start()
            try:
                yield
            finally:
                if schedule is not None:
                    await schedule.stop()

    return notifications


def _build_schedule(app: web.Application, notify: NotifyRuntime, clock: Clock) -> Schedule | None:
    settings = app[SETTINGS]
    if not settings.schedule.enabled:
        return None
    rules = Rules(
        reminders_before=tuple(timedelta(minutes=m) for m in settings.notify.reminders_minutes_before),
        opens_before=timedelta(minutes=settings.waiting_room.opens_minutes_before),
        close_after=timedelta(minutes=settings.schedule.close_after_minutes),
        purge_after=timedelta(days=settings.schedule.purge_after_days),
    )
    courier = app[COURIER]
    work = ScheduledWork(
        app[ENGINE], app[AUDIT], app[WAITING_ROOM], notify.notices, app[LINKS], rules,
        Hooks(messages_recorded=notify.deliverer.wake, room_changed=courier.deliver, room_opened=courier.waiting_room_opened),
        clock,
    )
    return Schedule(app[ENGINE], work, rules, settings.schedule, leadership_for(app[ENGINE]), clock)


def _identification(clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def identification(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        keys = app[KEYS]
        async for runtime in open_eid(settings, clock):
            app[EID] = runtime
            identity = settings.identity
            app[IDENTIFICATION] = Identification(
                app[ENGINE],
                runtime,
                PersonalNumberVault(keys.pii_encryption, keys.pii_hash),
                app[AUDIT],
                RateLimits(identity.starts_per_invitation, identity.starts_per_address, timedelta(minutes=identity.rate_window_minutes)),
                clock,
            )
            try:
                yield
            finally:
                await app[IDENTIFICATION].drain()

    return identification


async def _fanout(app: web.Application) -> AsyncIterator[None]:
    """Catch pages up after a Redis outage (see :mod:`meetsvc.realtime.fanout`)."""
    redis_url = app[SETTINGS].realtime.redis_url
    async with watch_fanout(app[SOCKETS], app[WAITING_ROOM], app[COURIER], redis_url, metrics=app[METRICS]):
        yield


async def _close_sockets(app: web.Application) -> None:
    """Say goodbye to every connected socket at shutdown, so pages reconnect (to another
    process, or this one restarted) at once instead of after a ping timeout."""
    sockets = app[SOCKETS]
    for namespace in list(sockets.namespace_handlers):
        for sid, _ in list(sockets.manager.get_participants(namespace, None)):
            await sockets.disconnect(sid, namespace=namespace)


async def _preload_pages(app: web.Application) -> None:
    await asyncio.to_thread(preload_templates)
    await asyncio.to_thread(load_catalogues)


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
    sockets = create_server(
        allowed_origins=[settings.server.base_url],
        max_message_bytes=settings.realtime.max_message_bytes,
        compression=settings.realtime.websocket_compression,
        redis_url=settings.realtime.redis_url,
        redis_channel=settings.realtime.redis_channel,
    )
    sockets.attach(app)
    app[SOCKETS] = sockets
    app.cleanup_ctx.append(_storage(clock))
    app.cleanup_ctx.append(_notifications(clock))
    app.cleanup_ctx.append(_identification(clock))
    app.cleanup_ctx.append(_fanout)
    app.on_startup.append(_preload_pages)
    app.on_shutdown.append(_close_sockets)

    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", health.metrics, name="metrics")
    app.router.add_get("/api/v1/openapi.json", openapi_document, name="openapi")
    routes.register(app, ENDPOINTS)
    add_page_routes(app)
    return app
