"""The meeting endpoints over HTTP: book, read, list, change, move and cancel."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import invitations, organisations, participants
from tests.api.helpers import (
    Api,
    assert_problem,
    local_time,
    meeting_path,
    next_local_date,
    participant_path,
    rfc3339,
    rows,
    snapshot,
    utc,
)


async def test_create_answers_201_with_location_and_the_meeting(api: Api) -> None:
    world = api.world
    starts = local_time(world.service.clock(), days=10, hour=13, minute=30)
    body = api.meeting_body(starts_at=starts, minutes=90, title="Samordning skola och BUP", care_area="socialpsykiatri")

    answer = await api.post("/api/v1/meetings", json=body)

    assert answer.status == 201, answer
    meeting = answer.json
    assert answer.headers["Location"] == f"/api/v1/meetings/{meeting['id']}"
    assert meeting["organisation_id"] == world.municipality.id
    assert meeting["partner_organisation_id"] == world.region.id
    assert meeting["title"] == "Samordning skola och BUP"
    assert meeting["care_area"] == "socialpsykiatri"
    assert utc(meeting["starts_at"]) == starts.astimezone(UTC)
    assert utc(meeting["ends_at"]) == (starts + timedelta(minutes=90)).astimezone(UTC)
    assert meeting["time_zone"] == "Europe/Stockholm"
    assert meeting["status"] == "scheduled"
    assert meeting["host_ids"] == [world.hosts[world.municipality.id]]
    assert meeting["participant_count"] == 0
    assert meeting["sequence"] == 0
    assert utc(meeting["created_at"]) == world.service.clock()

    # The Location points at the same meeting.
    read = await api.get(answer.headers["Location"])
    assert read.status == 200
    assert read.json == meeting


async def test_a_region_books_with_a_municipality(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting(org=world.region)
    assert meeting["organisation_id"] == world.region.id
    assert meeting["partner_organisation_id"] == world.municipality.id


async def test_times_are_rendered_in_stockholm_time_winter_and_summer(api: Api) -> None:
    now = api.service.clock()
    winter = next_local_date(now, 1, 15, hour=10)
    summer = next_local_date(now, 7, 15, hour=10)

    for starts, offset in ((winter, "+01:00"), (summer, "+02:00")):
        # Sent in UTC; answered as Stockholm wall-clock time with that day's offset.
        sent = starts.astimezone(UTC)
        body = api.meeting_body(starts_at=starts)
        body["starts_at"] = sent.strftime("%Y-%m-%dT%H:%M:%SZ")
        body["ends_at"] = (sent + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        created = await api.post("/api/v1/meetings", json=body)
        assert created.status == 201, created
        for meeting in (created.json, (await api.get(meeting_path(created.json["id"]))).json):
            assert meeting["starts_at"] == starts.strftime("%Y-%m-%dT10:00:00") + offset
            assert meeting["ends_at"] == starts.strftime("%Y-%m-%dT11:00:00") + offset


async def test_read_an_unknown_meeting_is_404(api: Api) -> None:
    answer = await api.get(meeting_path("00000000-0000-4000-8000-000000000000"))
    assert_problem(answer, 404, "not-found")


async def test_list_orders_by_start_and_filters(api: Api) -> None:
    now = api.service.clock()
    # Created out of order; listed by start.
    late = await api.create_meeting(starts_at=local_time(now, days=30))
    early = await api.create_meeting(starts_at=local_time(now, days=3))
    middle = await api.create_meeting(starts_at=local_time(now, days=10))
    cancelled = await api.post(meeting_path(middle["id"], "cancel"))
    assert cancelled.status == 200

    everything = await api.get("/api/v1/meetings")
    assert everything.status == 200
    assert [m["id"] for m in everything.json["items"]] == [early["id"], middle["id"], late["id"]]
    assert (everything.json["limit"], everything.json["offset"]) == (50, 0)

    only_cancelled = await api.get("/api/v1/meetings", params={"status": "cancelled"})
    assert [m["id"] for m in only_cancelled.json["items"]] == [middle["id"]]
    only_scheduled = await api.get("/api/v1/meetings", params={"status": "scheduled"})
    assert [m["id"] for m in only_scheduled.json["items"]] == [early["id"], late["id"]]

    # from is inclusive, to is exclusive; both may carry any offset.
    middle_start = utc(middle["starts_at"])
    window = await api.get(
        "/api/v1/meetings",
        params={"from": rfc3339(middle_start), "to": late["starts_at"]},
    )
    assert [m["id"] for m in window.json["items"]] == [middle["id"]]
    after_early = await api.get(
        "/api/v1/meetings", params={"from": rfc3339(utc(early["starts_at"]) + timedelta(seconds=1))}
    )
    assert [m["id"] for m in after_early.json["items"]] == [middle["id"], late["id"]]
    before_middle = await api.get("/api/v1/meetings", params={"to": rfc3339(middle_start)})
    assert [m["id"] for m in before_middle.json["items"]] == [early["id"]]


async def test_list_pages_with_limit_and_offset(api: Api) -> None:
    now = api.service.clock()
    created = [await api.create_meeting(starts_at=local_time(now, days=day)) for day in (5, 2, 4, 3, 6)]
    by_start = [m["id"] for m in sorted(created, key=lambda m: utc(m["starts_at"]))]

    seen = []
    for offset in (0, 2, 4):
        page = await api.get("/api/v1/meetings", params={"limit": "2", "offset": str(offset)})
        assert page.status == 200
        assert (page.json["limit"], page.json["offset"]) == (2, offset)
        seen += [m["id"] for m in page.json["items"]]
    assert seen == by_start
    beyond = await api.get("/api/v1/meetings", params={"offset": "5"})
    assert beyond.json["items"] == []


async def test_patch_changes_only_the_fields_given(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting()
    path = meeting_path(meeting["id"])
    world.service.clock.advance(minutes=5)

    retitled = await api.patch(path, json={"title": "Uppföljning"})
    assert retitled.status == 200, retitled
    assert retitled.json["title"] == "Uppföljning"
    unchanged = {k: v for k, v in meeting.items() if k not in ("title", "updated_at")}
    assert {k: v for k, v in retitled.json.items() if k not in ("title", "updated_at")} == unchanged
    assert utc(retitled.json["updated_at"]) == world.service.clock()

    area = await api.patch(path, json={"care_area": "missbruk_och_beroende"})
    assert area.json["care_area"] == "missbruk_och_beroende"
    assert area.json["title"] == "Uppföljning"

    # A host from the partner organisation may lead too; order is kept.
    hosts = [world.hosts[world.region.id], world.hosts[world.municipality.id]]
    rehosted = await api.patch(path, json={"host_ids": hosts})
    assert rehosted.status == 200, rehosted
    assert rehosted.json["host_ids"] == hosts
    assert rehosted.json["title"] == "Uppföljning"
    assert rehosted.json["care_area"] == "missbruk_och_beroende"
    assert rehosted.json["starts_at"] == meeting["starts_at"]

    assert (await api.get(path)).json == rehosted.json


async def test_patch_with_nothing_changes_nothing(api: Api) -> None:
    meeting = await api.create_meeting()
    before = await snapshot(api.service)
    answer = await api.patch(meeting_path(meeting["id"]), json={})
    assert answer.status == 200
    assert answer.json == meeting
    assert await snapshot(api.service) == before


async def test_reschedule_moves_the_meeting_and_raises_its_sequence(api: Api) -> None:
    meeting = await api.create_meeting()
    path = meeting_path(meeting["id"], "reschedule")
    new_start = utc(meeting["starts_at"]) + timedelta(days=2, hours=3)

    moved = await api.post(
        path, json={"starts_at": rfc3339(new_start), "ends_at": rfc3339(new_start + timedelta(minutes=45))}
    )
    assert moved.status == 200, moved
    assert utc(moved.json["starts_at"]) == new_start
    assert utc(moved.json["ends_at"]) == new_start + timedelta(minutes=45)
    assert moved.json["sequence"] == meeting["sequence"] + 1
    assert moved.json["status"] == "scheduled"

    again = await api.post(
        path,
        json={
            "starts_at": rfc3339(new_start + timedelta(days=1)),
            "ends_at": rfc3339(new_start + timedelta(days=1, hours=1)),
        },
    )
    assert again.json["sequence"] == meeting["sequence"] + 2
    assert (await api.get(meeting_path(meeting["id"]))).json == again.json


async def test_cancel_closes_the_meeting_and_revokes_every_invitation(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting()
    first = await api.add_participant(meeting["id"])
    second = await api.add_participant(meeting["id"], display_name="Alex Exempel", email=None, mobile="0701234567")
    # Each invitation was a calendar message of its own, with a SEQUENCE of its own.
    invited = (await api.get(meeting_path(meeting["id"]))).json
    assert invited["sequence"] == meeting["sequence"] + 2

    cancelled = await api.post(meeting_path(meeting["id"], "cancel"))
    assert cancelled.status == 200, cancelled
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["sequence"] == invited["sequence"] + 1
    assert (await api.get(meeting_path(meeting["id"]))).json == cancelled.json

    for participant in (first, second):
        read = await api.get(participant_path(meeting["id"], participant["id"]))
        assert read.json["invitation"]["status"] == "revoked"
    active = await rows(
        world.service,
        invitations,
        invitations.c.revoked_at.is_(None),
        invitations.c.participant_id.in_(select(participants.c.id).where(participants.c.meeting_id == meeting["id"])),
    )
    assert active == []

    before = await snapshot(world.service)
    start = utc(meeting["starts_at"]) + timedelta(days=1)
    for method, path, body in (
        ("PATCH", meeting_path(meeting["id"]), {"title": "Nytt"}),
        (
            "POST",
            meeting_path(meeting["id"], "reschedule"),
            {"starts_at": rfc3339(start), "ends_at": rfc3339(start + timedelta(hours=1))},
        ),
        ("POST", meeting_path(meeting["id"], "cancel"), None),
        ("POST", meeting_path(meeting["id"], "participants"), api.participant_body()),
        ("PATCH", participant_path(meeting["id"], first["id"]), {"display_name": "Nytt namn"}),
        ("DELETE", participant_path(meeting["id"], first["id"]), None),
        ("POST", participant_path(meeting["id"], first["id"], "invitation"), None),
    ):
        answer = await api.request(method, path, **({"json": body} if body is not None else {}))
        assert_problem(answer, 409, "meeting-closed")
    assert await snapshot(world.service) == before


async def test_a_partner_of_the_same_kind_is_refused(api: Api) -> None:
    world = api.world
    before = await snapshot(world.service)
    answer = await api.post("/api/v1/meetings", json=api.meeting_body(partner=world.other_municipality))
    assert_problem(answer, 422, "validation-failed", [("/partner_organisation_id", "other_kind")])
    answer = await api.post("/api/v1/meetings", json=api.meeting_body(partner=world.municipality))
    assert_problem(answer, 422, "validation-failed", [("/partner_organisation_id", "other_kind")])
    assert await snapshot(world.service) == before


async def test_a_host_from_an_unrelated_organisation_is_refused(api: Api) -> None:
    world = api.world
    stranger = world.hosts[world.other_municipality.id]
    before = await snapshot(world.service)
    answer = await api.post(
        "/api/v1/meetings", json=api.meeting_body(host_ids=[world.hosts[world.municipality.id], stranger])
    )
    assert_problem(answer, 422, "validation-failed", [("/host_ids/1", "staff_member")])
    assert await snapshot(world.service) == before

    meeting = await api.create_meeting()
    before = await snapshot(world.service)
    answer = await api.patch(meeting_path(meeting["id"]), json={"host_ids": [stranger]})
    assert_problem(answer, 422, "validation-failed", [("/host_ids/0", "staff_member")])
    assert await snapshot(world.service) == before
    assert (await api.get(meeting_path(meeting["id"]))).json["host_ids"] == meeting["host_ids"]


async def test_participant_count_follows_additions_and_removals(api: Api) -> None:
    meeting = await api.create_meeting()
    added = [await api.add_participant(meeting["id"], display_name=f"Deltagare {i}") for i in range(3)]
    assert (await api.get(meeting_path(meeting["id"]))).json["participant_count"] == 3
    removed = await api.delete(participant_path(meeting["id"], added[1]["id"]))
    assert removed.status == 204
    assert (await api.get(meeting_path(meeting["id"]))).json["participant_count"] == 2


async def test_a_partner_whose_id_holds_a_run_of_digits_can_be_booked(api: Api) -> None:
    # Ids are random UUIDs; roughly one in a hundred has a group like "88644083-8253" or
    # "000000000001" that merely looks like a personal identity number. Such a meeting must be
    # booked like any other.
    world = api.world
    partner_id = "88644083-8253-4466-8fee-400000000001"
    async with world.service.app[ENGINE].begin() as connection:
        await connection.execute(
            organisations.insert().values(
                id=partner_id, name="Region Siffra", kind="region", created_at=world.service.clock()
            )
        )
    body = api.meeting_body()
    body["partner_organisation_id"] = partner_id
    answer = await api.post("/api/v1/meetings", json=body)
    assert answer.status == 201, answer
    assert answer.json["partner_organisation_id"] == partner_id
