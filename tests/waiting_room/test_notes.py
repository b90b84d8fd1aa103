"""A waiting person answers the host: a short note reaches the hosts beside their entry.

Real socket.io clients against the real server, on SQLite and on PostgreSQL (the notes' queries
use a window function); time is the test's SettableClock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.services.notes import BURST, MAX_NOTE
from meetsvc.storage.tables import audit_log, waiting_notes
from tests.support.lobby import PERSONS, book, host_cookie, host_socket
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.waiting_room.test_waiting_room import arrive


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    running = await start_service(make_settings(database_url, keys_dir), clock)
    yield running
    await running.close()


@pytest.fixture
async def room(world):
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    sockets, pages = [host], []
    yield meeting, host, sockets, pages
    for socket in sockets:
        await socket.close()
    for page in pages:
        await page.close()


async def stored_notes(world) -> list[str]:
    async with world.service.app[ENGINE].connect() as connection:
        return list((await connection.execute(select(waiting_notes.c.text))).scalars().all())


async def test_a_note_reaches_the_host_at_once_and_on_a_later_list(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)

    answer = await socket.call("note", {"text": "  Jag är tolken, jag är här <b>nu</b>  "})
    assert answer == {"ok": True}
    note = await host.wait_for("note")
    assert note["participant_id"] == invited.participant_id
    assert note["text"] == "Jag är tolken, jag är här <b>nu</b>", "trimmed, and kept as text (pages show it as text)"

    listing = await host.call("notes")
    assert [(n["participant_id"], n["text"]) for n in listing["notes"]] == [(invited.participant_id, note["text"])]


async def test_a_note_is_audited_without_its_text(world, room):
    meeting, _host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    assert await socket.call("note", {"text": "Ljudet fungerar inte"}) == {"ok": True}

    async with world.service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.actor, audit_log.c.details).where(audit_log.c.action == "waiting_room.note")
            )
        ).all()
    assert [(r.actor, json.loads(r.details)) for r in rows] == [
        (f"participant:{invited.participant_id}", {"length": len("Ljudet fungerar inte")})
    ]
    assert all("Ljudet" not in r.details for r in rows)


async def test_notes_are_bounded_text_and_rate_limited(world, room, clock):
    meeting, _host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)

    for bad in ("   ", "x" * (MAX_NOTE + 1), "rad\x00två", 5, None):
        answer = await socket.call("note", {"text": bad})
        assert answer.get("ok") is not True and answer["error"] in ("validation-failed", "invalid"), bad
    assert await stored_notes(world) == [], "a refused note stores nothing"

    for number in range(BURST):
        assert await socket.call("note", {"text": f"anteckning {number}"}) == {"ok": True}
    refused = await socket.call("note", {"text": "en till"})
    assert refused["error"] == "too-many-notes"
    assert len(await stored_notes(world)) == BURST

    clock.advance(minutes=1, seconds=1)
    assert await socket.call("note", {"text": "efter en minut"}) == {"ok": True}
    assert len(await stored_notes(world)) == BURST + 1


async def test_only_someone_waiting_can_write_and_only_hosts_read(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    assert await host.call("deny", {"participant_id": invited.participant_id}) == {"ok": True}
    await socket.wait_for("state", lambda s: s["state"] == "denied")
    answer = await socket.call("note", {"text": "Släpp in mig"})
    assert answer["error"] == "not-waiting"
    assert await stored_notes(world) == []

    other = await book(world)
    outsider = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), other["id"])
    sockets.append(outsider)
    assert (await outsider.call("notes"))["notes"] == [], "another meeting's host sees none of these notes"
