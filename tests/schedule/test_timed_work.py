"""What the schedule does when its time comes, in a running service on both databases: the
reminders (only for those invited by then, once however often it runs), the close of meetings
never held or left running, and the retention rule.

The test moves the service's clock past the moment, then makes the schedule rebuild from the
database, as a restarted or newly leading process does: what is past due runs at once.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from meetsvc.http.appkeys import AUDIT, ENGINE
from meetsvc.schedule.events import Event, EventKind
from meetsvc.schedule.runner import Schedule
from meetsvc.storage.tables import (
    audit_log,
    browser_sessions,
    identifications,
    meetings,
    outbox_messages,
    participant_identities,
    participants,
)
from tests.api.helpers import deliveries_settled
from tests.support.lobby import PERSONS, book, host_cookie, host_socket, identify, invite, participant_socket, ticket
from tests.support.service import RunningService
from tests.support.timing import WAIT_SECONDS


async def meeting_row(service: RunningService, meeting_id: str) -> Any:
    async with service.app[ENGINE].connect() as connection:
        return (await connection.execute(select(meetings).where(meetings.c.id == meeting_id))).one()


async def until(condition, *, seconds: float = WAIT_SECONDS) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.05)


def finished_work(schedule: Schedule, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every event whose work the schedule has run to its end, in order: a test waits for the
    run it means instead of pausing and hoping it has happened."""
    finished: list[Event] = []
    run = schedule._work.run

    async def noted(event: Event) -> bool:
        try:
            return await run(event)
        finally:
            finished.append(event)

    monkeypatch.setattr(schedule._work, "run", noted)
    return finished


async def audit_actions(service: RunningService, meeting_id: str) -> list[tuple[str, str]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.actor, audit_log.c.action)
                .where(audit_log.c.meeting_id == meeting_id)
                .order_by(audit_log.c.seq)
            )
        ).all()
    return [(row.actor, row.action) for row in rows]


async def reminders(service: RunningService) -> list[Any]:
    async with service.app[ENGINE].connect() as connection:
        return list(
            (
                await connection.execute(
                    select(outbox_messages)
                    .where(outbox_messages.c.kind == "reminder")
                    .order_by(outbox_messages.c.dedupe_key)
                )
            ).all()
        )


async def test_a_reminder_goes_to_those_invited_before_it_fell_due_and_only_once(
    world, schedule: Schedule, monkeypatch
):
    service = world.service
    meeting = await book(world, starts_in=timedelta(days=3))
    early = await invite(world, meeting["id"], name="Kim Andersson")
    service.clock.advance(days=1, hours=22)  # 26 hours before the start
    also_early = await invite(world, meeting["id"], name="Alex Berg")
    service.clock.advance(hours=3)  # 23 hours before: the day-before reminder is past due
    late = await invite(world, meeting["id"], name="Sam Nilsson")

    report = await schedule.rebuild()
    assert report.reminders >= 1
    await until(lambda: _count(reminders(service), 2))
    await deliveries_settled(service)
    rows = await reminders(service)
    assert sorted(row.participant_id for row in rows) == sorted([early.participant_id, also_early.participant_id])
    assert all(row.status == "sent" and ":1440:" in row.dedupe_key for row in rows)

    # A restarted schedule runs the same past-due reminder again: nothing new is recorded.
    finished = finished_work(schedule, monkeypatch)
    await schedule.rebuild()
    again = [
        e
        for e in schedule.planned()
        if e.kind is EventKind.REMIND and e.meeting_id == meeting["id"] and e.due <= service.clock()
    ]
    assert again, "the past-due reminder is planned again"

    async def ran_again() -> bool:
        return all(event in finished for event in again)

    await until(ran_again)
    assert len(await reminders(service)) == 2
    for invited in (early, also_early, late):
        await invited.close()
    assert late.participant_id not in {row.participant_id for row in rows}


async def _count(rows_coroutine, wanted: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await rows_coroutine) >= wanted


async def test_a_meeting_nobody_started_is_marked_not_held_after_its_end(world, schedule: Schedule):
    service = world.service
    meeting = await book(world, starts_in=timedelta(days=2))
    service.clock.advance(days=2, hours=1, minutes=30)
    await schedule.rebuild()
    assert (await meeting_row(service, meeting["id"])).status == "scheduled", "not before close_after has passed"

    service.clock.advance(minutes=31)
    await schedule.rebuild()

    async def marked() -> bool:
        return (await meeting_row(service, meeting["id"])).status == "not_held"

    await until(marked)
    async with service.http.get(f"/api/v1/meetings/{meeting['id']}", headers=world.auth(world.municipality)) as answer:
        assert (await answer.json())["status"] == "not_held"
    assert ("system:schedule", "meeting.not_held") in await audit_actions(service, meeting["id"])


async def test_a_meeting_left_running_is_ended_and_its_pages_told(world, schedule: Schedule):
    service = world.service
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    page = await participant_socket(world, await ticket(invited))
    await page.wait_for("state", lambda d: d["state"] == "waiting")
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    assert (await host.call("admit", {"participant_id": invited.participant_id}))["ok"] is True
    await page.wait_for("state", lambda d: d["state"] == "admitted")
    assert (await meeting_row(service, meeting["id"])).status == "in_progress"

    service.clock.advance(hours=2, minutes=10)
    await schedule.rebuild()

    async def ended() -> bool:
        return (await meeting_row(service, meeting["id"])).status == "ended"

    await until(ended)
    await page.wait_for("state", lambda d: d["state"] in ("left", "closed", "ended"))
    assert ("system:schedule", "meeting.ended") in await audit_actions(service, meeting["id"])
    for socket in (page, host):
        await socket.close()
    await invited.close()


