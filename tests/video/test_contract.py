"""One contract, every video backend: builtin, Jitsi (HS256 and RS256), LiveKit, Vidicue.

Each test runs once per backend (``harness``, see ``tests/video/harness.py``), and each
credential is judged by what the backend itself would check: signature, algorithm, claims,
lifetime, room and role, on a real verifier or a fake server on loopback.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from meetsvc.core.clock import utc_now
from meetsvc.video.base import JoinCredential, JoinRequest, RoomSpec, VideoBackend, WebhookRejected
from tests.video.harness import Harness, Refused, make_person, make_room, seconds_from_now


async def _admit(
    h: Harness, room: RoomSpec, role: str = "guest", *, lifetime: int = 120, name: str = "Åsa Öberg-Lind"
) -> tuple[JoinCredential, JoinRequest]:
    person = make_person(role, lifetime=lifetime, name=name)
    await h.backend.ensure_room(room)
    return await h.backend.issue(room, person), person


def test_every_backend_speaks_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.backend, VideoBackend)
    assert harness.backend.name == harness.kind.split("-")[0]


@pytest.mark.parametrize("role", ["moderator", "guest"])
async def test_the_backend_seats_the_person_in_their_room_with_their_role_and_name(harness: Harness, role: str) -> None:
    room = make_room()
    credential, person = await _admit(harness, room, role, name="Kim Nguyễn Andersson")
    assert credential.backend == harness.backend.name

    seat = await harness.accept(credential, room)

    assert seat.room == room.name
    assert seat.participant_id == person.participant_id
    assert seat.display_name == "Kim Nguyễn Andersson"
    assert seat.moderator is (role == "moderator")


@pytest.mark.parametrize("asked", [45, 3600])
async def test_the_lifetime_is_what_was_asked_and_never_more_than_configured(harness: Harness, asked: int) -> None:
    room = make_room()
    credential, _ = await _admit(harness, room, lifetime=asked)
    expected = harness.fixed_lifetime or min(asked, harness.max_lifetime)

    assert 0 < seconds_from_now(credential.expires_at) <= harness.max_lifetime + 1
    assert expected - 5 <= seconds_from_now(credential.expires_at) <= expected + 1
    seat = await harness.accept(credential, room)
    # What the backend enforces is the instant the service was told; a vendor that starts the
    # clock when its answer leaves may end a moment later, never earlier.
    drift = seat.expires_at - credential.expires_at.timestamp()
    assert (0 <= drift <= 2) if harness.fixed_lifetime else abs(drift) < 0.01


async def test_the_room_name_and_join_address_carry_nothing_of_the_meeting_or_the_people(harness: Harness) -> None:
    meeting_id = str(uuid.uuid4())
    room = make_room(meeting_id)
    credential, _person = await _admit(harness, room, "moderator", name="Maja Svensson")

    pieces = [part for part in meeting_id.split("-") if len(part) >= 4] + ["Maja", "Svensson", "maja", "svensson"]
    path = urlsplit(credential.join_url).path
    for text in [room.name, path, *harness.backend_room_names()]:
        assert not any(piece in text for piece in pieces), text
    assert re.fullmatch(r"sip-[0-9a-f]{24}", room.name)


async def test_the_credential_never_shows_its_token_or_link_when_printed_or_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    room = make_room()
    credential, _ = await _admit(harness, room)
    secrets = [credential.join_url] + ([credential.token] if credential.token else [])
    logger = logging.getLogger("test.video")
    with caplog.at_level(logging.INFO, logger="test.video"):
        logger.info("issued %s / %r", credential, credential)
        logger.info(f"issued {credential} {[credential]}")  # noqa: G004  # an f-string formats it too
    printed = [
        repr(credential),
        str(credential),
        f"{credential}",
        repr([credential]),
        caplog.text,
        repr(harness.backend),
    ]
    for text in printed:
        for secret in secrets:
            assert secret not in text
    assert credential.as_payload()["join_url"] == credential.join_url


async def test_each_person_gets_their_own_credential(harness: Harness) -> None:
    room = make_room()
    first, first_person = await _admit(harness, room)
    second, second_person = await _admit(harness, room)
    assert first.join_url != second.join_url
    seats = [await harness.accept(first, room), await harness.accept(second, room)]
    assert [s.participant_id for s in seats] == [first_person.participant_id, second_person.participant_id]


async def test_revocation_reaches_the_backend_where_it_can_and_says_no_where_it_cannot(harness: Harness) -> None:
    room = make_room()
    credential, person = await _admit(harness, room)
    await harness.accept(credential, room)  # the person is in
    spare = await harness.backend.issue(room, person)  # issued before, never used

    revoked = await harness.backend.revoke(room, person.participant_id)

    assert revoked is harness.revocable
    if harness.revocations is not None:
        assert harness.revocations() == [(room.name, person.participant_id)]
        # The backend itself now turns away what the person was given before.
        with pytest.raises(Refused):
            await harness.accept(spare, room)


async def test_a_person_never_seated_can_still_be_revoked_without_error(harness: Harness) -> None:
    room = make_room()
    _, person = await _admit(harness, room)
    result = await harness.backend.revoke(room, person.participant_id)
    assert isinstance(result, bool)
    if not harness.revocable:
        assert result is False


async def test_ending_the_room_reaches_the_backend_where_it_can(harness: Harness) -> None:
    room = make_room()
    unused, _ = await _admit(harness, room)

    await harness.backend.end_room(room)
    await harness.backend.end_room(room)  # ending twice is not an error

    if harness.endings is not None:
        assert harness.endings()[0] == room.name
        with pytest.raises(Refused):
            await harness.accept(unused, room)


async def test_a_forged_webhook_is_never_taken_for_an_event(harness: Harness) -> None:
    body = json.dumps(
        {
            "event": "participant_joined",
            "room": {"name": "sip-0123456789abcdef01234567"},
            "participant": {"identity": "p-1"},
        }
    ).encode()
    forged = {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzaGEyNTYiOiIifQ."}
    if harness.signed_webhooks:
        with pytest.raises(WebhookRejected):
            harness.backend.parse_webhook(forged, body)
    else:
        assert harness.backend.parse_webhook(forged, body) is None


async def test_credentials_are_issued_fresh_each_time(harness: Harness) -> None:
    room = make_room()
    person = make_person("guest")
    await harness.backend.ensure_room(room)
    before = utc_now()
    one = await harness.backend.issue(room, person)
    two = await harness.backend.issue(room, person)
    assert one.expires_at >= before and two.expires_at - one.expires_at < timedelta(seconds=2)
    await harness.accept(two, room)
