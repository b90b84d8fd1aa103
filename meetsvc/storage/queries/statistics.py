"""What statistics record of meetings: outcomes, who was counted (as gender, age band and a yearly
pseudonym), admission waits, the years' keys, and the cases reported as the denominator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import (
    admission_waits,
    case_counts,
    meeting_statistics,
    meetings,
    statistics_individuals,
    statistics_years,
)


@dataclass(frozen=True, slots=True)
class YearKey:
    year: int
    key_enc: bytes | None
    closed: bool


async def year_key(connection: Connection, year: int) -> YearKey | None:
    row = (await connection.execute(select(statistics_years).where(statistics_years.c.year == year))).first()
    return YearKey(row.year, row.key_enc, row.closed_at is not None) if row is not None else None


async def insert_year_key(connection: Connection, year: int, key_enc: bytes, now: datetime) -> bool:
    """False when another transaction made the year's key first (then read that one)."""
    try:
        async with connection.begin_nested():
            await connection.execute(insert(statistics_years).values(year=year, key_enc=key_enc, created_at=now))
    except IntegrityError:
        return False
    return True


async def closed_years(connection: Connection) -> set[int]:
    rows = await connection.execute(select(statistics_years.c.year).where(statistics_years.c.closed_at.is_not(None)))
    return {row.year for row in rows}


async def statistics_of(connection: Connection, meeting_id: str) -> Any:
    return (
        await connection.execute(select(meeting_statistics).where(meeting_statistics.c.meeting_id == meeting_id))
    ).first()


async def save(connection: Connection, meeting_id: str, year: int, now: datetime, **values: Any) -> None:
    """Write these columns of the meeting's statistics row, creating it if there is none."""
    result = await connection.execute(
        update(meeting_statistics)
        .where(meeting_statistics.c.meeting_id == meeting_id)
        .values(year=year, updated_at=now, **values)
    )
    if result.rowcount == 0:
        await connection.execute(
            insert(meeting_statistics).values(meeting_id=meeting_id, year=year, updated_at=now, **values)
        )


async def add_waits(connection: Connection, meeting_id: str, year: int, waited_s: list[int]) -> None:
    """Record how long each of several people let in at once waited, in one statement (the rows as
    its parameter sets, so that its compiled form is cached; see ``audit.insert_entries``)."""
    if not waited_s:
        return
    await connection.execute(
        insert(admission_waits),
        [{"id": str(uuid.uuid4()), "meeting_id": meeting_id, "year": year, "waited_s": w} for w in waited_s],
    )


def _gender() -> Any:
    return func.coalesce(meeting_statistics.c.gender, "other")


def _age_band() -> Any:
    return func.coalesce(meeting_statistics.c.age_band, "unknown")


def _cell_keys(*, with_age_band: bool = True) -> tuple[Any, ...]:
    keys = (meetings.c.organisation_id, meetings.c.care_area_id, _gender().label("gender"))
    return (*keys, _age_band().label("age_band")) if with_age_band else keys


def _only(query: Any, gender: str | None, age_band: str | None) -> Any:
    if gender is not None:
        query = query.where(_gender() == gender)
    if age_band is not None:
        query = query.where(_age_band() == age_band)
    return query


def individuals_query(
    year: int,
    *,
    with_age_band: bool = True,
    with_meetings: bool = False,
    organisation_id: str | None = None,
    gender: str | None = None,
    age_band: str | None = None,
) -> Any:
    """Individuals per cell of an open year, counted once each by their pseudonym: all of them,
    those with an established SIP and those whose SIP was followed up. Each person's meetings are
    first folded into one row (one aggregate), then the rows counted: cheaper than three
    COUNT(DISTINCT …) sorts. ``with_meetings``: the same pass also counts the meetings of
    :func:`meeting_counts`, each person's first and then the cell's, so the year's rows are
    read once for both."""
    ms = meeting_statistics
    keys = _cell_keys(with_age_band=with_age_band)
    per_meeting = _meeting_counts() if with_meetings else {}
    person = (
        select(
            *keys,
            func.max(_when(ms.c.outcome == "established", 1)).label("established"),
            func.max(_when(ms.c.outcome == "followed_up", 1)).label("followed_up"),
            *(func.count(condition).label(name) for name, condition in per_meeting.items()),
        )
        .select_from(ms.join(meetings, meetings.c.id == ms.c.meeting_id))
        .where(ms.c.year == year, ms.c.outcome.is_not(None), meetings.c.care_area_id.is_not(None))
        .group_by(*keys, ms.c.pseudonym)
    )
    person = _only(person, gender, age_band)
    if organisation_id is not None:
        person = person.where(meetings.c.organisation_id == organisation_id)
    inner = person.subquery()
    outer_keys = [inner.c[key.name] for key in keys]
    return select(
        *outer_keys,
        func.count().label("individuals"),
        func.count(inner.c.established).label("established"),
        func.count(inner.c.followed_up).label("followed_up"),
        # A sum is NUMERIC on PostgreSQL: back to whole numbers.
        *(cast(func.sum(inner.c[name]), Integer).label(name) for name in per_meeting),
    ).group_by(*outer_keys)


