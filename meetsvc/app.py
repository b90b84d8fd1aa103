"""Building the application: the services from :mod:`meetsvc.wiring`, and the HTTP and
realtime transport mounted on them.

Each resource is opened and closed in one ``cleanup_ctx`` generator, so a failure half-way
through start-up closes what was opened and nothing leaks between test apps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from meetsvc.config import Settings
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.metrics import Metrics
from meetsvc.domain.errors import DomainError
from meetsvc.http import health
from meetsvc.http.api import routes
from meetsvc.http.api.endpoints import ENDPOINTS
from meetsvc.http.api.openapi import build_openapi
from meetsvc.http.appkeys import (
    AUDIT,
    BOOKING,
    COURIER,
    DEMO,
    DIRECTORY,
    EID,
    ENGINE,
    FREJA,
    IDENTIFICATION,
    INVITATIONS,
    KEYS,
    LINKS,
    METRICS,
    NOTIFY,
    OPENAPI,
    SCHEDULE,
    SCHEMA_HEADS,
    SERVICES,
    SESSIONS,
    SETTINGS,
    SOCKETS,
    STAFF_OIDC,
    TICKETS,
    WAITING_ROOM,
)
from meetsvc.http.middleware import hide_server_version, observe, problems
from meetsvc.http.pages.i18n import load_catalogues
from meetsvc.http.pages.render import preload_templates
from meetsvc.http.pages.routes import add_page_routes
from meetsvc.notify.runtime import open_notify
from meetsvc.realtime.bounds import ConnectionBounds
from meetsvc.realtime.fanout import watch_fanout
from meetsvc.realtime.namespaces import HostNamespace, ParticipantNamespace, deliver_decided
from meetsvc.realtime.server import Courier, create_server
from meetsvc.realtime.video import VideoNamespace
from meetsvc.schedule.runner import ScheduleCollector
from meetsvc.schedule.work import Hooks
from meetsvc.storage.availability import database_unavailable
from meetsvc.storage.migrate import head_revisions
from meetsvc.wiring import (
    Admission,
    Services,
    build_schedule,
    open_admission,
    open_identification,
    open_services,
    open_staff_sign_in,
    prepare_demo,
)

log = logging.getLogger(__name__)


def _services(clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    """The services, and the realtime transport that carries the waiting room."""

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        async with open_services(settings, clock) as services, open_admission(services) as admission:
            app[SERVICES] = services
            app[KEYS] = services.keys
            app[ENGINE] = services.engine
            app[SCHEMA_HEADS] = await asyncio.to_thread(head_revisions, settings.database.url)
            app[AUDIT] = services.audit
            app[DIRECTORY] = services.directory
            app[LINKS] = services.links
            app[SESSIONS] = services.sessions
            app[INVITATIONS] = services.invitations
            app[TICKETS] = admission.tickets
            app[WAITING_ROOM] = services.waiting_room
            app[COURIER] = _mount_realtime(app, services, admission)
            if settings.realtime.redis_url is None:
                await _forget_presence(services)
            try:
                yield
            finally:
                await app[COURIER].aclose()

    return services_ctx


async def _forget_presence(services: Services) -> None:
    """Without Redis this is the only process with sockets, so every socket counted in the
    database is from its last run: count them out before the first page connects. With Redis
    other processes may hold sockets counted there, so the counts stay."""
    try:
        left = await services.waiting_room.forget_presence()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # Start anyway, as with the database away at any other moment: the service answers 503
        # until it is back. Pages reconnecting meanwhile may then be counted twice.
        log.warning("the database is unreachable: sockets counted before this start stay counted")
        return
    if left:
        log.info("%d video connections from before this start were counted out", left)


def _mount_realtime(app: web.Application, services: Services, admission: Admission) -> Courier:
    """Register the socket.io namespaces (``/video`` only for the built-in backend) and return
    the courier that delivers the waiting room's notices to them."""
    settings, clock, metrics, sockets = services.settings, services.clock, app[METRICS], app[SOCKETS]
    room = services.waiting_room
    video: VideoNamespace | None = None
    if admission.video.name == "builtin":
        video = VideoNamespace(room, admission.signing, issuer=settings.server.base_url, clock=clock, metrics=metrics)
    courier = Courier(sockets, settings.meetings.time_zone, admission.handover, video, room)
    room.mint_credentials_with(admission.handover)
    sockets.register_namespace(
        ParticipantNamespace(room, admission.tickets, courier, clock, notes=services.notes, metrics=metrics)
    )
    hosts = HostNamespace(room, services.sessions, courier, notes=services.notes, metrics=metrics)
    sockets.register_namespace(hosts)
    services.directory.listen_signed_out(hosts.sign_out)
    if video is not None:
        sockets.register_namespace(video)

        async def video_presence(attendance_id: str, by: int) -> None:
            notices = await room.presence_changed(attendance_id, kind="video", by=by)
            if notices.meeting_id:
                await deliver_decided(courier, notices)

        video.on_presence = video_presence
    return courier


