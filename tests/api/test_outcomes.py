"""A meeting's outcome, recorded by API after it has started; gender and age band from the
personal identity number given at booking, or from the leader when none was."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import meeting_statistics
from tests.api.helpers import Api, TestNumber, assert_problem, meeting_path

WOMAN_1985 = TestNumber.make(date(1985, 3, 14), "238")  # second-to-last digit 8: a woman
BOY_2015 = TestNumber.make(date(2015, 6, 1), "231")  # 3: a man, a child


async def test_outcome_is_recorded_after_the_start_with_what_the_number_says(api: Api) -> None:
    meeting = await api.create_meeting()
    await api.add_participant(meeting["id"], personal_number=WOMAN_1985.normal)
    path = meeting_path(meeting["id"], "outcome")
    established = {"outcome": "established", "individual_took_part": True}

    assert_problem(await api.put(path, json=established), 409)
    api.service.clock.advance(days=8)
    assert_problem(await api.put(path, json={"outcome": "not_established"}), 422)
    assert_problem(await api.put(path, json={**established, "child_took_part": True}), 422)

    # The leader's gender does not override the number's.
    answer = await api.put(path, json={**established, "gender": "man", "age_band": "65+"})
    assert answer.status == 200, answer
    assert answer.json == {
        "outcome": "established",
        "reason": None,
        "individual_took_part": True,
        "child_took_part": None,
        "gender": "woman",
        "age_band": "25-64",
        "derived": True,
    }
    assert (await api.get(path)).json == answer.json
    async with api.service.app[ENGINE].connect() as connection:
        row = (await connection.execute(select(meeting_statistics))).one()
    assert WOMAN_1985.normal not in repr(row) and len(row.pseudonym) == 64


async def test_a_child_and_a_meeting_without_a_number(api: Api) -> None:
    child = await api.create_meeting()
    await api.add_participant(child["id"], personal_number=BOY_2015.normal)
    unknown = await api.create_meeting()
    await api.add_participant(unknown["id"])
    api.service.clock.advance(days=8)

    answer = await api.put(
        meeting_path(child["id"], "outcome"),
        json={
            "outcome": "not_established",
            "reason": "did_not_attend",
            "individual_took_part": False,
            "child_took_part": False,
        },
    )
    assert (answer.status, answer.json["gender"], answer.json["age_band"]) == (200, "man", "0-17")

    answer = await api.put(
        meeting_path(unknown["id"], "outcome"), json={"outcome": "not_held", "gender": "other", "age_band": "18-24"}
    )
    assert (answer.json["gender"], answer.json["age_band"], answer.json["derived"]) == ("other", "18-24", False)


async def test_another_organisation_cannot_record_or_read_it(api: Api) -> None:
    meeting = await api.create_meeting()
    api.service.clock.advance(days=8)
    path = meeting_path(meeting["id"], "outcome")
    assert_problem(await api.put(path, org=api.world.other_municipality, json={"outcome": "not_held"}), 404)
    assert_problem(await api.get(path, org=api.world.other_municipality), 404)
    assert_problem(await api.put(path, json={"outcome": "maybe"}), 422)
    assert (await api.get(path)).json["outcome"] is None


async def test_cases_are_reported_for_an_own_area(api: Api) -> None:
    ok = await api.put("/api/v1/statistics/cases", json={"year": 2025, "care_area": "socialpsykiatri", "cases": 120})
    assert ok.status == 204
    bad = await api.put("/api/v1/statistics/cases", json={"year": 2025, "care_area": "finns_inte", "cases": 1})
    assert_problem(bad, 422)


async def test_the_report_hides_small_counts_and_shares_on_small_bases(api: Api) -> None:
    starts = api.service.clock() + timedelta(days=2)
    for number in (WOMAN_1985, BOY_2015):
        meeting = await api.create_meeting(care_area="socialpsykiatri", starts_at=starts)
        await api.add_participant(meeting["id"], personal_number=number.normal)
        api.service.clock.advance(days=3)
        assert (await api.put(meeting_path(meeting["id"], "outcome"), json={"outcome": "established"})).status == 200
        api.service.clock.advance(days=-3)
    year = starts.astimezone(ZoneInfo("Europe/Stockholm")).year
    await api.put("/api/v1/statistics/cases", json={"year": year, "care_area": "socialpsykiatri", "cases": 9})

    report = (await api.get("/api/v1/statistics/report", params={"year": str(year)})).json
    row = next(r for r in report["rows"] if r["area"] == "socialpsykiatri")
    assert {"established", "established_man", "established_woman"} <= set(row["hidden"])
    assert row["values"]["established"] is None and row["values"]["share_established"] is None
    assert (
        report["rule"]
        == {
            "hide_from": 1,
            "hide_to": 4,
            "min_base": 10,
            "text": report["rule"]["text"],
        }
        and '".."' in report["rule"]["text"]
    )
    # Another organisation's statistics are not the caller's to read.
    other = await api.get(
        "/api/v1/statistics/report", params={"year": str(year), "organisation_id": api.world.other_municipality.id}
    )
    assert_problem(other, 403)
    assert_problem(await api.get("/api/v1/statistics/report", params={"year": "tjugo"}), 422)
