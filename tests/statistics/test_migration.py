"""Migration 0011 on a database with meetings: every organisation gets the areas it used, and
every meeting points at its organisation's area of the same code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from meetsvc.storage.engine import create_engine
from meetsvc.storage.migrate import upgrade


async def test_existing_meetings_get_their_organisations_area(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    await upgrade(url, "0006")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for org, kind in (("o1", "municipality"), ("o2", "region")):
                await connection.execute(
                    sa.text("INSERT INTO organisations (id, name, kind, created_at) VALUES (:id, :id, :kind, :now)"),
                    {"id": org, "kind": kind, "now": now},
                )
            await connection.execute(
                sa.text(
                    "INSERT INTO meetings (id, organisation_id, partner_organisation_id, title, care_area, starts_at,"
                    " ends_at, time_zone, status, locked, admission_policy, show_queue_position, sequence,"
                    " created_at, updated_at) VALUES ('m1', 'o1', 'o2', 'SIP', 'socialpsykiatri', :now, :now,"
                    " 'Europe/Stockholm', 'ended', 0, 'manual', 0, 0, :now, :now)"
                ),
                {"now": now},
            )
        await upgrade(url)
        async with engine.connect() as connection:
            areas = (await connection.execute(sa.text("SELECT organisation_id, code FROM care_areas"))).all()
            linked = (
                await connection.execute(
                    sa.text(
                        "SELECT care_areas.organisation_id, care_areas.code FROM meetings"
                        " JOIN care_areas ON care_areas.id = meetings.care_area_id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert len(areas) == 16 and {a.organisation_id for a in areas} == {"o1", "o2"}
    assert [tuple(row) for row in linked] == [("o1", "socialpsykiatri")]
