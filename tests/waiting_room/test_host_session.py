"""A host's decisions over the console's socket check their browser session inside the decision.

The statement that checks the host's right to decide and locks the meeting also checks that the
staff member's session is live (not ended, not expired, not idle), and the same transaction moves
its idle clock when due. These tests prove what a host sees of that: deciding now and then keeps
the session; a session left idle longer than the idle time ends the console at the next decision,
which changes nothing. Both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from meetsvc.core.tokens import token_hash
from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import audit_log, browser_sessions, meetings
from tests.support.lobby import book, host_cookie, host_socket
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

IDLE_MINUTES = 30


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    running = await start_service(make_settings(database_url, keys_dir, sessions={"idle_minutes": IDLE_MINUTES}), clock)
    yield running
    await running.close()


async def _session_row(world, cookie: str):
    async with world.service.app[ENGINE].connect() as connection:
        return (
            await connection.execute(
                select(browser_sessions.c.ended_at, browser_sessions.c.last_seen_at).where(
                    browser_sessions.c.token_hash == token_hash(cookie)
                )
            )
        ).one()


async def _locked_and_audit(world, meeting_id: str) -> tuple[bool, list[str]]:
    async with world.service.app[ENGINE].connect() as connection:
        locked = (await connection.execute(select(meetings.c.locked).where(meetings.c.id == meeting_id))).scalar_one()
        actions = list((await connection.execute(select(audit_log.c.action).order_by(audit_log.c.seq))).scalars())
    return locked, actions


async def test_a_host_deciding_now_and_then_keeps_their_session(world) -> None:
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    try:
        # Three decisions, each a little less than the idle time after the one before: more
        # than the idle time in all, so only a session whose clock the decisions moved lives.
        for round_ in range(3):
            world.service.clock.advance(minutes=IDLE_MINUTES - 1)
            answer = await host.call("configure", {"locked": round_ % 2 == 0})
            assert answer["ok"] is True, answer
        row = await _session_row(world, cookie)
        assert row.ended_at is None
        assert row.last_seen_at == world.service.clock()
        assert (await _locked_and_audit(world, meeting["id"]))[0] is True
    finally:
        await host.close()


async def test_a_decision_after_the_idle_time_is_refused_closes_the_console_and_changes_nothing(world) -> None:
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    try:
        assert (await host.call("list"))["ok"] is True
        before = await _locked_and_audit(world, meeting["id"])
        world.service.clock.advance(minutes=IDLE_MINUTES + 1)
        answer = await host.call("configure", {"locked": True})
        assert answer["ok"] is False and answer["error"] == "not-found", answer
        async with asyncio.timeout(WAIT_SECONDS):
            while host.client.connected and "/host" in host.client.namespaces:
                await asyncio.sleep(0.01)
        assert await _locked_and_audit(world, meeting["id"]) == before
    finally:
        await host.close()