async def _notifications(app: web.Application) -> AsyncIterator[None]:
    """Messages (the outbox and this process's delivery loop), booking that records them, and
    the schedule, which runs in whichever process holds its lock."""
    services = app[SERVICES]
    settings = services.settings
    async with open_notify(
        settings.notify,
        services.engine,
        public_url=settings.server.base_url,
        clock=services.clock,
        links=services.links,
    ) as notify:
        app[NOTIFY] = notify

        def booking_changed(meeting_id: str) -> None:
            notify.deliverer.wake()
            if SCHEDULE in app:
                app[SCHEDULE].changed(meeting_id)

        courier = app[COURIER]
        app[BOOKING] = services.booking(
            notices=notify.notices, on_change=booking_changed, entries_ended=courier.deliver
        )
        hooks = Hooks(
            messages_recorded=notify.deliverer.wake,
            room_changed=courier.deliver,
            room_opened=courier.waiting_room_opened,
        )
        schedule = build_schedule(services, notify, hooks)
        if schedule is not None:
            app[SCHEDULE] = schedule
            app[METRICS].registry.register(ScheduleCollector(schedule))
            schedule.start()
        try:
            yield
        finally:
            if schedule is not None:
                await schedule.stop()


async def _identification(app: web.Application) -> AsyncIterator[None]:
    async with open_identification(app[SERVICES]) as eid:
        app[EID] = eid.runtime
        app[FREJA] = eid.freja
        app[IDENTIFICATION] = eid.identification
        if COURIER in app:
            eid.identification.on_replaced = app[COURIER].entries_ended
        yield


async def _staff_sign_in(app: web.Application) -> AsyncIterator[None]:
    async with open_staff_sign_in(app[SERVICES]) as sign_in:
        app[STAFF_OIDC] = sign_in
        yield


async def _fanout(app: web.Application) -> AsyncIterator[None]:
    """Catch pages up after a Redis outage (see :mod:`meetsvc.realtime.fanout`)."""
    redis_url = app[SETTINGS].realtime.redis_url
    async with watch_fanout(app[SOCKETS], app[WAITING_ROOM], app[COURIER], redis_url, metrics=app[METRICS]):
        yield


async def _close_sockets(app: web.Application) -> None:
    """Say goodbye to every connected socket at shutdown, so pages reconnect (to another
    process, or this one restarted) at once instead of after a ping timeout."""
    sockets = app[SOCKETS]
    await sockets.stop_sweeping()
    for namespace in list(sockets.namespace_handlers):
        for sid, _ in list(sockets.manager.get_participants(namespace, None)):
            await sockets.disconnect(sid, namespace=namespace)


async def _preload_pages(app: web.Application) -> None:
    await asyncio.to_thread(preload_templates)
    await asyncio.to_thread(load_catalogues)


async def _demo(app: web.Application) -> None:
    """In development, the demo meeting (booked through the booking the pages use, so its
    invitations reach the outbox); a demo that cannot be made leaves the service running."""
    try:
        app[DEMO] = await prepare_demo(app[SERVICES], app[BOOKING])
    except DomainError as exc:
        log.warning("the demo meeting could not be prepared: %s", exc)
        app[DEMO] = None


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    hide_server_version()
    app = web.Application(
        middlewares=[observe, problems],
        client_max_size=settings.server.max_body_bytes,
        # Bodies are read as sent: the problems middleware refuses a compressed one (415) before
        # anything reads it, whichever coding it names.
        handler_args={"auto_decompress": False},
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
        bounds=ConnectionBounds(
            unjoined_seconds=settings.realtime.unjoined_seconds,
            per_address=settings.realtime.connections_per_address,
            trusted_proxies=settings.server.trusted_proxies,
            clock=clock,
        ),
    )
    sockets.attach(app)
    app[SOCKETS] = sockets
    app.cleanup_ctx.append(_services(clock))
    app.cleanup_ctx.append(_notifications)
    app.cleanup_ctx.append(_identification)
    app.cleanup_ctx.append(_staff_sign_in)
    app.cleanup_ctx.append(_fanout)
    app.on_startup.append(_preload_pages)
    app.on_startup.append(_demo)
    app.on_shutdown.append(_close_sockets)

    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", health.metrics, name="metrics")
    app.router.add_get("/api/v1/openapi.json", openapi_document, name="openapi")
    routes.register(app, ENDPOINTS)
    add_page_routes(app)
    return app
