"""LiveKit: what goes over the wire to RoomService, the token as LiveKit reads it, webhooks.

Tokens and bearer tokens are decoded with LiveKit's own server SDK (``livekit-api``); request
bodies are parsed into LiveKit's protocol messages by the fake server (unknown fields refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import pytest_asyncio
from google.protobuf import json_format
from livekit.api import AccessToken, TokenVerifier, WebhookReceiver
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent as LiveKitEvent
from pydantic import ValidationError

from meetsvc.core.clock import utc_now
from meetsvc.video.base import VideoBackendRefused, VideoBackendUnavailable, WebhookRejected
from meetsvc.video.livekit import LiveKitBackend, LiveKitConfig
from tests.video.fake_livekit import FakeLiveKit
from tests.video.harness import LIVEKIT_KEY, LIVEKIT_SECRET, make_person, make_room


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLiveKit]:
    server = await FakeLiveKit(LIVEKIT_KEY, LIVEKIT_SECRET).start()
    yield server
    await server.close()


def config(url: str, /, **overrides: object) -> LiveKitConfig:
    values: dict[str, object] = {
        "url": url,
        "api_key": LIVEKIT_KEY,
        "api_secret": LIVEKIT_SECRET,
        "meet_url": "https://meet.example.se",
    }
    return LiveKitConfig.model_validate(values | overrides)


@pytest_asyncio.fixture
async def backend(fake: FakeLiveKit) -> AsyncIterator[LiveKitBackend]:
    made = LiveKitBackend(config(fake.url))
    yield made
    await made.aclose()


# -- RoomService ---------------------------------------------------------------------------


async def test_create_room_is_a_twirp_json_call_with_a_room_create_token(
    fake: FakeLiveKit, backend: LiveKitBackend
) -> None:
    room = make_room(max_participants=12)
    await backend.ensure_room(room)
    await backend.ensure_room(room)  # idempotent: LiveKit answers with the existing room

    call = fake.calls[0]
    assert call.method == "CreateRoom" and call.content_type == "application/json"
    assert call.body == {"name": room.name, "empty_timeout": 300, "max_participants": 12}
    assert call.claims.video is not None and call.claims.video.room_create and not call.claims.video.room_join
    assert fake.methods() == ["CreateRoom", "CreateRoom"] and list(fake.rooms) == [room.name]


async def test_service_tokens_live_a_minute_and_speak_for_no_participant(
    fake: FakeLiveKit, backend: LiveKitBackend
) -> None:
    await backend.ensure_room(make_room())
    raw = jwt.decode(fake.calls[0].bearer, options={"verify_signature": False})
    assert raw["iss"] == LIVEKIT_KEY and raw["exp"] - raw["nbf"] == 60
    assert "sub" not in raw and "name" not in raw


async def test_remove_participant_names_the_room_and_voids_earlier_tokens(
    fake: FakeLiveKit, backend: LiveKitBackend
) -> None:
    room, person = make_room(), make_person()
    await backend.ensure_room(room)
    credential = await backend.issue(room, person)
    fake.join(credential.token or "")

    assert await backend.revoke(room, person.participant_id) is True

    call = fake.calls[-1]
    assert call.method == "RemoveParticipant"
    assert call.body["room"] == room.name and call.body["identity"] == person.participant_id
    assert utc_now().timestamp() < call.body["revoke_token_ts"] <= utc_now().timestamp() + 2
    video = call.claims.video
    assert video is not None and video.room_admin and video.room == room.name and not video.room_create


async def test_a_person_let_back_in_later_can_join_again(fake: FakeLiveKit) -> None:
    offset = timedelta()
    backend = LiveKitBackend(config(fake.url), clock=lambda: utc_now() + offset)
    room, person = make_room(), make_person()
    await backend.ensure_room(room)
    fake.join((await backend.issue(room, person)).token or "")
    await backend.revoke(room, person.participant_id)

    offset = timedelta(seconds=2)  # admitted again a moment later
    again = await backend.issue(room, person)
    assert fake.join(again.token or "").identity == person.participant_id
    await backend.aclose()


async def test_removing_someone_not_in_the_room_revokes_nothing_there(
    fake: FakeLiveKit, backend: LiveKitBackend
) -> None:
    room = make_room()
    await backend.ensure_room(room)
    assert await backend.revoke(room, make_person().participant_id) is False


async def test_delete_room_uses_a_room_create_token_and_tolerates_a_missing_room(
    fake: FakeLiveKit, backend: LiveKitBackend
) -> None:
    room = make_room()
    await backend.ensure_room(room)
    await backend.end_room(room)
    await backend.end_room(room)
    deletes = [c for c in fake.calls if c.method == "DeleteRoom"]
    assert [c.body for c in deletes] == [{"room": room.name}] * 2
    assert all(c.claims.video is not None and c.claims.video.room_create for c in deletes)
    assert room.name not in fake.rooms


# -- the join token ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["moderator", "guest"])
async def test_the_join_token_reads_as_livekit_reads_it(backend: LiveKitBackend, role: str) -> None:
    room, person = make_room(), make_person(role, lifetime=90)
    credential = await backend.issue(room, person)

    claims = TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(credential.token or "")

    assert claims.identity == person.participant_id and claims.name == person.display_name
    video = claims.video
    assert video is not None
    assert (video.room, video.room_join, video.can_publish, video.can_subscribe, video.can_publish_data) == (
        room.name,
        True,
        True,
        True,
        True,
    )
    assert bool(video.room_admin) is (role == "moderator")
    assert not (video.room_create or video.room_list or video.room_record or video.can_update_own_metadata)
    raw = jwt.decode(credential.token or "", options={"verify_signature": False})
    assert raw["iss"] == LIVEKIT_KEY and raw["exp"] - raw["nbf"] == 90


async def test_a_token_from_another_secret_is_refused_by_livekit(fake: FakeLiveKit) -> None:
    forged = LiveKitBackend(config(fake.url, api_secret="another-secret-of-at-least-32-chars!"))
    with pytest.raises(VideoBackendRefused) as caught:
        await forged.ensure_room(make_room())
    assert caught.value.status == 401 and not caught.value.retryable
    await forged.aclose()


async def test_the_join_url_follows_the_template(fake: FakeLiveKit) -> None:
    default = LiveKitBackend(config("https://livekit.example.se"))
    url = urlsplit((await default.issue(make_room(), make_person())).join_url)
    assert (url.netloc, url.path, parse_qs(url.query)["liveKitUrl"]) == (
        "meet.example.se",
        "/custom",
        ["wss://livekit.example.se"],
    )

    own = LiveKitBackend(
        config(fake.url, client_url="wss://rtc.example.se", join_url_template="{meet_url}/room#{token}")
    )
    credential = await own.issue(make_room(), make_person())
    assert credential.join_url == f"https://meet.example.se/room#{credential.token}"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"join_url_template": "{meet_url}/custom"}, "must contain {token}"),
        ({"join_url_template": "{meet_url}/?t={token}&s={secret}"}, "only {meet_url}"),
        ({"client_url": "https://rtc.example.se"}, "wss://"),
        ({"api_secret_file": "/run/secrets/livekit"}, "exactly one of api_secret"),
        ({"url": "livekit.example.se"}, "url must start with https://"),
    ],
)
def test_bad_configuration_is_refused_with_its_reason(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        config("https://livekit.example.se", **overrides)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("code, status", [("unavailable", 503), ("internal", 500), ("resource_exhausted", 429)])
async def test_transient_errors_are_retryable(
    fake: FakeLiveKit, backend: LiveKitBackend, code: str, status: int
) -> None:
    fake.fail_next(code, headers={"Retry-After": "7"})
    with pytest.raises(VideoBackendUnavailable) as caught:
        await backend.ensure_room(make_room())
    assert caught.value.retryable and caught.value.status == status and caught.value.retry_after == 7.0


async def test_refusals_are_not_retryable(fake: FakeLiveKit, backend: LiveKitBackend) -> None:
    fake.fail_next("invalid_argument")
    with pytest.raises(VideoBackendRefused) as caught:
        await backend.ensure_room(make_room())
    assert not caught.value.retryable and caught.value.status == 400


async def test_an_unreachable_server_is_retryable() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    backend = LiveKitBackend(config(f"http://127.0.0.1:{port}", request_timeout_seconds=60))
    with pytest.raises(VideoBackendUnavailable):
        await backend.ensure_room(make_room())
    await backend.aclose()


# -- webhooks ------------------------------------------------------------------------------


def livekit_webhook(
    event: str, room: str, identity: str, *, secret: str = LIVEKIT_SECRET, ttl: timedelta = timedelta(minutes=5)
) -> tuple[bytes, str]:
    """A webhook as LiveKit's server sends it: protojson body, token with the body's sha256."""
    message = LiveKitEvent(
        event=event,
        room=Room(name=room),
        participant=ParticipantInfo(identity=identity, name="x"),
        id="EV_1",
        created_at=1_790_000_000,
    )
    body = json_format.MessageToJson(message).encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = AccessToken(LIVEKIT_KEY, secret).with_sha256(digest).with_ttl(ttl).to_jwt()
    return body, token


@pytest.mark.parametrize("event, kind", [("participant_joined", "joined"), ("participant_left", "left")])
async def test_a_signed_participant_webhook_becomes_an_event(backend: LiveKitBackend, event: str, kind: str) -> None:
    body, token = livekit_webhook(event, "sip-0123456789abcdef01234567", "p-1")
    # LiveKit's own receiver accepts exactly this request...
    assert WebhookReceiver(TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET)).receive(body.decode(), token).event == event
    # ...and so do we, with or without a Bearer prefix, whatever the header's case.
    for headers in ({"Authorization": token}, {"authorization": f"Bearer {token}"}):
        parsed = backend.parse_webhook(headers, body)
        assert parsed is not None
        assert (parsed.backend, parsed.kind, parsed.room_name, parsed.participant_id) == (
            "livekit",
            kind,
            "sip-0123456789abcdef01234567",
            "p-1",
        )
        assert parsed.at == datetime.fromtimestamp(1_790_000_000, UTC)


async def test_other_events_are_not_ours_to_report(backend: LiveKitBackend) -> None:
    body, token = livekit_webhook("room_started", "sip-0123456789abcdef01234567", "")
    assert backend.parse_webhook({"Authorization": token}, body) is None


@pytest.mark.parametrize("tamper", ["body", "secret", "expired", "missing", "garbage"])
async def test_a_webhook_whose_signature_does_not_hold_is_rejected(backend: LiveKitBackend, tamper: str) -> None:
    body, token = livekit_webhook(
        "participant_left",
        "sip-0123456789abcdef01234567",
        "p-1",
        secret="another-secret-of-at-least-32-chars!" if tamper == "secret" else LIVEKIT_SECRET,
        ttl=timedelta(minutes=-5) if tamper == "expired" else timedelta(minutes=5),
    )
    if tamper == "body":
        body = body.replace(b"p-1", b"p-2")
    headers = {} if tamper == "missing" else {"Authorization": "not.a.jwt" if tamper == "garbage" else token}
    with pytest.raises(WebhookRejected):
        backend.parse_webhook(headers, body)


@pytest.mark.parametrize(
    "event",
    [
        {"event": "participant_joined", "room": {"name": "sip-0123456789abcdef01234567"}},
        {"event": "participant_left", "room": "sip-0123456789abcdef01234567", "participant": {"identity": "p-1"}},
        {"event": "participant_left", "room": {"name": ""}, "participant": {"identity": "p-1"}},
    ],
)
async def test_a_signed_webhook_must_still_name_room_and_participant(
    backend: LiveKitBackend, event: dict[str, object]
) -> None:
    body = json.dumps(event).encode()
    token = (
        AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET)
        .with_sha256(base64.b64encode(hashlib.sha256(body).digest()).decode())
        .to_jwt()
    )
    with pytest.raises(WebhookRejected):
        backend.parse_webhook({"Authorization": token}, body)
