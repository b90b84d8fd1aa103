"""Typed keys for what the aiohttp application holds (aiohttp's ``web.AppKey``).

The types are named for the type checker only: importing the keys costs nothing and imports
nothing of the application, so any handler, the realtime transport or a test can name a key
without pulling in (or cycling back to) the rest of the service. What each key holds is built in
:mod:`meetsvc.wiring` and stored by :func:`meetsvc.app.create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from meetsvc.config import Settings
    from meetsvc.core.metrics import Metrics
    from meetsvc.core.secrets import SecretKeys
    from meetsvc.notify.runtime import NotifyRuntime
    from meetsvc.realtime.server import Courier
    from meetsvc.realtime.tickets import LobbyTickets
    from meetsvc.schedule.runner import Schedule
    from meetsvc.services.audit import AuditLog
    from meetsvc.services.booking import Booking
    from meetsvc.services.demo import Demo
    from meetsvc.services.directory import Directory
    from meetsvc.services.eid import EidRuntime
    from meetsvc.services.identification import Identification
    from meetsvc.services.invitations import Invitations
    from meetsvc.services.links import JoinLinks
    from meetsvc.services.sessions import BrowserSessions
    from meetsvc.services.staff_oidc import StaffOidcSignIn
    from meetsvc.services.waiting_room import WaitingRoom
    from meetsvc.storage.engine import Engine
    from meetsvc.wiring import Services

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
# The services the keys below name one by one (meetsvc.wiring), for the parts built after them.
SERVICES: web.AppKey[Services] = web.AppKey("services")
KEYS: web.AppKey[SecretKeys] = web.AppKey("keys")
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
BOOKING: web.AppKey[Booking] = web.AppKey("booking")
DIRECTORY: web.AppKey[Directory] = web.AppKey("directory")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
SCHEMA_HEADS: web.AppKey[frozenset[str]] = web.AppKey("schema_heads")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
SESSIONS: web.AppKey[BrowserSessions] = web.AppKey("sessions")
EID: web.AppKey[EidRuntime] = web.AppKey("eid")
# Freja eID beside BankID, or None where the deployment does not offer it.
FREJA: web.AppKey[EidRuntime | None] = web.AppKey("freja")
IDENTIFICATION: web.AppKey[Identification] = web.AppKey("identification")
STAFF_OIDC: web.AppKey[StaffOidcSignIn] = web.AppKey("staff_oidc")
INVITATIONS: web.AppKey[Invitations] = web.AppKey("invitations")
TICKETS: web.AppKey[LobbyTickets] = web.AppKey("tickets")
WAITING_ROOM: web.AppKey[WaitingRoom] = web.AppKey("waiting_room")
COURIER: web.AppKey[Courier] = web.AppKey("courier")
SOCKETS: web.AppKey[socketio.AsyncServer] = web.AppKey("sockets")
LINKS: web.AppKey[JoinLinks] = web.AppKey("links")
NOTIFY: web.AppKey[NotifyRuntime] = web.AppKey("notify")
SCHEDULE: web.AppKey[Schedule] = web.AppKey("schedule")
# The development demo's meeting and links, or None (meetsvc.services.demo).
DEMO: web.AppKey[Demo | None] = web.AppKey("demo")
