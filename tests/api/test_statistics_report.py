"""The social services committee's table, produced without counting by hand: meetings booked
through the API, outcomes and cases recorded, and the report reproduces it to the percent in
the page, the CSV, the XLSX and the JSON-stat output, each read back by its own reader. After
the retention purge and the year's closing the same report comes out, with no name, personal
number or pseudonym of that year left in the database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy import select

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Forbidden
from meetsvc.http.appkeys import DIRECTORY, ENGINE, SCHEDULE, SERVICES
from meetsvc.storage.tables import (
    meeting_statistics,
    meetings,
    metadata,
    participant_identities,
    participants,
    statistics_years,
)
from tests.api.helpers import Api, TestNumber, meeting_path, next_local_date
from tests.support.lobby import grant_statistics, host_cookie
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

# area: (established men, established women, cases); the committee's 2020 table:
# Socialpsykiatri 24 % (54 % men, 46 % women), Missbruk & beroende 31 % (71/29),
# Enheten för hemlösa 53 % (76/24).
TABLE = {
    "socialpsykiatri": (27, 23, 208),
    "missbruk_och_beroende": (25, 10, 113),
    "hemlosa": (19, 6, 47),
}
EXPECTED = {"socialpsykiatri": (24, 54, 46), "missbruk_och_beroende": (31, 71, 29), "hemlosa": (53, 76, 24)}
NAMES = {
    "socialpsykiatri": "Socialpsykiatri",
    "missbruk_och_beroende": "Missbruk och beroende",
    "hemlosa": "Enheten för hemlösa",
}


def people() -> list[tuple[str, TestNumber]]:
    """One personal number per individual: odd second-to-last digit for men, even for women."""
    found, day = [], date(1970, 1, 1)
    for area, (men, women, _) in TABLE.items():
        for k in range(men + women):
            day += timedelta(days=1)
            found.append((area, TestNumber.make(day, "231" if k < men else "242")))
    return found


async def book_the_year(api: Api) -> int:
    created = await api.post(
        "/api/v1/care-areas", json={"code": "hemlosa", "name_sv": "Enheten för hemlösa", "name_en": "Homeless unit"}
    )
    assert created.status == 201
    starts = next_local_date(api.service.clock(), 3, 10)
    held: list[tuple[str, str]] = []
    for area, number in people():
        meeting = await api.create_meeting(care_area=area, starts_at=starts)
        await api.add_participant(meeting["id"], personal_number=number.normal, display_name="Kim Exempel")
        held.append((meeting["id"], "established"))
    # The same person again, followed up: still one individual.
    area, number = people()[0]
    again = await api.create_meeting(care_area=area, starts_at=starts + timedelta(hours=2))
    await api.add_participant(again["id"], personal_number=number.normal)
    held.append((again["id"], "followed_up"))
    api.service.clock.advance(days=(starts - api.service.clock()).days + 2)
    for meeting_id, outcome in held:
        answer = await api.put(
            meeting_path(meeting_id, "outcome"), json={"outcome": outcome, "individual_took_part": True}
        )
        assert answer.status == 200, answer
    for area, (_, _, cases) in TABLE.items():
        answer = await api.put(
            "/api/v1/statistics/cases", json={"year": starts.year, "care_area": area, "cases": cases}
        )
        assert answer.status == 204
    return starts.year


def percent(value: Any) -> int:
    return round(float(str(value).replace(",", ".")))


async def assert_only_statistics_readers_read_it(api: Api, year: int) -> None:
    """A host without the statistics reader's role reads no figures and keeps no cases; given
    the role, the same session reads them."""
    leader = api.world.hosts[api.world.municipality.id]
    cookie = await host_cookie(api.world, leader)
    async with aiohttp.ClientSession(base_url=api.service.base_url, cookies={"meetsvc_session": cookie}) as browser:
        async with browser.get("/staff") as response:
            assert "/staff/statistics" not in await response.text()
        async with browser.get("/staff/statistics", params={"year": str(year)}) as response:
            assert response.status == 403
            assert "Enheten för hemlösa" not in await response.text()
        async with browser.get("/staff/statistics/export.csv", params={"year": str(year)}) as response:
            assert response.status == 403
        member = await api.service.app[DIRECTORY].staff_member(leader)
        as_host = OrganisationCaller.staff(member.organisation_id, member.id, member.roles)
        with pytest.raises(Forbidden):
            await api.service.app[SERVICES].statistics.set_cases(as_host, year, "hemlosa", "all", 1)
        await grant_statistics(api.world, leader)
        async with browser.get("/staff") as response:
            assert "/staff/statistics" in await response.text()


async def assert_the_table(api: Api, year: int) -> None:
    report = (await api.get("/api/v1/statistics/report", params={"year": str(year)})).json
    rows = {row["area"]: row for row in report["rows"]}
    for area, (share, men, women) in EXPECTED.items():
        values = rows[area]["values"]
        assert (percent(values["share_established"]), percent(values["share_man"]), percent(values["share_woman"])) == (
            share,
            men,
            women,
        ), area
    assert rows["socialpsykiatri"]["values"]["followed_up"] == 1 or "followed_up" in rows["socialpsykiatri"]["hidden"]
    assert rows[None]["values"]["established"] == 110

    # JSON-stat: value[area × measure], read back by its own index.
    stat = (await api.get("/api/v1/statistics/report/jsonstat", params={"year": str(year)})).json
    assert stat["version"] == "2.0" and stat["class"] == "dataset"
    areas, measures = stat["dimension"]["area"]["category"]["index"], stat["dimension"]["measure"]["category"]["index"]
    for area, (share, men, women) in EXPECTED.items():
        base = areas.index(area) * len(measures)
        got = [
            percent(stat["value"][base + measures.index(m)]) for m in ("share_established", "share_man", "share_woman")
        ]
        assert got == [share, men, women]
        assert stat["dimension"]["area"]["category"]["label"][area] == NAMES[area]
    assert any('".."' in note for note in stat["note"])

    cookie = await host_cookie(api.world, api.world.hosts[api.world.municipality.id])
    async with aiohttp.ClientSession(base_url=api.service.base_url, cookies={"meetsvc_session": cookie}) as browser:
        async with browser.get("/staff/statistics", params={"year": str(year)}) as response:
            assert response.status == 200
            html = await response.text()
        for area in EXPECTED:
            assert NAMES[area] in html
        assert 'role="img"' in html and "Enheten för hemlösa: 53 %" in html
        assert "visas som &#34;..&#34;" in html or 'visas som ".."' in html

        async with browser.get("/staff/statistics/export.csv", params={"year": str(year)}) as response:
            raw = await response.read()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        header = lines[1]
        by_name = {line[0]: line for line in lines[2:] if line}
        for area, (share, men, women) in EXPECTED.items():
            line = by_name[NAMES[area]]
            cells = [
                line[header.index(h)]
                for h in ("Andel ärenden med upprättad SIP (%)", "Andel män (%)", "Andel kvinnor (%)")
            ]
            assert all("," in c for c in cells)  # decimal comma
            assert [percent(c) for c in cells] == [share, men, women]
        assert "visas som" in lines[-1][0]

        async with browser.get("/staff/statistics/export.xlsx", params={"year": str(year)}) as response:
            book = load_workbook(io.BytesIO(await response.read()))
        sheet = book.active
        rows_x = list(sheet.iter_rows(values_only=True))
        header_x = list(rows_x[1])
        named = {r[0]: r for r in rows_x[2:] if r and r[0]}
        for area, (share, men, women) in EXPECTED.items():
            r = named[NAMES[area]]
            got = [
                round(r[header_x.index(h)])
                for h in ("Andel ärenden med upprättad SIP (%)", "Andel män (%)", "Andel kvinnor (%)")
            ]
            assert got == [share, men, women]
        assert sheet.title == str(year)
        share_column = header_x.index("Andel ärenden med upprättad SIP (%)") + 1
        shares = [
            row[share_column - 1]
            for row in sheet.iter_rows(min_row=3)
            if isinstance(row[share_column - 1].value, float)
        ]
        assert shares and all(cell.number_format == "0.0" for cell in shares)  # a share reads 24.0, not 24.0000001
        assert any(r and r[0] and "visas som" in str(r[0]) for r in rows_x)

        async with browser.get("/staff/statistics/export.json", params={"year": str(year)}) as response:
            assert json.loads(await response.read())["value"] == stat["value"]


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    """With the schedule on: the retention purge is the real one."""
    settings = make_settings(
        database_url, keys_dir, schedule={"enabled": True, "sync_seconds": 0.2, "leader_retry_seconds": 0.2}
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


async def until(condition, *, seconds: float = WAIT_SECONDS) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_the_committees_table_comes_out_and_survives_purge_and_closing(api: Api) -> None:
    schedule = api.service.app[SCHEDULE]
    await schedule.leading.wait()
    year = await book_the_year(api)
    await assert_only_statistics_readers_read_it(api, year)
    await assert_the_table(api, year)

    # The retention purge as the schedule runs it, then the year's closing.
    api.service.clock.advance(days=400)
    await schedule.rebuild()

    async def all_purged() -> bool:
        async with api.service.app[ENGINE].connect() as connection:
            left = await connection.execute(select(meetings.c.id).where(meetings.c.purged_at.is_(None)))
            return left.first() is None

    await until(all_purged, seconds=WAIT_SECONDS * 4)
    await assert_the_table(api, year)
    assert await api.service.app[SERVICES].statistics.close_year(year) > 0
    await assert_the_table(api, year)

    async with api.service.app[ENGINE].connect() as connection:
        pseudonyms = await connection.execute(
            select(meeting_statistics.c.pseudonym).where(meeting_statistics.c.pseudonym.is_not(None))
        )
        assert pseudonyms.all() == []
        key = await connection.execute(select(statistics_years.c.key_enc).where(statistics_years.c.year == year))
        assert key.scalar() is None
        people_left = (
            await connection.execute(
                select(
                    participants.c.display_name, participants.c.personal_number_enc, participants.c.personal_number_hash
                )
            )
        ).all()
        assert people_left and all(
            p.personal_number_enc is None and p.personal_number_hash is None and "Kim" not in p.display_name
            for p in people_left
        )
        assert (await connection.execute(select(participant_identities))).all() == []
        # No table holds a personal number of theirs in any spelling.
        dump = ""
        for table in metadata.sorted_tables:
            dump += repr((await connection.execute(select(table))).all())
    for _, number in people():
        assert number.normal not in dump and number.ten not in dump and number.normal[2:] not in dump

    # A closed year's statistics no longer change.
    async with api.service.app[ENGINE].connect() as connection:
        closed_meeting = (await connection.execute(select(meeting_statistics.c.meeting_id).limit(1))).scalar_one()
    refused = await api.put(meeting_path(closed_meeting, "outcome"), json={"outcome": "not_held"})
    assert refused.status == 409
