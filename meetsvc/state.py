"""Typed keys for what the aiohttp application holds (aiohttp's ``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.audit import AuditLog
from meetsvc.booking import Booking
from meetsvc.directory import Directory
from meetsvc.keys import KeyRing
from meetsvc.metrics import Metrics
from meetsvc.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
KEYS = web.AppKey("keys", KeyRing)
ENGINE = web.AppKey("engine", AsyncEngine)
AUDIT = web.AppKey("audit", AuditLog)
BOOKING = web.AppKey("booking", Booking)
DIRECTORY = web.AppKey("directory", Directory)
METRICS = web.AppKey("metrics", Metrics)
SCHEMA_HEADS = web.AppKey("schema_heads", frozenset)
OPENAPI = web.AppKey("openapi", dict)
