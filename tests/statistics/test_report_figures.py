"""The yearly report's figures as the database counts them, on SQLite and PostgreSQL alike: a
person counts once a year and area however many meetings they had, meetings count one by one,
and the median wait is the middle wait (the mean of the middle two of an even number) per area
and for the whole organisation, a meeting without an area counting in the whole only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.statistics import Gender
from meetsvc.services.statistics_report import Report, StatisticsReports
from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import admission_waits, care_areas, meeting_statistics, meetings, organisations

YEAR = 2025
NOW = datetime(YEAR, 12, 31, 12, tzinfo=UTC)


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


class Year:
    """A year of meetings written as the service stores them, one statement per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, object]]] = {"o": [], "a": [], "m": [], "s": [], "w": []}

    def organisation(self, name: str, codes: list[str]) -> tuple[str, dict[str, str]]:
        org = str(uuid.uuid4())
        self.rows["o"].append({"id": org, "name": name, "kind": "municipality", "created_at": NOW})
        areas = {}
        for code in codes:
            areas[code] = str(uuid.uuid4())
            self.rows["a"].append(
                {
                    "id": areas[code],
                    "organisation_id": org,
                    "code": code,
                    "name_sv": code,
                    "name_en": code,
                    "active": True,
                    "created_at": NOW,
                }
            )
        return org, areas

    def meeting(
        self,
        org: str,
        area: str | None,
        person: str | None = None,
        gender: str = "man",
        outcome: str = "established",
        waited_s: int | None = None,
    ) -> None:
        meeting_id = str(uuid.uuid4())
        starts = datetime(YEAR, 3, 1, 9, tzinfo=UTC)
        self.rows["m"].append(
            {
                "id": meeting_id,
                "organisation_id": org,
                "partner_organisation_id": org,
                "title": "SIP-möte",
                "care_area": "x",
                "care_area_id": area,
                "starts_at": starts,
                "ends_at": starts,
                "time_zone": "Europe/Stockholm",
                "status": "ended",
                "sequence": 0,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        if person is not None:
            self.rows["s"].append(
                {
                    "meeting_id": meeting_id,
                    "year": YEAR,
                    "gender": gender,
                    "age_band": "25-64",
                    "pseudonym": person,
                    "derived": True,
                    "outcome": outcome,
                    "individual_took_part": outcome != "not_held",
                    "updated_at": NOW,
                }
            )
        if waited_s is not None:
            self.rows["w"].append(
                {"id": str(uuid.uuid4()), "meeting_id": meeting_id, "year": YEAR, "waited_s": waited_s}
            )

    async def write(self, engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            for key, table in (
                ("o", organisations),
                ("a", care_areas),
                ("m", meetings),
                ("s", meeting_statistics),
                ("w", admission_waits),
            ):
                if self.rows[key]:
                    await connection.execute(insert(table), self.rows[key])


def figures(report: Report) -> dict[str | None, dict[str, float | int | None]]:
    return {row.area.code if row.area else None: row.values for row in report.rows}


async def test_people_count_once_meetings_each_and_waits_by_their_median(engine: AsyncEngine) -> None:
    year = Year()
    org, areas = year.organisation("Kommun A", ["barn_och_unga", "socialpsykiatri"])
    young, psych = areas["barn_och_unga"], areas["socialpsykiatri"]
    # Six men with an established SIP, the first twice; five of them followed up too.
    for k in range(6):
        year.meeting(org, young, f"man{k}", waited_s=(60, 120, 180, 600)[k] if k < 4 else None)
    year.meeting(org, young, "man0")
    for k in range(5):
        year.meeting(org, young, f"man{k}", outcome="followed_up")
    for k in range(6):
        year.meeting(org, young, f"woman{k}", gender="woman")
    for k in range(5):
        year.meeting(org, young, f"absent{k}", gender="woman", outcome="not_held")
    for k in range(5):
        year.meeting(org, psych, f"man{k}", waited_s=(30, 90)[k] if k < 2 else None)
        year.meeting(org, psych, f"woman{k}", gender="woman")
    year.meeting(org, None, waited_s=900)  # no area: its wait counts for the whole organisation only
    # The same pseudonyms in another organisation count there, not here.
    other, other_areas = year.organisation("Kommun B", ["barn_och_unga"])
    for k in range(6):
        year.meeting(other, other_areas["barn_och_unga"], f"man{k}", waited_s=1000)
    await year.write(engine)

    reports = StatisticsReports(engine)
    everyone = await reports.reports(YEAR)
    by_area = figures(everyone[org])
    assert {k: by_area["barn_och_unga"][k] for k in ("established_man", "established_woman", "established")} == {
        "established_man": 6,
        "established_woman": 6,
        "established": 12,
    }
    assert (by_area["barn_och_unga"]["followed_up"], by_area["barn_och_unga"]["held"]) == (5, 18)
    assert (by_area["barn_och_unga"]["not_held"], by_area["barn_och_unga"]["individual_took_part"]) == (5, 18)
    assert (by_area["socialpsykiatri"]["established"], by_area["socialpsykiatri"]["held"]) == (10, 10)
    assert (by_area[None]["established_man"], by_area[None]["established"], by_area[None]["held"]) == (11, 22, 28)
    # 60, 120, 180, 600 s: (120 + 180) / 2; 30, 90 s: 60; all seven with the one of no area: 120.
    assert by_area["barn_och_unga"]["wait_median_min"] == 2.5
    assert by_area["socialpsykiatri"]["wait_median_min"] == 1.0
    assert by_area[None]["wait_median_min"] == 2.0
    assert figures(everyone[other])[None]["wait_median_min"] == 16.7
    assert figures(everyone[other])[None]["established_man"] == 6

    # One organisation's report is its part of the national one.
    assert (await reports.reports(YEAR, org))[org] == everyone[org]
    women = figures((await reports.reports(YEAR, gender=Gender.WOMAN))[org])
    assert (women["barn_och_unga"]["established"], women["barn_och_unga"]["held"]) == (6, 6)
    assert (women["barn_och_unga"]["not_held"], women[None]["established"]) == (5, 11)
