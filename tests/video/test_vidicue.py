"""The Vidicue-style adapter against the fake vendor API: signing, bodies, links and errors.

The fake (``fake_vidicue.py``) checks every request as the vendor's OpenAPI description says;
these tests look at what was sent and at how each of the vendor's answers is taken.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meetsvc.core.clock import utc_now
from meetsvc.video.base import JoinRequest, VideoBackendRefused, VideoBackendUnavailable
from meetsvc.video.vidicue import VidicueBackend, VidicueConfig, load_private_key
from tests.video.fake_vidicue import FakeVidicue
from tests.video.harness import VIDICUE_KEY, make_person, make_room, pem

Factory = Callable[..., VidicueBackend]


@pytest_asyncio.fixture
async def fake(vidicue_key: Ed25519PrivateKey) -> AsyncIterator[FakeVidicue]:
    server = await FakeVidicue(VIDICUE_KEY, vidicue_key.public_key(), "meetsvc").start()
    yield server
    await server.close()


@pytest_asyncio.fixture
async def make(fake: FakeVidicue, vidicue_key: Ed25519PrivateKey) -> AsyncIterator[Factory]:
    made: list[VidicueBackend] = []

    def factory(*, key: Any = vidicue_key, clock: Any = utc_now, **overrides: Any) -> VidicueBackend:
        values = {
            "api_url": fake.url,
            "api_key": VIDICUE_KEY,
            "api_secret": base64.b64encode(pem(key).encode()).decode(),
            "room_prefix": "meetsvc",
        } | overrides
        backend = VidicueBackend(VidicueConfig.model_validate(values), clock=clock)
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        await backend.aclose()


async def open_link(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, (await response.json() if response.status == 200 else await response.text())


# -- what is sent ----------------------------------------------------------------------------


async def test_a_token_request_carries_the_documented_fields(fake: FakeVidicue, make: Factory) -> None:
    backend = make()
    room, person = make_room(max_participants=9), make_person("moderator", name="Lars Ek")
    await backend.issue(room, person)

    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/api/token")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "roomId": f"meetsvc:{room.name}",
        "roomName": "SIP-möte",
        "userId": person.participant_id,
        "role": "moderator",
        "useLobby": False,
        "estimatedNumberOfParticipants": 9,
        "invalidateOnProperLeave": True,
        "userData": {"name": "Lars Ek"},
        "roomLock": {"enabled": True, "isActive": True, "mayBypass": True},
        "clientOptions": {"disableRecording": True, "disableNPS": True, "clearInvalidations": True},
    }


async def test_every_request_is_signed_with_key_nonce_and_bearer(fake: FakeVidicue, make: Factory) -> None:
    backend = make()
    room, person = make_room(), make_person()
    await backend.issue(room, person)
    await backend.revoke(room, person.participant_id)
    await backend.end_room(room)

    assert [r.path for r in fake.requests] == [
        "/api/token",
        f"/api/room/meetsvc:{room.name}/{person.participant_id}/invalidate",
        f"/api/room/meetsvc:{room.name}/invalidate",
    ]
    now = utc_now().timestamp()
    for request in fake.requests:
        assert request.method == "POST"
        assert request.headers["X-Vidicue-Key"] == VIDICUE_KEY
        assert abs(int(request.headers["X-Vidicue-Nonce"]) - now) <= 2
        assert request.headers["Authorization"].startswith("Bearer ")
        bytes.fromhex(request.headers["Authorization"].removeprefix("Bearer "))
    # Invalidations have no body, and say no content type.
    assert [(r.body, "Content-Type" in r.headers) for r in fake.requests[1:]] == [("", False), ("", False)]


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ec"])
async def test_each_kind_of_integration_key_signs_acceptably(fake: FakeVidicue, make: Factory, kind: str) -> None:
    key: Any = {
        "ed25519": Ed25519PrivateKey.generate,
        "rsa": lambda: rsa.generate_private_key(65537, 2048),
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
    }[kind]()
    fake.public_key = key.public_key()
    credential = await make(key=key).issue(make_room(), make_person())
    assert (await open_link(credential.join_url))[0] == 200


async def test_the_secret_may_be_a_pem_base64_of_a_pem_or_a_file(
    fake: FakeVidicue, vidicue_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    text = pem(vidicue_key)
    for secret in (text, base64.b64encode(text.encode()).decode()):
        assert load_private_key(secret).public_key() == vidicue_key.public_key()
    as_file = tmp_path / "vidicue.key"
    as_file.write_text(base64.b64encode(text.encode()).decode() + "\n")
    config = VidicueConfig(api_url=fake.url, api_key=VIDICUE_KEY, api_secret_file=as_file, room_prefix="meetsvc")
    backend = VidicueBackend(config)
    assert (await open_link((await backend.issue(make_room(), make_person())).join_url))[0] == 200
    await backend.aclose()
    with pytest.raises(ValueError, match="neither a PEM key"):
        load_private_key("not base64 at all!")


# -- the links ---------------------------------------------------------------------------------


async def test_a_link_works_once_and_for_a_minute(fake: FakeVidicue, make: Factory) -> None:
    backend = make()
    room = make_room()
    first = await backend.issue(room, make_person())
    assert (await open_link(first.join_url))[0] == 200
    assert (await open_link(first.join_url))[0] == 410

    late = await backend.issue(room, make_person())
    real = fake.clock
    fake.clock = lambda: real() + 61
    assert (await open_link(late.join_url))[0] == 410


async def test_a_revoked_person_is_kicked_and_a_new_admission_lets_them_back(fake: FakeVidicue, make: Factory) -> None:
    backend = make()
    room, person = make_room(), make_person()
    assert (await open_link((await backend.issue(room, person)).join_url))[0] == 200
    assert person.participant_id in fake.rooms[f"meetsvc:{room.name}"].inside

    assert await backend.revoke(room, person.participant_id) is True
    assert person.participant_id not in fake.rooms[f"meetsvc:{room.name}"].inside

    status, seat = await open_link((await backend.issue(room, person)).join_url)
    assert status == 200 and seat["userId"] == person.participant_id


async def test_without_the_room_lock_nobody_is_asked_to_bypass_it(fake: FakeVidicue, make: Factory) -> None:
    await make(room_lock=False, invalidate_on_leave=False).issue(make_room(), make_person())
    body = fake.requests[-1].json()
    assert body["roomLock"] == {"enabled": False, "isActive": False, "mayBypass": False}
    assert body["invalidateOnProperLeave"] is False


async def test_unknown_rooms_need_no_invalidation(fake: FakeVidicue, make: Factory) -> None:
    backend, room = make(), make_room()
    assert await backend.revoke(room, make_person().participant_id) is True
    await backend.end_room(room)
    assert [r.path.endswith("/invalidate") for r in fake.requests] == [True, True]


async def test_an_id_the_vendor_could_not_take_is_refused_before_any_call(fake: FakeVidicue, make: Factory) -> None:
    backend = make()
    with pytest.raises(VideoBackendRefused):
        await backend.issue(make_room(), JoinRequest("anna@example.se", "Anna", "guest", 60))
    assert fake.requests == []


# -- the vendor's answers ----------------------------------------------------------------------


async def test_a_wrong_key_is_unauthorized_and_not_retried(fake: FakeVidicue, make: Factory) -> None:
    with pytest.raises(VideoBackendRefused) as caught:
        await make(key=Ed25519PrivateKey.generate()).issue(make_room(), make_person())
    assert caught.value.status == 401 and not caught.value.retryable


async def test_a_clock_far_off_makes_the_nonce_unacceptable(fake: FakeVidicue, make: Factory) -> None:
    with pytest.raises(VideoBackendRefused) as caught:
        await make(clock=lambda: utc_now() + timedelta(minutes=10)).issue(make_room(), make_person())
    assert caught.value.status == 401


async def test_another_integrations_prefix_is_a_bad_request(fake: FakeVidicue, make: Factory) -> None:
    with pytest.raises(VideoBackendRefused) as caught:
        await make(room_prefix="someoneelse").issue(make_room(), make_person())
    assert caught.value.status == 400


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_overload_and_server_errors_are_retryable(fake: FakeVidicue, make: Factory, status: int) -> None:
    fake.fail_next(status, headers={"Retry-After": "3"})
    with pytest.raises(VideoBackendUnavailable) as caught:
        await make().issue(make_room(), make_person())
    assert caught.value.retryable and caught.value.status == status and caught.value.retry_after == 3.0


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_refusals_are_not_retryable(fake: FakeVidicue, make: Factory, status: int) -> None:
    fake.fail_next(status)
    with pytest.raises(VideoBackendRefused) as caught:
        await make().issue(make_room(), make_person())
    assert not caught.value.retryable and caught.value.status == status


async def test_an_answer_without_a_url_is_not_taken_as_a_link(fake: FakeVidicue, make: Factory) -> None:
    fake.fail_next(200)
    with pytest.raises(VideoBackendUnavailable):
        await make().issue(make_room(), make_person())


async def test_an_unreachable_vendor_is_retryable(vidicue_key: Ed25519PrivateKey) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    config = VidicueConfig(
        api_url=f"http://127.0.0.1:{port}",
        api_key="k",
        api_secret=pem(vidicue_key),
        room_prefix="meetsvc",
        request_timeout_seconds=60,
    )
    backend = VidicueBackend(config)
    with pytest.raises(VideoBackendUnavailable):
        await backend.revoke(make_room(), "p-1")
    await backend.aclose()
