"""Both organisations of a SIP meeting reach their own part of it, and organisers only theirs.

The municipality books; the region is the partner. The region's API client and its staff who
host find the meeting and manage the participants they invite and their own hosts; time,
cancellation, title and the individual stay with the municipality. Inside one organisation, an
organiser reaches the meetings they booked or lead; an administrator every one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY
from meetsvc.storage.tables import meetings, participants
from tests.api.helpers import Api, assert_problem, meeting_path, participant_path, rfc3339, rows, snapshot, utc
from tests.support.lobby import identify, invite
from tests.support.staff import staff_page

ELIN = "200502149800"  # a simulator test person
SOMEONE_ELSE = "195402269855"  # another


async def region_co_hosted(api: Api) -> tuple[dict[str, Any], str]:
    """A municipality meeting the region's host leads beside the municipality's."""
    world = api.world
    region_host = world.hosts[world.region.id]
    meeting = await api.create_meeting(host_ids=[world.hosts[world.municipality.id], region_host])
    return meeting, region_host


async def test_the_regions_client_lists_and_reads_the_meeting_it_is_party_to(api: Api) -> None:
    world = api.world
    meeting, _ = await region_co_hosted(api)
    # A meeting the region is no party to stays out of its list.
    other = await api.create_meeting(org=world.other_municipality, partner=world.region)
    await api.add_participant(meeting["id"])
    listed = await api.get("/api/v1/meetings", org=world.region)
    assert listed.status == 200
    ids = [m["id"] for m in listed.json["items"]]
    assert meeting["id"] in ids and other["id"] in ids  # the other municipality's partner is the region too
    grannby = await api.get("/api/v1/meetings", org=world.other_municipality)
    assert meeting["id"] not in [m["id"] for m in grannby.json["items"]]
    read = await api.get(meeting_path(meeting["id"]), org=world.region)
    assert read.status == 200 and read.json["organisation_id"] == world.municipality.id
    assert read.json["booked_by"].startswith("api-client:")
    people = await api.get(meeting_path(meeting["id"], "participants"), org=world.region)
    assert people.status == 200 and len(people.json["items"]) == 1


async def test_time_cancellation_title_and_the_individual_stay_with_the_booking_organisation(api: Api) -> None:
    world = api.world
    meeting, _ = await region_co_hosted(api)
    individual = await api.add_participant(meeting["id"])
    before = await snapshot(world.service)
    start = utc(meeting["starts_at"]) + timedelta(days=1)
    refused = [
        ("PATCH", meeting_path(meeting["id"]), {"title": "Regionens titel"}),
        ("PATCH", meeting_path(meeting["id"]), {"care_area": "socialpsykiatri"}),
        (
            "POST",
            meeting_path(meeting["id"], "reschedule"),
            {"starts_at": rfc3339(start), "ends_at": rfc3339(start + timedelta(hours=1))},
        ),
        ("POST", meeting_path(meeting["id"], "cancel"), None),
        ("POST", meeting_path(meeting["id"], "participants"), api.participant_body(role="individual")),
        ("POST", meeting_path(meeting["id"], "participants"), api.participant_body(role="guardian")),
        ("PATCH", participant_path(meeting["id"], individual["id"]), {"email": "annan@example.se"}),
        ("DELETE", participant_path(meeting["id"], individual["id"]), None),
        ("POST", participant_path(meeting["id"], individual["id"], "invitation"), None),
        ("DELETE", participant_path(meeting["id"], individual["id"], "invitation"), None),
        # The municipality's host is the municipality's to remove.
        ("PATCH", meeting_path(meeting["id"]), {"host_ids": [world.hosts[world.region.id]]}),
    ]
    for method, path, body in refused:
        answer = await api.request(method, path, org=world.region, **({"json": body} if body is not None else {}))
        assert_problem(answer, 403, "forbidden")
    assert await snapshot(world.service) == before


async def test_the_region_manages_its_own_participants_and_hosts(api: Api) -> None:
    world = api.world
    meeting, region_host = await region_co_hosted(api)
    ours = await api.add_participant(
        meeting["id"], org=world.region, role="region_staff", organisation_id=world.region.id, display_name="Läkare"
    )
    assert ours["invited_by_organisation_id"] == world.region.id
    changed = await api.patch(participant_path(meeting["id"], ours["id"]), org=world.region, json={"language": "en"})
    assert changed.status == 200 and changed.json["language"] == "en"
    # The region may not turn its participant into the individual.
    assert_problem(
        await api.patch(participant_path(meeting["id"], ours["id"]), org=world.region, json={"role": "individual"}),
        403,
    )
    second = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.region.id, "test"), display_name="Sköterska"
    )
    hosts = [world.hosts[world.municipality.id], region_host, second.id]
    added = await api.patch(meeting_path(meeting["id"]), org=world.region, json={"host_ids": hosts})
    assert added.status == 200 and added.json["host_ids"] == hosts
    removed = await api.patch(
        meeting_path(meeting["id"]), org=world.region, json={"host_ids": [world.hosts[world.municipality.id]]}
    )
    assert removed.status == 200 and removed.json["host_ids"] == [world.hosts[world.municipality.id]]
    gone = await api.delete(participant_path(meeting["id"], ours["id"]), org=world.region)
    assert gone.status == 204
    # The municipality, who convenes, still manages every participant.
    again = await api.add_participant(
        meeting["id"], org=world.region, role="region_staff", organisation_id=world.region.id
    )
    assert (await api.patch(participant_path(meeting["id"], again["id"]), json={"language": "en"})).status == 200
    stored = await rows(world.service, participants, participants.c.id == again["id"])
    assert stored[0].invited_by_organisation_id == world.region.id


async def test_a_region_co_host_finds_the_meeting_on_their_pages_and_in_the_api(api: Api) -> None:
    world = api.world
    meeting, region_host = await region_co_hosted(api)
    async with staff_page(world, region_host) as page:
        listed = await page.get_json("/api/v1/meetings")
        assert [m["id"] for m in listed["items"]] == [meeting["id"]]
        home = await page.text("/staff")
        assert f"/staff/meetings/{meeting['id']}" in home
        organise = await page.text(f"/staff/meetings/{meeting['id']}/organise")
        # Both organisations are named, and the partner is told what stays with the booker.
        assert world.municipality.name in organise and world.region.name in organise
        assert 'action="/staff/meetings/' + meeting["id"] + '/cancel"' not in organise
        console = await page.text(f"/staff/meetings/{meeting['id']}")
        assert world.municipality.name in console and world.region.name in console
        # Changing the time from the partner's side is refused, readably, changing nothing.
        status, _ = await page.post_json(meeting_path(meeting["id"], "cancel"), None)
        assert status == 403
    async with staff_page(world, world.hosts[world.other_municipality.id]) as stranger:
        assert (await stranger.get_json("/api/v1/meetings"))["items"] == []
        assert await stranger.status(f"/staff/meetings/{meeting['id']}/organise") == 404


async def organiser(api: Api, name: str, *roles: Role) -> str:
    member = await api.world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(api.world.municipality.id, "test"), display_name=name, roles=frozenset(roles)
    )
    return member.id


async def test_an_organiser_reaches_what_they_booked_or_lead_and_an_administrator_everything(api: Api) -> None:
    world = api.world
    anna = await organiser(api, "Anna", Role.ORGANISER, Role.HOST)
    bo = await organiser(api, "Bo", Role.ORGANISER, Role.HOST)
    admin = await organiser(api, "Cecilia", Role.ADMINISTRATOR)
    async with staff_page(world, anna) as page:
        body = api.meeting_body(host_ids=[world.hosts[world.municipality.id]])
        status, booked = await page.post_json("/api/v1/meetings", body)
        assert status == 201, booked
        assert booked["booked_by"] == f"staff:{anna}"
    led_by_bo = await api.create_meeting(host_ids=[bo])
    unrelated = await api.create_meeting()
    async with staff_page(world, anna) as page:
        assert [m["id"] for m in (await page.get_json("/api/v1/meetings"))["items"]] == [booked["id"]]
        status, _ = await page.request("GET", meeting_path(unrelated["id"]))
        assert status == 404
        status, _ = await page.post_json(meeting_path(unrelated["id"], "cancel"), None)
        assert status == 404
    async with staff_page(world, bo) as page:
        assert [m["id"] for m in (await page.get_json("/api/v1/meetings"))["items"]] == [led_by_bo["id"]]
        status, changed = await page.request("PATCH", meeting_path(led_by_bo["id"]), {"title": "Nytt namn"})
        assert status == 200 and changed["title"] == "Nytt namn"
    async with staff_page(world, admin) as page:
        ids = {m["id"] for m in (await page.get_json("/api/v1/meetings"))["items"]}
        assert ids == {booked["id"], led_by_bo["id"], unrelated["id"]}
        # An administrator who is no organiser books nothing.
        status, _ = await page.post_json("/api/v1/meetings", api.meeting_body())
        assert status == 403


async def test_the_api_shows_the_identity_check_without_the_number(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting(starts_at=world.service.clock() + timedelta(minutes=10))
    matching = await invite(world, meeting["id"], name="Elin", personal_number=ELIN)
    other = await invite(world, meeting["id"], name="Kim", personal_number=ELIN)
    waiting = await invite(world, meeting["id"], name="Ingen")
    try:
        await identify(world, matching, ELIN)
        await identify(world, other, SOMEONE_ELSE)
        listed = await api.get(meeting_path(meeting["id"], "participants"))
        by_name = {p["display_name"]: p["identification"] for p in listed.json["items"]}
        assert by_name["Elin"]["status"] == "identified_matching"
        assert by_name["Elin"]["method"] and by_name["Elin"]["level"] and by_name["Elin"]["verified_at"]
        assert by_name["Kim"]["status"] == "identified_not_matching"
        assert by_name["Ingen"] == {"status": "not_identified", "method": None, "level": None, "verified_at": None}
        one = await api.get(participant_path(meeting["id"], other.participant_id))
        assert one.json["identification"]["status"] == "identified_not_matching"
        for number in (ELIN, SOMEONE_ELSE, ELIN[2:], SOMEONE_ELSE[2:]):
            assert number not in api.bodies()
    finally:
        for invited in (matching, other, waiting):
            await invited.close()
    stored = await rows(world.service, meetings, meetings.c.id == meeting["id"])
    assert stored[0].booked_by.startswith("api-client:")
