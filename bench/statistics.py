"""The yearly SIP statistics at national scale, on PostgreSQL.

Seeds a fresh database with a year of a large installation (by default 300,000 meetings over 300
organisations, each meeting with its outcome, the individual's gender, age band and pseudonym,
one admission wait, and the cases of every area), then times, interleaved round by round so the
noise of a shared machine hits all alike:

- floor_read: the same rows read alone (meeting_statistics joined to meetings for the year,
  every row fetched into Python), and floor_group: a bare GROUP BY of them (count per
  organisation, area, gender and age band);
- report: the full yearly report of every organisation (``StatisticsReports.reports``, the
  queries and the suppression);
- csv, xlsx, jsonstat: the full yearly report and every organisation's export written from it
  (300 files each);
- report_one, csv_one, xlsx_one: what one organisation's reader waits for: its report alone, and
  its report written as one file.

    .venv/bin/python bench/statistics.py                 # 300,000 meetings, 300 organisations
    .venv/bin/python bench/statistics.py --quick         # 30,000 meetings, 300 organisations

Prints medians and maxima of the rounds; the last line is JSON:
{"meetings", "organisations", "report_s", "csv_s", "xlsx_s", "jsonstat_s", "floor_read_s",
"floor_group_s", "report_one_s", "csv_one_s", "xlsx_one_s", "rss_mib"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meetsvc.domain.care_areas import SEED
from meetsvc.domain.model import Language
from meetsvc.http.pages import statistics_exports as exports
from meetsvc.services.statistics_report import StatisticsReports
from meetsvc.storage.engine import create_engine
from meetsvc.storage.migrate import upgrade
from meetsvc.storage.tables import meeting_statistics, meetings

POSTGRES_ADMIN = os.environ.get("MEETSVC_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
YEAR = 2025
OUTCOMES = ["established"] * 5 + ["followed_up"] * 2 + ["not_established"] * 2 + ["not_held"]
GENDERS = ["woman", "man", "man", "woman", "other"]
BANDS = ["0-17", "18-24", "25-64", "25-64", "65+"]
REASONS = ["declined", "did_not_attend", "needs_not_shared", "other"]


async def fresh_database() -> tuple[str, str]:
    name = f"meetsvc_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    await upgrade(url)
    return url, name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def seed(name: str, n_meetings: int, n_organisations: int) -> None:
    """Bulk rows with COPY: booking 300,000 meetings through the service would take longer than
    the benchmark; the report reads the same tables either way."""
    chance = random.Random(18)
    dsn = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    connection = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    try:
        region = str(uuid.uuid4())
        orgs = [str(uuid.uuid4()) for _ in range(n_organisations)]
        await connection.copy_records_to_table(
            "organisations",
            records=[(region, "Region Bench", "region", now, None)]
            + [(o, f"Kommun {i:03d}", "municipality", now, None) for i, o in enumerate(orgs)],
            columns=["id", "name", "kind", "created_at", "public_name"],
        )
        areas: dict[str, list[tuple[str, str]]] = {}
        area_rows = []
        for o in [region, *orgs]:
            for code, sv, en in SEED:
                area_id = str(uuid.uuid4())
                areas.setdefault(o, []).append((area_id, code))
                area_rows.append((area_id, o, code, sv, en, True, now, None))
        await connection.copy_records_to_table(
            "care_areas",
            records=area_rows,
            columns=["id", "organisation_id", "code", "name_sv", "name_en", "active", "created_at", "retired_at"],
        )
        start = datetime(YEAR, 1, 1, 8, tzinfo=UTC)
        meeting_rows, stat_rows, wait_rows = [], [], []
        # About four meetings in five are a person's first of the year.
        people_per_org = max(1, int(n_meetings / n_organisations * 0.8))
        for k in range(n_meetings):
            org = orgs[k % n_organisations]
            area_id, code = chance.choice(areas[org])
            meeting_id = str(uuid.uuid4())
            starts = start + timedelta(minutes=chance.randrange(0, 364 * 24 * 60))
            meeting_rows.append(
                (
                    meeting_id,
                    org,
                    region,
                    "SIP-möte",
                    code,
                    area_id,
                    starts,
                    starts + timedelta(hours=1),
                    "Europe/Stockholm",
                    "ended",
                    False,
                    "manual",
                    False,
                    0,
                    now,
                    now,
                )
            )
            outcome = chance.choice(OUTCOMES)
            person = chance.randrange(people_per_org)
            stat_rows.append(
                (
                    meeting_id,
                    YEAR,
                    GENDERS[person % 5],
                    BANDS[(person // 5) % 5],
                    f"{org}:{person}",
                    True,
                    outcome,
                    chance.choice(REASONS) if outcome == "not_established" else None,
                    outcome != "not_held" and chance.random() < 0.8,
                    None,
                    now,
                    now,
                )
            )
            wait_rows.append((str(uuid.uuid4()), meeting_id, YEAR, chance.randrange(0, 900)))
        await connection.copy_records_to_table(
            "meetings",
            records=meeting_rows,
            columns=[
                "id",
                "organisation_id",
                "partner_organisation_id",
                "title",
                "care_area",
                "care_area_id",
                "starts_at",
                "ends_at",
                "time_zone",
                "status",
                "locked",
                "admission_policy",
                "show_queue_position",
                "sequence",
                "created_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "meeting_statistics",
            records=stat_rows,
            columns=[
                "meeting_id",
                "year",
                "gender",
                "age_band",
                "pseudonym",
                "derived",
                "outcome",
                "reason",
                "individual_took_part",
                "child_took_part",
                "recorded_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "admission_waits", records=wait_rows, columns=["id", "meeting_id", "year", "waited_s"]
        )
        case_rows = [
            (YEAR, org, area_id, "all", chance.randrange(50, 800), now) for org in orgs for area_id, _ in areas[org]
        ]
        await connection.copy_records_to_table(
            "case_counts",
            records=case_rows,
            columns=["year", "organisation_id", "care_area_id", "gender", "cases", "updated_at"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def median(values: list[float]) -> float:
    """(This file's name hides the standard library's ``statistics`` when run as a script.)"""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(median(values), 3), "max": round(max(values), 3)}


async def run(n_meetings: int, n_organisations: int, rounds: int) -> dict[str, object]:
    url, name = await fresh_database()
    engine = create_engine(url)
    try:
        began = time.perf_counter()
        await seed(name, n_meetings, n_organisations)
        print(
            f"seeded {n_meetings} meetings over {n_organisations} organisations in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        reports = StatisticsReports(engine)
        joined = meeting_statistics.join(meetings, meetings.c.id == meeting_statistics.c.meeting_id)

        async def floor_read() -> None:
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(meetings.c.organisation_id, meetings.c.care_area_id, meeting_statistics)
                        .select_from(joined)
                        .where(meeting_statistics.c.year == YEAR)
                    )
                ).all()
            assert len(rows) == n_meetings

        async def floor_group() -> None:
            keys = (
                meetings.c.organisation_id,
                meetings.c.care_area_id,
                meeting_statistics.c.gender,
                meeting_statistics.c.age_band,
            )
            async with engine.connect() as connection:
                await connection.execute(
                    select(*keys, func.count())
                    .select_from(joined)
                    .where(meeting_statistics.c.year == YEAR)
                    .group_by(*keys)
                )

        async def report() -> None:
            done = await reports.reports(YEAR)
            assert len(done) == n_organisations + 1

        def export(write: Callable[..., object]) -> Callable[[], Awaitable[None]]:
            async def go() -> None:
                for one in (await reports.reports(YEAR)).values():
                    write(one, Language.SV)

            return go

        async with engine.connect() as connection:
            one_id = (await connection.execute(select(meetings.c.organisation_id).limit(1))).scalar_one()

        def one(write: Callable[..., object] | None) -> Callable[[], Awaitable[None]]:
            """What one organisation's reader waits for: its report, written as one file."""

            async def go() -> None:
                report = (await reports.reports(YEAR, one_id))[one_id]
                if write is not None:
                    write(report, Language.SV)

            return go

        subjects: dict[str, Callable[[], Awaitable[None]]] = {
            "floor_read": floor_read,
            "floor_group": floor_group,
            "report": report,
            "csv": export(exports.to_csv),
            "xlsx": export(exports.to_xlsx),
            "jsonstat": export(lambda r, lang: json.dumps(exports.to_jsonstat(r, lang))),
            "report_one": one(None),
            "csv_one": one(exports.to_csv),
            "xlsx_one": one(exports.to_xlsx),
        }
        times: dict[str, list[float]] = {k: [] for k in subjects}
        await floor_read()  # warm the caches once for all alike
        for _ in range(rounds):
            for key, subject in subjects.items():
                t0 = time.perf_counter()
                await subject()
                times[key].append(time.perf_counter() - t0)
        for key, values in times.items():
            print(f"{key:<12} {summary(values)}", flush=True)
        middle = {k: round(median(v), 3) for k, v in times.items()}
        print(
            f"report / floor_read = {middle['report'] / middle['floor_read']:.2f}; "
            f"report / floor_group = {middle['report'] / middle['floor_group']:.2f}",
            flush=True,
        )
        return {
            "meetings": n_meetings,
            "organisations": n_organisations,
            "report_s": middle["report"],
            "csv_s": middle["csv"],
            "xlsx_s": middle["xlsx"],
            "jsonstat_s": middle["jsonstat"],
            "floor_read_s": middle["floor_read"],
            "floor_group_s": middle["floor_group"],
            "report_one_s": middle["report_one"],
            "csv_one_s": middle["csv_one"],
            "xlsx_one_s": middle["xlsx_one"],
            "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        await engine.dispose()
        await drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="30,000 meetings, 3 rounds")
    parser.add_argument("--meetings", type=int, default=300_000)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.meetings, args.rounds = 30_000, 3
    print(json.dumps(asyncio.run(run(args.meetings, args.organisations, args.rounds))), flush=True)


if __name__ == "__main__":
    main()
