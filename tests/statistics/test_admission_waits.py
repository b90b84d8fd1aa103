"""How long people waited to be admitted reaches the report as a median, through the real
waiting room (identified on the page, admitted by the host over socket.io), without who waited."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import admission_waits
from tests.support.lobby import PERSONS, book, host_cookie, host_socket, identify, invite, participant_socket, ticket


async def test_the_wait_to_be_admitted_is_counted_and_its_median_reported(world) -> None:
    service = world.service
    meeting = await book(world, starts_in=timedelta(minutes=5))
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    waited = []
    for k, minutes in enumerate((1, 3, 8)):
        invited = await invite(world, meeting["id"], personal_number=PERSONS[k])
        await identify(world, invited, PERSONS[k])
        page = await participant_socket(world, await ticket(invited))
        await page.wait_for("state", lambda d: d["state"] == "waiting")
        service.clock.advance(minutes=minutes)
        assert (await host.call("admit", {"participant_id": invited.participant_id}))["ok"] is True
        await page.wait_for("state", lambda d: d["state"] == "admitted")
        waited.append(minutes * 60)
        await page.close()
        await invited.close()
    await host.close()

    async with service.app[ENGINE].connect() as connection:
        rows = (await connection.execute(select(admission_waits))).all()
    assert sorted(r.waited_s for r in rows) == waited
    assert all(set(r._fields) == {"id", "meeting_id", "year", "waited_s"} for r in rows)

    year = service.clock().astimezone(ZoneInfo("Europe/Stockholm")).year
    async with service.http.get(
        "/api/v1/statistics/report", params={"year": str(year)}, headers=world.auth(world.municipality)
    ) as answer:
        report = await answer.json()
    rows_by_area = {row["area"]: row for row in report["rows"]}
    assert rows_by_area["barn_och_unga"]["values"]["wait_median_min"] == 3.0
    assert rows_by_area[None]["values"]["wait_median_min"] == 3.0
