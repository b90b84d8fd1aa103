"""The statistics page in a real browser: axe finds nothing at phone, tablet and desktop sizes
in both languages, nothing scrolls sideways, and the chart has a text alternative with the
figures (the table beside it holds them too). The outcome form on the organiser page and the
host console is checked the same way."""

from __future__ import annotations

from datetime import date, timedelta

from tests.api.helpers import Api, TestNumber, meeting_path, next_local_date
from tests.browser.test_accessibility import View, staff_cookie, walk_everywhere
from tests.support.lobby import grant_statistics


async def seed_year(world) -> tuple[int, str]:
    api = Api(world)
    starts = next_local_date(world.service.clock(), 3, 10)
    booked = []
    # Two areas large enough to show; a third so small that it, and one other to protect it, is hidden.
    for k in range(29):
        area = "socialpsykiatri" if k < 12 else "aldreomsorg" if k < 27 else "missbruk_och_beroende"
        meeting = await api.create_meeting(care_area=area, starts_at=starts)
        number = TestNumber.make(date(1980, 1, 1) + timedelta(days=k), "231" if k % 2 else "242")
        await api.add_participant(meeting["id"], personal_number=number.normal)
        booked.append(meeting["id"])
    world.service.clock.advance(days=(starts - world.service.clock()).days + 2)
    for meeting_id in booked:
        answer = await api.put(meeting_path(meeting_id, "outcome"), json={"outcome": "established"})
        assert answer.status == 200, answer
    for area, cases in (("socialpsykiatri", 40), ("aldreomsorg", 50), ("missbruk_och_beroende", 9)):
        await api.put("/api/v1/statistics/cases", json={"year": starts.year, "care_area": area, "cases": cases})
    return starts.year, booked[0]


async def test_the_statistics_page_is_accessible_everywhere(world, browser):
    year, meeting_id = await seed_year(world)
    await grant_statistics(world, world.hosts[world.municipality.id])

    async def walk(view: View) -> None:
        await view.goto(f"/staff/statistics?year={year}")
        await view.page.locator("table").wait_for()
        chart = view.page.locator("svg.chart")
        assert await chart.get_attribute("role") == "img"
        described = await chart.evaluate(
            "svg => svg.getAttribute('aria-labelledby').split(' ')"
            ".map(id => document.getElementById(id).textContent).join(' ')"
        )
        assert "30 %" in described, described  # 15 of 50 cases
        # The small area's counts are hidden, and so is its share.
        small = "Missbruk och beroende" if view.lang == "sv" else "Substance abuse and addiction"
        row = await view.page.locator("tbody tr", has_text=small).inner_text()
        assert ".." in row and "%" not in row, row
        await view.check("statistics")
        # The outcome form, on the organiser page and the host console after the start.
        await view.goto(f"/staff/meetings/{meeting_id}/organise")
        await view.page.locator("#outcome-heading").wait_for()
        await view.check("outcome-organise")
        await view.goto(f"/staff/meetings/{meeting_id}")
        await view.page.locator("#outcome-heading").wait_for()
        await view.check("outcome-console")

    async def cookies():
        return [await staff_cookie(world)]

    await walk_everywhere(browser, world.service.base_url, walk, cookies=cookies)
