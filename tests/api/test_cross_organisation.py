"""One organisation's meetings do not exist for another, and nobody gets in without a key."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest

from tests.api.helpers import Api, assert_problem, meeting_path, participant_path, rfc3339, snapshot, utc

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def every_operation(meeting: dict[str, Any], participant: dict[str, Any], host_id: str) -> list[tuple[str, str, Any]]:
    """Every meeting, participant and staff operation aimed at one meeting, with a valid body."""
    m, p = meeting["id"], participant["id"]
    start = utc(meeting["starts_at"]) + timedelta(days=1)
    return [
        ("GET", meeting_path(m), None),
        ("PATCH", meeting_path(m), {"title": "Övertaget"}),
        (
            "POST",
            meeting_path(m, "reschedule"),
            {"starts_at": rfc3339(start), "ends_at": rfc3339(start + timedelta(hours=1))},
        ),
        ("POST", meeting_path(m, "cancel"), None),
        (
            "POST",
            meeting_path(m, "participants"),
            {"role": "individual", "display_name": "Inkräktare", "email": "x@example.se"},
        ),
        ("GET", meeting_path(m, "participants"), None),
        ("GET", participant_path(m, p), None),
        ("PATCH", participant_path(m, p), {"email": "attacker@example.se"}),
        ("DELETE", participant_path(m, p), None),
        ("POST", participant_path(m, p, "invitation"), None),
        ("DELETE", participant_path(m, p, "invitation"), None),
        ("GET", f"/api/v1/staff/{host_id}", None),
    ]


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


# The region is the partner of the meetings booked here: what it reaches is in test_partner_access.py.
@pytest.mark.parametrize("intruder", ["other_municipality"])
async def test_another_organisation_finds_nothing_and_changes_nothing(api: Api, intruder: str) -> None:
    world = api.world
    org = getattr(world, intruder)
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"])
    meeting = (await api.get(meeting_path(meeting["id"]))).json
    before = await snapshot(world.service)

    operations = every_operation(meeting, participant, world.hosts[world.municipality.id])
    for method, path, body in operations:
        answer = await api.request(method, path, org=org, **({"json": body} if body is not None else {}))
        problem = assert_problem(answer, 404, "not-found")
        # Indistinguishable from an id that was never used: 403 or a different text would
        # tell the intruder the meeting exists.
        ghost_path = path.replace(meeting["id"], UNKNOWN).replace(participant["id"], UNKNOWN)
        ghost_path = ghost_path.replace(world.hosts[world.municipality.id], UNKNOWN)
        ghost = await api.request(method, ghost_path, org=org, **({"json": body} if body is not None else {}))
        assert ghost.status == 404
        assert without_request_id(ghost.json) == without_request_id(problem), (method, path)

    listed = await api.get("/api/v1/meetings", org=org)
    assert listed.status == 200
    assert meeting["id"] not in listed.text
    staff = await api.get("/api/v1/staff", org=org)
    assert world.hosts[world.municipality.id] not in staff.text

    assert await snapshot(world.service) == before
    # The owner still sees it all as it was.
    assert (await api.get(meeting_path(meeting["id"]))).json == meeting
    read = await api.get(participant_path(meeting["id"], participant["id"]))
    # The same participant; only where its messages stand may have moved on.
    steady = ("invitation_url", "deliveries")
    assert {k: v for k, v in read.json.items() if k not in steady} == {
        k: v for k, v in participant.items() if k not in steady
    }


async def test_the_partner_cannot_book_in_the_owners_name(api: Api) -> None:
    world = api.world
    # The region's key books for the region, whatever the body says; the region's host may
    # not lead a meeting that joins two other organisations.
    body = api.meeting_body(org=world.region, partner=world.other_municipality)
    body["host_ids"] = [world.hosts[world.municipality.id]]
    before = await snapshot(world.service)
    answer = await api.post("/api/v1/meetings", org=world.region, json=body)
    assert_problem(answer, 422, "validation-failed", [("/host_ids/0", "staff_member")])
    assert await snapshot(world.service) == before


BAD_CREDENTIALS = {
    "no header": None,
    "unknown key": "Bearer msk_" + "A" * 43,
    "random key": "Bearer msk_" + secrets.token_urlsafe(32),
    "key without msk_ prefix": "Bearer " + secrets.token_urlsafe(32),
    "empty bearer": "Bearer ",
    "bare scheme": "Bearer",
    "basic scheme": "Basic bXVuaWNpcGFsaXR5OnNlY3JldA==",
    "key without scheme": "msk_" + secrets.token_urlsafe(32),
    "junk": "Bearer msk_' OR '1'='1",
    "two keys": "Bearer msk_aaaaaaaaaaaaaaaaaaaaaaaaa msk_bbbbbbbbbbbbbbbbbbbbbbbbbb",
}


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
async def test_without_a_valid_key_the_answer_is_401_and_changes_nothing(api: Api, credentials: str | None) -> None:
    world = api.world
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"])
    before = await snapshot(world.service)
    headers = {"Authorization": credentials} if credentials is not None else {}

    operations = [
        *every_operation(meeting, participant, world.hosts[world.municipality.id]),
        ("GET", "/api/v1/meetings", None),
        ("POST", "/api/v1/meetings", api.meeting_body()),
        ("GET", "/api/v1/organisations", None),
        ("GET", "/api/v1/staff", None),
        ("POST", "/api/v1/staff", {"display_name": "Ny"}),
    ]
    for method, path, body in operations:
        answer = await api.request(
            method, path, org=None, headers=headers, **({"json": body} if body is not None else {})
        )
        assert_problem(answer, 401, "unauthenticated")
        challenge = answer.headers.get("WWW-Authenticate", "")
        assert challenge.split(" ", 1)[0] == "Bearer", (method, path, challenge)

    assert await snapshot(world.service) == before


async def test_a_valid_key_is_not_401(api: Api) -> None:
    # The counterpart of the table above: the same requests with the right key succeed.
    answer = await api.get("/api/v1/organisations")
    assert answer.status == 200
    assert {o["name"] for o in answer.json["items"]} == {"Exempelstads kommun", "Region Exempel", "Grannby kommun"}
    assert "WWW-Authenticate" not in answer.headers
