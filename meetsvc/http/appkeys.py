"""Typed keys for what the aiohttp application holds (aiohttp's ``web.AppKey``)."""

from __future__ import annotations

import socketio
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.services.audit import AuditLog
from meetsvc.services.booking import Booking
from meetsvc.services.directory import Directory
from meetsvc.services.eid import EidRuntime
from meetsvc.services.identification import Identification
from meetsvc.services.invitations import Invitations
from meetsvc.realtime.server import Courier
from meetsvc.realtime.tickets import LobbyTickets
from meetsvc.core.secrets import SecretKeys
from meetsvc.services.links import JoinLinks
from meetsvc.core.metrics import Metrics
from meetsvc.notify.runtime import NotifyRuntime
from meetsvc.schedule.runner import Schedule
from meetsvc.services.sessions import BrowserSessions
from meetsvc.config import Settings
from meetsvc.services.waiting_room import WaitingRoom

SETTINGS = web.AppKey("settings", Settings)
KEYS = web.AppKey("keys", SecretKeys)
ENGINE = web.AppKey("engine", AsyncEngine)
AUDIT = web.AppKey("audit", AuditLog)
BOOKING = web.AppKey("booking", Booking)
DIRECTORY = web.AppKey("directory", Directory)
METRICS = web.AppKey("metrics", Metrics)
SCHEMA_HEADS = web.AppKey("schema_heads", frozenset)
OPENAPI = web.AppKey("openapi", dict)
SESSIONS = web.AppKey("sessions", BrowserSessions)
EID = web.AppKey("eid", EidRuntime)
IDENTIFICATION = web.AppKey("identification", Identification)
INVITATIONS = web.AppKey("invitations", Invitations)
TICKETS = web.AppKey("tickets", LobbyTickets)
WAITING_ROOM = web.AppKey("waiting_room", WaitingRoom)
COURIER = web.AppKey("courier", Courier)
SOCKETS = web.AppKey("sockets", socketio.AsyncServer)
LINKS = web.AppKey("links", JoinLinks)
NOTIFY = web.AppKey("notify", NotifyRuntime)
SCHEDULE = web.AppKey("schedule", Schedule)