def _when(condition: Any, value: Any) -> Any:
    return case((condition, value), else_=None)


async def close_year(connection: Connection, year: int, now: datetime) -> int:
    """Fix the year's counts of individuals, then erase its pseudonyms and destroy its key. How
    many cells were kept."""
    rows = (await connection.execute(individuals_query(year))).all()
    if rows:
        await connection.execute(
            insert(statistics_individuals),
            [
                {
                    "year": year,
                    "organisation_id": r.organisation_id,
                    "care_area_id": r.care_area_id,
                    "gender": r.gender,
                    "age_band": r.age_band,
                    "individuals": r.individuals,
                    "established": r.established,
                    "followed_up": r.followed_up,
                }
                for r in rows
            ],
        )
    await connection.execute(update(meeting_statistics).where(meeting_statistics.c.year == year).values(pseudonym=None))
    result = await connection.execute(
        update(statistics_years).where(statistics_years.c.year == year).values(key_enc=None, closed_at=now)
    )
    if result.rowcount == 0:
        await connection.execute(
            insert(statistics_years).values(year=year, key_enc=None, created_at=now, closed_at=now)
        )
    return len(rows)


async def set_cases(
    connection: Connection, year: int, organisation_id: str, care_area_id: str, gender: str, cases: int, now: datetime
) -> None:
    where = and_(
        case_counts.c.year == year,
        case_counts.c.organisation_id == organisation_id,
        case_counts.c.care_area_id == care_area_id,
        case_counts.c.gender == gender,
    )
    await connection.execute(delete(case_counts).where(where))
    await connection.execute(
        insert(case_counts).values(
            year=year,
            organisation_id=organisation_id,
            care_area_id=care_area_id,
            gender=gender,
            cases=cases,
            updated_at=now,
        )
    )


@dataclass(frozen=True, slots=True)
class MeetingTime:
    organisation_id: str
    starts_at: datetime
    time_zone: str


async def meeting_time(connection: Connection, meeting_id: str) -> MeetingTime | None:
    row = (
        await connection.execute(
            select(meetings.c.organisation_id, meetings.c.starts_at, meetings.c.time_zone).where(
                meetings.c.id == meeting_id
            )
        )
    ).first()
    return MeetingTime(row.organisation_id, row.starts_at, row.time_zone) if row is not None else None


# Reports ------------------------------------------------------------------------------------------
#
# Every figure is counted by the database, grouped by organisation, area, gender and age band;
# Python only lays the few hundred groups out as a table.

_HELD = ("established", "followed_up", "not_established")


def _meeting_counts() -> dict[str, Any]:
    """What is counted of meetings, one CASE a figure (counted where not NULL): held and not
    held, and who took part in those held."""
    ms = meeting_statistics
    held = ms.c.outcome.in_(_HELD)
    child = ms.c.age_band == "0-17"
    return {
        "held": _when(held, 1),
        "not_held": _when(ms.c.outcome == "not_held", 1),
        "individual_took_part": _when(and_(held, ms.c.individual_took_part.is_(True)), 1),
        "child_meetings": _when(and_(held, child), 1),
        "child_took_part": _when(and_(held, child, ms.c.child_took_part.is_(True)), 1),
    }


async def cells(
    connection: Connection,
    year: int,
    organisation_id: str | None,
    *,
    gender: str | None = None,
    age_band: str | None = None,
) -> tuple[list[Any], list[Any]]:
    """The year's individuals (organisation_id, care_area_id, gender, individuals, established,
    followed_up) and meetings (organisation_id, care_area_id, gender and the names of
    :func:`_meeting_counts`) per cell, of one organisation or (None) all, of one gender and age
    band or all. While the year is open one pass counts both, the individuals by their
    pseudonyms; once it is closed, the individuals are the counts fixed at closing."""
    if year in await closed_years(connection):
        return (
            await _closed_individual_cells(connection, year, organisation_id, gender=gender, age_band=age_band),
            await meeting_cells(connection, year, organisation_id, gender=gender, age_band=age_band),
        )
    # A person has one gender and age band in a year's meetings: the age band need not split
    # the groups unless it is asked for.
    query = individuals_query(
        year,
        with_age_band=False,
        with_meetings=True,
        organisation_id=organisation_id,
        gender=gender,
        age_band=age_band,
    )
    rows = list((await connection.execute(query)).all())
    return rows, rows


