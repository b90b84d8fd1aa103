"""Upgrading a database with meetings in it to roles and the partner's part keeps everyone's access.

Staff who could organise become organisers and hosts, each meeting learns who booked it from its
audit entry, and each participant was invited by the booking organisation, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from meetsvc.storage.migrate import upgrade
from tests.support.databases import POSTGRES_ADMIN_DSN, postgres_url

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/upgrade.sqlite3"
        return
    name = f"meetsvc_upgrade_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield postgres_url(name)
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def test_upgrading_keeps_organisers_their_meetings_and_participants_their_organisation(empty_url: str) -> None:
    await upgrade(empty_url, "0006")
    engine = create_async_engine(empty_url)
    ids = {name: str(uuid.uuid4()) for name in ("town", "region", "leader", "viewer", "meeting", "person")}
    try:
        async with engine.begin() as connection:
            for key, kind in (("town", "municipality"), ("region", "region")):
                await connection.execute(
                    text("INSERT INTO organisations (id, name, kind, created_at) VALUES (:id, :name, :kind, :at)"),
                    {"id": ids[key], "name": key, "kind": kind, "at": NOW},
                )
            for key, can in (("leader", True), ("viewer", False)):
                await connection.execute(
                    text(
                        "INSERT INTO staff_members (id, organisation_id, display_name, can_organise, created_at)"
                        " VALUES (:id, :org, :name, :can, :at)"
                    ),
                    {"id": ids[key], "org": ids["town"], "name": key, "can": can, "at": NOW},
                )
            await connection.execute(
                text(
                    "INSERT INTO meetings (id, organisation_id, partner_organisation_id, title, care_area, starts_at,"
                    " ends_at, time_zone, status, sequence, created_at, updated_at)"
                    " VALUES (:id, :org, :partner, 'SIP-möte', 'ovrigt', :at, :at, 'Europe/Stockholm', 'scheduled',"
                    " 0, :at, :at)"
                ),
                {"id": ids["meeting"], "org": ids["town"], "partner": ids["region"], "at": NOW},
            )
            await connection.execute(
                text(
                    "INSERT INTO audit_log (seq, occurred_at, actor, action, subject_type, subject_id, meeting_id,"
                    " details, prev_hash, hash) VALUES (1, :at, :actor, 'meeting.created', 'meeting', :id, :id,"
                    " '{}', '', '')"
                ),
                {"at": NOW, "actor": f"staff:{ids['leader']}", "id": ids["meeting"]},
            )
            await connection.execute(
                text(
                    "INSERT INTO participants (id, meeting_id, role, display_name, language, state, created_at,"
                    " updated_at) VALUES (:id, :meeting, 'individual', 'Kim', 'sv', 'invited', :at, :at)"
                ),
                {"id": ids["person"], "meeting": ids["meeting"], "at": NOW},
            )
        await upgrade(empty_url)
        async with engine.connect() as connection:
            staff = dict((await connection.execute(text("SELECT id, roles FROM staff_members"))).all())
            active = set((await connection.execute(text("SELECT active FROM staff_members"))).scalars())
            booked_by = (await connection.execute(text("SELECT booked_by FROM meetings"))).scalar_one()
            invited_by = (
                await connection.execute(text("SELECT invited_by_organisation_id FROM participants"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert staff == {ids["leader"]: "host,organiser", ids["viewer"]: ""}
    assert active == {True}
    assert booked_by == f"staff:{ids['leader']}"
    assert invited_by == ids["town"]