async def test_the_retention_rule_erases_personal_data_and_keeps_a_verifiable_pseudonymous_audit(
    world, schedule: Schedule
):
    service = world.service
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], name="Kim Andersson", personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    await deliveries_settled(service)
    async with service.http.post(
        f"/api/v1/meetings/{meeting['id']}/cancel", headers=world.auth(world.municipality)
    ) as answer:
        assert answer.status == 200
    await deliveries_settled(service)

    service.clock.advance(days=30)  # an hour before the end plus thirty days
    await schedule.rebuild()
    # Nothing that purges is due to run: the rebuild planned no purge for now (what it plans
    # past due would run at once, and is seen here before it can start).
    assert not [e for e in schedule.planned() if e.kind is EventKind.PURGE and e.due <= service.clock()]
    assert (await meeting_row(service, meeting["id"])).purged_at is None, "not before the retention period"

    service.clock.advance(hours=2)
    await schedule.rebuild()

    async def purged() -> bool:
        return (await meeting_row(service, meeting["id"])).purged_at is not None

    await until(purged)
    async with service.app[ENGINE].connect() as connection:
        person = (
            await connection.execute(select(participants).where(participants.c.id == invited.participant_id))
        ).one()
        assert (person.display_name, person.email, person.mobile) == ("", None, None)
        assert (person.personal_number_enc, person.personal_number_hash) == (None, None)
        for table in (participant_identities, identifications, browser_sessions):
            assert (
                await connection.execute(select(table).where(table.c.participant_id == invited.participant_id))
            ).all() == []
        messages = (
            await connection.execute(select(outbox_messages).where(outbox_messages.c.meeting_id == meeting["id"]))
        ).all()
        assert messages and all(m.recipient is None and m.body is None and m.subject is None for m in messages)
        title = (await connection.execute(select(meetings.c.title).where(meetings.c.id == meeting["id"]))).scalar_one()
        assert title == ""
        # Nothing anywhere in the database still holds the name, the address or the number.
        for table_name in (
            "participants",
            "participant_identities",
            "outbox_messages",
            "audit_log",
            "meetings",
            "identifications",
        ):
            dump = " ".join(str(row) for row in (await connection.execute(text(f"SELECT * FROM {table_name}"))).all())
            for secret in ("Kim Andersson", "Andersson", "kim@example.se", PERSONS[0], PERSONS[0][2:]):
                assert secret not in dump, f"{secret!r} survives in {table_name}"
        verification = await service.app[AUDIT].verify(connection)
    assert verification.ok, verification
    assert ("system:schedule", "meeting.purged") in await audit_actions(service, meeting["id"])
    await invited.close()


async def test_metrics_tell_which_process_leads_and_what_it_holds(world, schedule: Schedule):
    await book(world, starts_in=timedelta(hours=2))
    await schedule.rebuild()
    async with world.service.http.get("/metrics") as answer:
        text_ = await answer.text()
    assert "meetsvc_schedule_leading 1.0" in text_
    assert 'meetsvc_schedule_jobs{kind="remind"} 1.0' in text_  # the hour-before one; the day-before has passed
    assert 'meetsvc_schedule_jobs{kind="open"} 1.0' in text_
    assert "meetsvc_schedule_rebuild_seconds" in text_


async def test_pages_that_came_early_are_let_into_the_waiting_room_when_it_opens(world, schedule: Schedule):
    service = world.service
    meeting = await book(world, starts_in=timedelta(minutes=40))  # the room opens 15 minutes before
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    page = await participant_socket(world, await ticket(invited))
    await page.wait_for("state", lambda d: d["state"] == "not_open")
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    assert [p for p in (await host.call("list"))["participants"] if p["state"] == "waiting"] == []

    service.clock.advance(minutes=25, seconds=1)
    await schedule.rebuild()
    await page.wait_for("opened")
    # What the page does on "opened" (lobby.js): arrive again on the same connection.
    assert (await page.call("arrive", {}))["ok"] is True
    await page.wait_for("state", lambda d: d["state"] == "waiting")
    await host.wait_for(
        "participant", lambda d: d["participant_id"] == invited.participant_id and d["state"] == "waiting"
    )
    for socket in (page, host):
        await socket.close()
    await invited.close()


async def test_finding_6_sessions_nobody_uses_are_purged_on_a_timer(world, schedule: Schedule):
    service = world.service

    async def start_sign_in(page: aiohttp.ClientSession) -> None:
        async with page.get("/staff/login") as response:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text()).group(1)
        async with page.post("/identify", data={"csrf": csrf, "device": "other"}) as response:
            assert response.status == 200

    def browser() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def stored() -> tuple[int, int]:
        async with service.app[ENGINE].connect() as connection:
            sessions = len((await connection.execute(select(browser_sessions))).all())
            orders = len((await connection.execute(select(identifications))).all())
        return sessions, orders

    assert schedule._scheduler is not None and schedule._scheduler.get_job("sessions"), "the purge runs on a timer"
    async with browser() as left, browser() as fresh:
        await start_sign_in(left)  # a sign-in begun and left: a session and its eID order
        # Longer than the idle limit (30 minutes) and the eID rate window (10 minutes).
        service.clock.advance(minutes=31)
        await start_sign_in(fresh)
        assert await stored() == (2, 2)

        await schedule.purge_sessions()

        assert await stored() == (1, 1), "the unused session and its order are gone"
        async with fresh.get("/identify/status") as response:
            assert response.status == 200, "the session in use is untouched"
        async with left.get("/identify/status") as response:
            assert response.status == 401