async def _closed_individual_cells(
    connection: Connection,
    year: int,
    organisation_id: str | None,
    *,
    gender: str | None = None,
    age_band: str | None = None,
) -> list[Any]:
    si = statistics_individuals
    keys = (si.c.organisation_id, si.c.care_area_id, si.c.gender)
    query = (
        select(
            *keys,
            func.sum(si.c.individuals).label("individuals"),
            func.sum(si.c.established).label("established"),
            func.sum(si.c.followed_up).label("followed_up"),
        )
        .where(si.c.year == year)
        .group_by(*keys)
    )
    if organisation_id is not None:
        query = query.where(si.c.organisation_id == organisation_id)
    if gender is not None:
        query = query.where(si.c.gender == gender)
    if age_band is not None:
        query = query.where(si.c.age_band == age_band)
    return list((await connection.execute(query)).all())


async def meeting_cells(
    connection: Connection,
    year: int,
    organisation_id: str | None,
    *,
    gender: str | None = None,
    age_band: str | None = None,
) -> list[Any]:
    """Meetings held and not held, and who took part, per organisation, area and gender."""
    ms = meeting_statistics
    keys = _cell_keys(with_age_band=False)
    query = (
        select(*keys, *(func.count(condition).label(name) for name, condition in _meeting_counts().items()))
        .select_from(ms.join(meetings, meetings.c.id == ms.c.meeting_id))
        .where(ms.c.year == year, ms.c.outcome.is_not(None), meetings.c.care_area_id.is_not(None))
        .group_by(*keys)
    )
    query = _only(query, gender, age_band)
    if organisation_id is not None:
        query = query.where(meetings.c.organisation_id == organisation_id)
    return list((await connection.execute(query)).all())


async def cases(connection: Connection, year: int, organisation_id: str | None) -> list[Any]:
    query = select(
        case_counts.c.organisation_id, case_counts.c.care_area_id, case_counts.c.gender, case_counts.c.cases
    ).where(case_counts.c.year == year)
    if organisation_id is not None:
        query = query.where(case_counts.c.organisation_id == organisation_id)
    return list((await connection.execute(query)).all())


async def median_waits(
    connection: Connection, year: int, organisation_id: str | None
) -> dict[tuple[str, str | None], float]:
    """The median admission wait in seconds per (organisation, area) and (organisation, None)
    for the whole organisation, counted by the database so no wait leaves it one by one: on
    PostgreSQL by one sort of the waits for both groupings (GROUPING SETS), on SQLite, which
    has neither, by window functions. Of an even number of waits the median is the mean of
    the middle two, either way."""
    aw = admission_waits
    base_query = (
        select(
            meetings.c.organisation_id.label("organisation"),
            meetings.c.care_area_id.label("area"),
            aw.c.waited_s.label("waited"),
        )
        .select_from(aw.join(meetings, meetings.c.id == aw.c.meeting_id))
        .where(aw.c.year == year)
    )
    if organisation_id is not None:
        base_query = base_query.where(meetings.c.organisation_id == organisation_id)
    if connection.dialect.name == "postgresql":
        return await _median_waits_grouping_sets(connection, base_query.subquery())
    base = base_query.subquery()
    result: dict[tuple[str, str | None], float] = {}
    for by_area in (True, False):
        partition = [base.c.organisation, base.c.area] if by_area else [base.c.organisation]
        ranked = select(
            base.c.organisation,
            base.c.area,
            base.c.waited,
            func.row_number().over(partition_by=partition, order_by=base.c.waited).label("n"),
            func.count().over(partition_by=partition).label("total"),
        ).subquery()
        middle = ranked.c.n.in_([(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2])
        group = [ranked.c.organisation, ranked.c.area] if by_area else [ranked.c.organisation]
        query = select(*group, func.avg(ranked.c.waited).label("median")).where(middle).group_by(*group)
        for row in (await connection.execute(query)).all():
            if row.median is not None:
                result[(row.organisation, row.area if by_area else None)] = float(row.median)
    return result


async def _median_waits_grouping_sets(connection: Connection, base: Any) -> dict[tuple[str, str | None], float]:
    query = select(
        base.c.organisation,
        base.c.area,
        func.grouping(base.c.area).label("whole"),
        func.percentile_cont(0.5).within_group(base.c.waited).label("median"),
    ).group_by(func.grouping_sets(tuple_(base.c.organisation, base.c.area), tuple_(base.c.organisation)))
    result: dict[tuple[str, str | None], float] = {}
    for row in (await connection.execute(query)).all():
        if row.whole:
            result[(row.organisation, None)] = float(row.median)
        elif row.area is not None:  # a meeting without an area counts in the whole only
            result[(row.organisation, row.area)] = float(row.median)
    return result
