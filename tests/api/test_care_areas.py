"""Each organisation's own areas of care: added, used by meetings, retired without losing history."""

from __future__ import annotations

from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import care_areas, meetings
from tests.api.helpers import Api, assert_problem, meeting_path

HOMELESS = {"code": "hemlosa", "name_sv": "Enheten för hemlösa", "name_en": "Unit for the homeless"}


async def test_a_new_organisation_starts_with_the_fixed_list(api: Api) -> None:
    answer = await api.get("/api/v1/care-areas")
    assert answer.status == 200
    codes = [a["code"] for a in answer.json["items"]]
    assert "socialpsykiatri" in codes and "barn_och_unga" in codes and len(codes) == 8
    assert all(a["active"] for a in answer.json["items"])


async def test_an_own_area_is_bookable_and_retiring_it_keeps_the_meetings(api: Api) -> None:
    created = await api.post("/api/v1/care-areas", json=HOMELESS)
    assert created.status == 201 and created.json["name_sv"] == "Enheten för hemlösa"
    meeting = await api.create_meeting(care_area="hemlosa")
    assert meeting["care_area"] == "hemlosa"

    # Another organisation has no such area: its meetings cannot use it.
    other = await api.post(
        "/api/v1/meetings",
        org=api.world.other_municipality,
        json=api.meeting_body(org=api.world.other_municipality, care_area="hemlosa"),
    )
    assert_problem(other, 422)

    retired = await api.patch("/api/v1/care-areas/hemlosa", json={"active": False})
    assert retired.status == 200 and retired.json["active"] is False
    refused = await api.post("/api/v1/meetings", json=api.meeting_body(care_area="hemlosa"))
    assert_problem(refused, 422)

    # The booked meeting keeps its area, and can still be renamed without choosing another.
    renamed = await api.patch(meeting_path(meeting["id"]), json={"title": "Uppföljning", "care_area": "hemlosa"})
    assert renamed.status == 200 and renamed.json["care_area"] == "hemlosa"
    async with api.service.app[ENGINE].connect() as connection:
        row = (
            await connection.execute(
                select(care_areas.c.code, care_areas.c.active)
                .join(meetings, meetings.c.care_area_id == care_areas.c.id)
                .where(meetings.c.id == meeting["id"])
            )
        ).one()
    assert (row.code, row.active) == ("hemlosa", False)


async def test_bad_areas_are_refused_and_change_nothing(api: Api) -> None:
    assert_problem(await api.post("/api/v1/care-areas", json={**HOMELESS, "code": "Hem lösa"}), 422)
    assert_problem(await api.post("/api/v1/care-areas", json={**HOMELESS, "code": "socialpsykiatri"}), 409)
    assert_problem(await api.patch("/api/v1/care-areas/finns_inte", json={"active": False}), 404)
    answer = await api.get("/api/v1/care-areas")
    assert len(answer.json["items"]) == 8


async def test_names_must_be_printable_text(api: Api) -> None:
    for name in ("Enheten\x00", "   "):
        assert_problem(await api.post("/api/v1/care-areas", json={**HOMELESS, "name_sv": name}), 422)
    # A lone surrogate is not even JSON that can be read.
    assert_problem(await api.post("/api/v1/care-areas", json={**HOMELESS, "name_sv": "Enheten\udb74"}), 400)
