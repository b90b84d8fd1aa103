"""Each organisation's areas of care."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from meetsvc.domain.care_areas import SEED, CareArea
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import care_areas


class DuplicateCareArea(Exception):
    """The organisation has an area with that code already."""


def _area(row: Any) -> CareArea:
    return CareArea(
        id=row.id,
        organisation_id=row.organisation_id,
        code=row.code,
        name_sv=row.name_sv,
        name_en=row.name_en,
        active=bool(row.active),
    )


async def seed(connection: Connection, organisation_id: str, now: datetime) -> None:
    """Give a new organisation the list every organisation starts with."""
    await connection.execute(
        care_areas.insert(),
        [
            {
                "id": str(uuid.uuid4()),
                "organisation_id": organisation_id,
                "code": code,
                "name_sv": sv,
                "name_en": en,
                "active": True,
                "created_at": now,
            }
            for code, sv, en in SEED
        ],
    )


async def insert(
    connection: Connection, organisation_id: str, code: str, name_sv: str, name_en: str, now: datetime
) -> CareArea:
    area_id = str(uuid.uuid4())
    try:
        async with connection.begin_nested():
            await connection.execute(
                care_areas.insert().values(
                    id=area_id,
                    organisation_id=organisation_id,
                    code=code,
                    name_sv=name_sv,
                    name_en=name_en,
                    active=True,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise DuplicateCareArea(code) from None
    return CareArea(area_id, organisation_id, code, name_sv, name_en, True)


async def of_organisation(connection: Connection, organisation_id: str) -> list[CareArea]:
    rows = await connection.execute(
        select(care_areas).where(care_areas.c.organisation_id == organisation_id).order_by(care_areas.c.code)
    )
    return [_area(row) for row in rows]


async def of_organisations(connection: Connection, organisation_ids: list[str] | None) -> dict[str, list[CareArea]]:
    """Every area of these organisations (None: of all), by organisation."""
    query = select(care_areas).order_by(care_areas.c.organisation_id, care_areas.c.code)
    if organisation_ids is not None:
        query = query.where(care_areas.c.organisation_id.in_(organisation_ids))
    found: dict[str, list[CareArea]] = {}
    for row in await connection.execute(query):
        found.setdefault(row.organisation_id, []).append(_area(row))
    return found


async def by_ids(connection: Connection, area_ids: list[str]) -> dict[str, CareArea]:
    if not area_ids:
        return {}
    rows = await connection.execute(select(care_areas).where(care_areas.c.id.in_(area_ids)))
    return {row.id: _area(row) for row in rows}


async def by_code(connection: Connection, organisation_id: str, code: str) -> CareArea | None:
    row = (
        await connection.execute(
            select(care_areas).where(care_areas.c.organisation_id == organisation_id, care_areas.c.code == code)
        )
    ).first()
    return _area(row) if row is not None else None


async def set_active(connection: Connection, area_id: str, active: bool, now: datetime) -> None:
    await connection.execute(
        update(care_areas).where(care_areas.c.id == area_id).values(active=active, retired_at=None if active else now)
    )
