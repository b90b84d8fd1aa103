"""The waiting room end to end: real socket.io clients, a real server, the BankID simulator.

Each test is one thing a host or a participant does, and what each side then sees.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import socketio
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import audit_log, participants
from tests.support.lobby import (
    PERSONS,
    add_host,
    book,
    close_and_see_it_gone,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)


async def arrive(
    world,
    meeting_id,
    *,
    person=None,
    name="Kim Andersson",
    invited_as=None,
    role="individual",
    organisation_id=None,
    unverified=False,
):
    """Invite, identify (unless unverified) and connect one participant; returns (invited, socket)."""
    invited = await invite(
        world, meeting_id, name=name, personal_number=invited_as, role=role, organisation_id=organisation_id
    )
    if not unverified:
        await identify(world, invited, person)
    socket = await participant_socket(world, await ticket(invited, unverified=unverified))
    await socket.wait_for("state")
    return invited, socket


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


async def states(world) -> dict[str, str]:
    async with world.service.app[ENGINE].connect() as connection:
        return dict((await connection.execute(select(participants.c.id, participants.c.state))).all())


async def test_an_arrival_appears_on_the_hosts_list_with_the_verified_name(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    assert socket.last_state["state"] == "waiting" and socket.last_state["hosts_notified"] is True
    entry = await host.wait_for("participant", lambda e: e["participant_id"] == invited.participant_id)
    assert entry["invited_name"] == "Kim Andersson"
    assert entry["verified_name"] == "Erik Lindqvist"  # as BankID vouched, not as typed
    assert entry["verified"] is True and entry["matches_invitation"] is True
    assert (entry["identified_with"], entry["level_of_assurance"]) == ("bankid", "loa3")
    assert entry["role"] == "individual" and entry["state"] == "waiting" and entry["waiting_since"]
    listing = await host.call("list")
    assert [p["participant_id"] for p in listing["participants"]] == [invited.participant_id]


async def test_a_mismatch_is_shown_to_the_host_never_hidden(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[1], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    entry = await host.wait_for("participant", lambda e: e["participant_id"] == invited.participant_id)
    assert entry["verified"] is True and entry["matches_invitation"] is False
    assert entry["verified_name"] == "Karin Johansson"


async def test_admit_lets_exactly_that_participant_in(world, room):
    meeting, host, sockets, pages = room
    first, s1 = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    second, s2 = await arrive(world, meeting["id"], person=PERSONS[1], name="Alex", invited_as=PERSONS[1])
    sockets += [s1, s2]
    pages += [first.page, second.page]
    assert (await host.call("admit", {"participant_id": first.participant_id}))["ok"] is True
    await s1.wait_for("state", lambda d: d["state"] == "admitted")
    await s2.round_trip()
    assert s2.last_state["state"] == "waiting"
    assert (await states(world))[second.participant_id] == "waiting"


async def test_admit_all_matching_leaves_mismatches_and_the_unverified_waiting(world, room):
    meeting, host, sockets, pages = room
    match, s1 = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    other, s2 = await arrive(world, meeting["id"], person=PERSONS[2], name="Fel Person", invited_as=PERSONS[1])
    unverified, s3 = await arrive(world, meeting["id"], name="Tolk", role="interpreter", unverified=True)
    sockets += [s1, s2, s3]
    pages += [match.page, other.page, unverified.page]
    answer = await host.call("admit_all_matching")
    assert answer["admitted"] == [match.participant_id]
    current = await states(world)
    assert current[match.participant_id] == "admitted"
    assert current[other.participant_id] == "waiting" and current[unverified.participant_id] == "waiting"


async def test_someone_without_eid_waits_marked_not_verified_and_enters_only_by_a_decision(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], name="Barn", unverified=True)
    sockets.append(socket), pages.append(invited.page)
    entry = await host.wait_for("participant", lambda e: e["participant_id"] == invited.participant_id)
    assert entry["verified"] is False and entry["verified_name"] is None and entry["matches_invitation"] is None
    assert entry["identified_with"] is None and entry["level_of_assurance"] is None
    assert socket.last_state["verified_name"] is None
    await host.call("admit", {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] == "admitted")


async def test_deny_with_a_message(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    await host.call("deny", {"participant_id": invited.participant_id, "message": "Fel möte, ring oss."})
    denied = await socket.wait_for("state", lambda d: d["state"] == "denied")
    assert denied["message"] == "Fel möte, ring oss."


@pytest.mark.parametrize("decision", ["deny", "remove"])
async def test_a_host_who_changes_their_mind_reaches_the_open_page(world, room, decision):
    """Turned away, the page stays connected and hears only about itself; a later admit by a
    host reaches it at once, with its video credential, without a reload."""
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    other, other_socket = await arrive(world, meeting["id"], person=PERSONS[1], name="Alex", invited_as=PERSONS[1])
    sockets += [socket, other_socket]
    pages += [invited.page, other.page]
    await host.call(decision, {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] in ("denied", "removed"))
    heard = len(socket.events)
    await host.call("message", {"text": "Till alla som väntar"})
    await other_socket.wait_for("state", lambda d: d["message"] == "Till alla som väntar")

    await host.call("admit", {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] == "admitted")
    await socket.wait_for("credential")
    assert [name for name, _ in await socket.heard_since(heard)] == ["state", "credential"], (
        "nothing of the others in between"
    )


async def test_messages_to_one_and_to_all_waiting(world, room):
    meeting, host, sockets, pages = room
    a, sa = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    b, sb = await arrive(world, meeting["id"], person=PERSONS[1], name="Alex", invited_as=PERSONS[1])
    sockets += [sa, sb]
    pages += [a.page, b.page]
    await host.call("message", {"participant_id": a.participant_id, "text": "Vi börjar om fem minuter."})
    assert (await sa.wait_for("state", lambda d: d["message"]))["message"] == "Vi börjar om fem minuter."
    await host.call("message", {"text": "Välkomna!"})
    await sa.wait_for("state", lambda d: d["message"] == "Välkomna!")
    await sb.wait_for("state", lambda d: d["message"] == "Välkomna!")
    assert not [s for s in sb.of("state") if s["message"] == "Vi börjar om fem minuter."]


async def test_send_back_returns_an_admitted_participant_to_the_waiting_room(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    await host.call("admit", {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] == "admitted")
    await host.call("send_back", {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] == "waiting" and d is not socket.of("state")[0])
    assert (await states(world))[invited.participant_id] == "waiting"


async def test_a_removed_participant_hears_it_and_stays_out(world, room):
    meeting, host, _sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    pages.append(invited.page)
    await host.call("admit", {"participant_id": invited.participant_id})
    await host.call("remove", {"participant_id": invited.participant_id})
    await socket.wait_for("state", lambda d: d["state"] == "removed")
    await socket.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await participant_socket(world, await ticket(invited))
    assert (await states(world))[invited.participant_id] == "removed"


async def test_a_locked_meeting_takes_no_new_arrivals(world, room):
    meeting, host, sockets, pages = room
    early, s1 = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(s1), pages.append(early.page)
    assert (await host.call("configure", {"locked": True}))["ok"] is True
    late, s2 = await arrive(world, meeting["id"], person=PERSONS[1], name="Sen", invited_as=PERSONS[1])
    sockets.append(s2), pages.append(late.page)
    assert s2.last_state["state"] == "locked" and s2.last_state["hosts_notified"] is False
    current = await states(world)
    assert current[early.participant_id] == "waiting" and current[late.participant_id] != "waiting"


async def test_ending_the_meeting_sends_everyone_out_and_closes_the_room(world, room):
    meeting, host, sockets, pages = room
    a, sa = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    b, sb = await arrive(world, meeting["id"], person=PERSONS[1], name="Alex", invited_as=PERSONS[1])
    sockets += [sa, sb]
    pages += [a.page, b.page]
    await host.call("admit", {"participant_id": a.participant_id})
    await host.call("end")
    await sa.wait_for("state", lambda d: d["state"] == "left")
    await sb.wait_for("state", lambda d: d["state"] == "left")
    assert (await host.wait_for("meeting", lambda m: m["status"] == "ended"))["status"] == "ended"
    assert (await host.call("admit", {"participant_id": b.participant_id}))["ok"] is False


async def test_queue_positions_only_when_the_host_shows_them(world, room):
    meeting, host, sockets, pages = room
    a, sa = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    world.service.clock.advance(seconds=1)
    b, sb = await arrive(world, meeting["id"], person=PERSONS[1], name="Alex", invited_as=PERSONS[1])
    sockets += [sa, sb]
    pages += [a.page, b.page]
    assert sb.last_state["position"] is None
    await host.call("configure", {"show_queue_position": True})
    assert (await sb.wait_for("state", lambda d: d["position"] is not None))["position"] == 2
    await host.call("admit", {"participant_id": a.participant_id})
    assert (await sb.wait_for("state", lambda d: d["position"] == 1))["position"] == 1


async def test_hosts_coming_and_going_never_change_anyones_state(world, room):
    meeting, host, sockets, pages = room
    a, sa = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(sa), pages.append(a.page)
    before = await states(world)
    await host.close()
    sockets.remove(host)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    for _ in range(3):
        again = await host_socket(world, cookie, meeting["id"])
        await again.call("list")
        await again.close()
    assert await states(world) == before
    await sa.round_trip()
    assert sa.last_state["state"] == "waiting"


async def test_a_phone_that_slept_comes_back_to_its_place(world, room):
    meeting, host, sockets, pages = room
    a, sa = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    pages.append(a.page)
    first_since = sa.last_state
    await close_and_see_it_gone(world, sa)  # the screen locked, the socket dropped
    listing = await host.call("list")
    assert [p["state"] for p in listing["participants"]] == ["waiting"]  # still on the host's list
    again = await participant_socket(world, await ticket(a))
    sockets.append(again)
    state = await again.wait_for("state")
    assert state["state"] == "waiting" and state["verified_name"] == first_since["verified_name"]
    await host.call("admit", {"participant_id": a.participant_id})
    await again.wait_for("state", lambda d: d["state"] == "admitted")


async def test_a_co_host_sees_the_same_list_and_either_host_can_act(world):
    co_host = await add_host(world, "Region Medledare")
    meeting = await book(world, hosts=[world.hosts[world.municipality.id], co_host])
    first = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    second = await host_socket(world, await host_cookie(world, co_host), meeting["id"])
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    try:
        await first.wait_for("participant", lambda e: e["participant_id"] == invited.participant_id)
        await second.wait_for("participant", lambda e: e["participant_id"] == invited.participant_id)
        await second.call("admit", {"participant_id": invited.participant_id})
        await first.wait_for("participant", lambda e: e["state"] == "admitted")
    finally:
        for s in (first, second, socket):
            await s.close()
        await invited.page.close()


async def test_the_matching_staff_policy_admits_only_matching_staff(world, room):
    meeting, host, sockets, pages = room
    await host.call("configure", {"admission_policy": "matching_staff"})
    staff, s1 = await arrive(
        world,
        meeting["id"],
        person=PERSONS[3],
        name="Läkare",
        invited_as=PERSONS[3],
        role="region_staff",
        organisation_id=world.region.id,
    )
    person, s2 = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets += [s1, s2]
    pages += [staff.page, person.page]
    await s1.wait_for("state", lambda d: d["state"] == "admitted")
    await s2.round_trip()
    assert s2.last_state["state"] == "waiting"
    async with world.service.app[ENGINE].connect() as connection:
        actors = (
            (
                await connection.execute(
                    select(audit_log.c.actor).where(
                        audit_log.c.action == "participant.admit", audit_log.c.subject_id == staff.participant_id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert actors == ["policy:matching_staff"]


async def test_the_waiting_room_opens_fifteen_minutes_before(world):
    meeting = await book(world, starts_in=timedelta(minutes=40))
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    socket = await participant_socket(world, await ticket(invited))
    try:
        state = await socket.wait_for("state")
        assert state["state"] == "not_open" and state["hosts_notified"] is False
        assert (await states(world))[invited.participant_id] == "invited"
    finally:
        await socket.close()
        await invited.page.close()


async def test_every_transition_is_audited_with_actor_and_time(world, room):
    meeting, host, sockets, pages = room
    invited, socket = await arrive(world, meeting["id"], person=PERSONS[0], invited_as=PERSONS[0])
    sockets.append(socket), pages.append(invited.page)
    await host.call("admit", {"participant_id": invited.participant_id})
    await host.call("send_back", {"participant_id": invited.participant_id})
    await host.call("remove", {"participant_id": invited.participant_id})
    async with world.service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.occurred_at)
                .where(audit_log.c.subject_id == invited.participant_id, audit_log.c.action.like("participant.%"))
                .order_by(audit_log.c.seq)
            )
        ).all()
    actions = [(r.action, r.actor.split(":")[0]) for r in rows]
    assert actions[-4:] == [
        ("participant.arrive", "participant"),
        ("participant.admit", "staff"),
        ("participant.send_back", "staff"),
        ("participant.remove", "staff"),
    ]
    assert all(r.occurred_at is not None for r in rows)
