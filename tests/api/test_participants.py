"""The participant endpoints over HTTP: invite, read, change, remove, and manage their links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.tokens import token_hash
from meetsvc.http.appkeys import KEYS
from meetsvc.storage.tables import invitations, participants
from tests.api.helpers import (
    Api,
    TestNumber,
    assert_problem,
    build_world,
    deliveries_settled,
    meeting_path,
    participant_path,
    rows,
    snapshot,
    token_of,
    utc,
)
from tests.conftest import World
from tests.support.service import SettableClock, make_settings, start_service

NUMBER = TestNumber.make(date(1981, 12, 18), "987")
OTHER_NUMBER = TestNumber.make(date(2009, 3, 3), "452")
COORDINATION_NUMBER = TestNumber.make(date(1970, 10, 3), "371", coordination=True)


def assert_number_never_shown(api: Api, number: TestNumber) -> None:
    shown = api.bodies()
    for spelling in (*number.spellings, number.yymmdd + number.serial[:3]):
        assert spelling not in shown, "a personal identity number was returned to the client"


def without_url(participant: dict[str, Any]) -> dict[str, Any]:
    """The participant as later answers show it: without the link, and with where each message
    stands reduced to which messages there are (their state moves on as they are sent)."""
    steady = {k: v for k, v in participant.items() if k not in ("invitation_url", "deliveries")}
    steady["deliveries"] = [(d["channel"], d["kind"]) for d in participant["deliveries"]]
    return steady


async def active_invitations(api: Api, participant_id: str) -> list[Any]:
    return await rows(
        api.service, invitations, invitations.c.participant_id == participant_id, invitations.c.revoked_at.is_(None)
    )


async def test_add_answers_201_with_the_link_once(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting()
    answer = await api.post(
        meeting_path(meeting["id"], "participants"),
        json=api.participant_body(
            display_name="Kim Exempel",
            email="kim@example.se",
            mobile="070-123 45 67",
            language="en",
            personal_number=NUMBER.ten,
        ),
    )

    assert answer.status == 201, answer
    added = answer.json
    assert answer.headers["Location"] == participant_path(meeting["id"], added["id"])
    assert added["meeting_id"] == meeting["id"]
    assert added["role"] == "individual"
    assert added["organisation_id"] is None
    assert added["display_name"] == "Kim Exempel"
    assert added["email"] == "kim@example.se"
    assert added["mobile"] == "+46701234567"
    assert added["language"] == "en"
    assert added["expects_identity"] is True
    assert added["state"] == "invited"
    assert added["invitation"]["status"] == "active"
    assert utc(added["invitation"]["issued_at"]) == world.service.clock()
    assert added["invitation"]["opened_at"] is None
    assert "personal_number" not in added

    base = world.service.settings.server.base_url
    assert added["invitation_url"].startswith(base + "/j/")
    token = token_of(added["invitation_url"])
    assert len(token) >= 43  # 256 bits, URL-safe base64

    read = await api.get(answer.headers["Location"])
    assert read.status == 200
    assert without_url(read.json) == without_url(added)
    listed = await api.get(meeting_path(meeting["id"], "participants"))
    assert listed.status == 200
    assert [without_url(p) for p in listed.json["items"]] == [without_url(added)]
    assert (await api.get(meeting_path(meeting["id"]))).json["participant_count"] == 1

    # The link was in the first answer only.
    later = [a.text for a in api.answers if a is not answer]
    assert not any(token in text or "invitation_url" in text for text in later)
    assert_number_never_shown(api, NUMBER)


async def test_personal_numbers_are_never_returned(api: Api) -> None:
    meeting = await api.create_meeting()
    path = meeting_path(meeting["id"], "participants")
    first = await api.add_participant(meeting["id"], personal_number=NUMBER.normal)
    second = await api.add_participant(meeting["id"], display_name="Sam", personal_number=COORDINATION_NUMBER.ten)
    await api.get(path)
    await api.get(participant_path(meeting["id"], first["id"]))
    changed = await api.patch(
        participant_path(meeting["id"], first["id"]), json={"personal_number": OTHER_NUMBER.century + OTHER_NUMBER.ten}
    )
    assert changed.status == 200, changed
    assert changed.json["expects_identity"] is True
    await api.post(participant_path(meeting["id"], second["id"], "invitation"))
    await api.delete(participant_path(meeting["id"], second["id"], "invitation"))
    await api.get(path)
    await api.get(meeting_path(meeting["id"]))

    # A staff member with a number on file for eID sign-in.
    staff = await api.post(
        "/api/v1/staff", json={"display_name": "Handläggare", "personal_number": NUMBER.century + NUMBER.ten}
    )
    assert staff.status == 201, staff
    assert staff.json["can_sign_in"] is True
    await api.get(f"/api/v1/staff/{staff.json['id']}")
    await api.get("/api/v1/staff")

    assert len(api.answers) >= 12
    for number in (NUMBER, OTHER_NUMBER, COORDINATION_NUMBER):
        assert_number_never_shown(api, number)


async def test_personal_numbers_are_stored_encrypted(api: Api) -> None:
    meeting = await api.create_meeting()
    added = await api.add_participant(meeting["id"], personal_number=NUMBER.ten)
    coordinated = await api.add_participant(
        meeting["id"], display_name="Sam", personal_number=COORDINATION_NUMBER.yymmdd + COORDINATION_NUMBER.serial
    )
    keys = api.service.app[KEYS]
    vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)

    for participant, number in ((added, NUMBER), (coordinated, COORDINATION_NUMBER)):
        (row,) = await rows(api.service, participants, participants.c.id == participant["id"])
        assert isinstance(row.personal_number_enc, bytes)
        for spelling in number.spellings:
            assert spelling.encode() not in row.personal_number_enc
            assert spelling not in repr(tuple(row))
        # It reads back, in the twelve-digit normal form, under the participant purpose only.
        assert vault.decrypt(row.personal_number_enc, "participant") == number.normal
        with pytest.raises(ValueError):
            vault.decrypt(row.personal_number_enc, "staff")
        assert row.personal_number_hash == vault.keyed_hash(number.normal)

    # Nowhere else in the database either: not in the audit log, not in any table.
    everything = repr(await snapshot(api.service))
    for number in (NUMBER, COORDINATION_NUMBER):
        for spelling in number.spellings:
            assert spelling not in everything


async def test_patch_changes_only_the_fields_given_and_null_clears(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting()
    added = await api.add_participant(
        meeting["id"], email="kim@example.se", mobile="+46 70 123 45 67", personal_number=NUMBER.normal
    )
    path = participant_path(meeting["id"], added["id"])
    world.service.clock.advance(minutes=1)

    renamed = await api.patch(path, json={"display_name": "Kim Andersson"})
    assert renamed.status == 200, renamed
    assert renamed.json["display_name"] == "Kim Andersson"
    same = {k: v for k, v in without_url(added).items() if k not in ("display_name", "updated_at")}
    assert {k: v for k, v in without_url(renamed.json).items() if k not in ("display_name", "updated_at")} == same
    assert utc(renamed.json["updated_at"]) == world.service.clock()
    assert "invitation_url" not in renamed.json

    no_email = await api.patch(path, json={"email": None})
    assert no_email.status == 200, no_email
    assert no_email.json["email"] is None
    assert no_email.json["mobile"] == "+46701234567"
    assert no_email.json["display_name"] == "Kim Andersson"

    # The last way to reach the person cannot be removed.
    before = await snapshot(world.service)
    refused = await api.patch(path, json={"mobile": None})
    assert_problem(refused, 422, "validation-failed", [("/email", "contact_required")])
    assert await snapshot(world.service) == before

    no_number = await api.patch(path, json={"personal_number": None})
    assert no_number.json["expects_identity"] is False
    (row,) = await rows(world.service, participants, participants.c.id == added["id"])
    assert row.personal_number_enc is None and row.personal_number_hash is None

    staff = await api.patch(path, json={"role": "region_staff", "organisation_id": world.region.id, "language": "en"})
    assert staff.status == 200, staff
    assert (staff.json["role"], staff.json["organisation_id"], staff.json["language"]) == (
        "region_staff",
        world.region.id,
        "en",
    )
    assert (await api.get(path)).json == staff.json


async def test_remove_answers_204_then_the_participant_is_gone(api: Api) -> None:
    meeting = await api.create_meeting()
    keep = await api.add_participant(meeting["id"])
    leave = await api.add_participant(meeting["id"], display_name="Alex")
    path = participant_path(meeting["id"], leave["id"])

    removed = await api.delete(path)
    assert removed.status == 204
    assert removed.text == ""

    assert_problem(await api.get(path), 404, "not-found")
    assert_problem(await api.delete(path), 404, "not-found")
    assert_problem(await api.patch(path, json={"display_name": "X"}), 404, "not-found")
    assert_problem(await api.post(participant_path(meeting["id"], leave["id"], "invitation")), 404, "not-found")
    listed = await api.get(meeting_path(meeting["id"], "participants"))
    assert [p["id"] for p in listed.json["items"]] == [keep["id"]]
    assert (await api.get(meeting_path(meeting["id"]))).json["participant_count"] == 1
    assert await active_invitations(api, leave["id"]) == []
    assert len(await active_invitations(api, keep["id"])) == 1


async def test_reissue_gives_a_new_link_and_the_old_one_stops_working(api: Api) -> None:
    world = api.world
    meeting = await api.create_meeting()
    added = await api.add_participant(meeting["id"])
    old_token = token_of(added["invitation_url"])
    world.service.clock.advance(minutes=3)

    answer = await api.post(participant_path(meeting["id"], added["id"], "invitation"))
    assert answer.status == 201, answer
    new_token = token_of(answer.json["invitation_url"])
    assert answer.json["invitation_url"] != added["invitation_url"]
    assert new_token != old_token
    assert answer.json["invitation"]["status"] == "active"
    assert utc(answer.json["invitation"]["issued_at"]) == world.service.clock()

    (active,) = await active_invitations(api, added["id"])
    assert active.token_hash == token_hash(new_token)
    everything = await rows(world.service, invitations, invitations.c.participant_id == added["id"])
    assert {row.token_hash: row.revoked_at is None for row in everything} == {
        token_hash(old_token): False,
        token_hash(new_token): True,
    }
    # Only hashes are kept.
    assert not any(token in repr(tuple(row)) for row in everything for token in (old_token, new_token))

    read = await api.get(participant_path(meeting["id"], added["id"]))
    assert without_url(read.json) == without_url(answer.json)
    assert new_token not in read.text


async def test_revoke_stops_the_link_without_a_new_one(api: Api) -> None:
    meeting = await api.create_meeting()
    added = await api.add_participant(meeting["id"])
    path = participant_path(meeting["id"], added["id"], "invitation")
    # The invitation has gone out: a message still in flight at the revocation would change state
    # between the two answers compared below (it fails, as its link no longer works).
    await deliveries_settled(api.service)

    answer = await api.delete(path)
    assert answer.status == 200, answer
    assert answer.json["invitation"]["status"] == "revoked"
    assert "invitation_url" not in answer.json
    assert await active_invitations(api, added["id"]) == []
    assert (await api.get(participant_path(meeting["id"], added["id"]))).json["invitation"]["status"] == "revoked"

    # Revoking again changes nothing; a reissue brings exactly one working link back.
    before = await snapshot(api.service)
    again = await api.delete(path)
    assert again.status == 200
    assert again.json == answer.json
    assert await snapshot(api.service) == before
    reissued = await api.post(path)
    assert reissued.status == 201
    (active,) = await active_invitations(api, added["id"])
    assert active.token_hash == token_hash(token_of(reissued.json["invitation_url"]))


ROLE_CASES = [
    # role, organisation (attribute of World or None), expected status, expected violation
    ("municipality_staff", "municipality", 201, None),
    ("region_staff", "region", 201, None),
    ("school", None, 201, None),
    ("interpreter", "region", 201, None),
    ("municipality_staff", "region", 422, ("/organisation_id", "role_organisation")),
    ("region_staff", "municipality", 422, ("/organisation_id", "role_organisation")),
    ("municipality_staff", None, 422, ("/organisation_id", "required_for_role")),
    ("region_staff", None, 422, ("/organisation_id", "required_for_role")),
    ("municipality_staff", "other_municipality", 422, ("/organisation_id", "meeting_organisation")),
    ("guardian", "other_municipality", 422, ("/organisation_id", "meeting_organisation")),
]


@pytest.mark.parametrize(("role", "organisation", "status", "violation"), ROLE_CASES)
async def test_roles_belong_to_their_organisation(
    api: Api, role: str, organisation: str | None, status: int, violation: tuple[str, str] | None
) -> None:
    meeting = await api.create_meeting()
    body = api.participant_body(role=role)
    if organisation is not None:
        body["organisation_id"] = getattr(api.world, organisation).id
    before = await snapshot(api.service)

    answer = await api.post(meeting_path(meeting["id"], "participants"), json=body)

    if status == 201:
        assert answer.status == 201, answer
        assert answer.json["role"] == role
        assert answer.json["organisation_id"] == body.get("organisation_id")
    else:
        assert_problem(answer, 422, "validation-failed", [violation])
        assert await snapshot(api.service) == before


@pytest_asyncio.fixture
async def small_world(database_url: str, keys_dir: Path) -> AsyncIterator[World]:
    service = await start_service(
        make_settings(database_url, keys_dir, meetings={"max_participants": 3}), SettableClock()
    )
    try:
        yield await build_world(service)
    finally:
        await service.close()


async def test_a_full_meeting_refuses_one_more(small_world: World) -> None:
    api = Api(small_world)
    meeting = await api.create_meeting()
    added = [await api.add_participant(meeting["id"], display_name=f"Deltagare {i}") for i in range(3)]
    before = await snapshot(small_world.service)

    answer = await api.post(
        meeting_path(meeting["id"], "participants"), json=api.participant_body(display_name="En för mycket")
    )

    assert_problem(answer, 409, "too-many-participants")
    assert await snapshot(small_world.service) == before
    listed = await api.get(meeting_path(meeting["id"], "participants"))
    assert len(listed.json["items"]) == 3

    # A removed participant frees the place.
    assert (await api.delete(participant_path(meeting["id"], added[0]["id"]))).status == 204
    await api.add_participant(meeting["id"], display_name="Ny deltagare")
    assert (await api.get(meeting_path(meeting["id"]))).json["participant_count"] == 3
