"""Liveness, readiness and metrics endpoints for the platform that runs the service."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from meetsvc.state import ENGINE, METRICS, SCHEMA_HEADS
from meetsvc.storage.migrate import current_revisions


async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The service can do its work: the database answers and its schema is current."""
    engine = request.app[ENGINE]
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            current = await current_revisions(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return web.json_response({"status": "unavailable", "database": exc.__class__.__name__}, status=503)
    if current != request.app[SCHEMA_HEADS]:
        return web.json_response({"status": "unavailable", "database": "migrations pending"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
