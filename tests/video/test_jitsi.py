"""Jitsi: the token's claims, and what Prosody's token plugin would refuse."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from meetsvc.core.clock import utc_now
from meetsvc.video.jitsi import FEATURES, JitsiBackend, JitsiConfig, asap_key_filename
from tests.video.harness import JITSI_SECRET, make_person, make_room, pem, public_pem
from tests.video.prosody import FakeAsapKeyServer, ProsodyTokenCheck, TokenRefused

BASE: dict[str, Any] = {"base_url": "https://meet.example.se", "app_id": "meetsvc", "domain": "meet.example.se"}


def hs256(**overrides: Any) -> JitsiBackend:
    return JitsiBackend(JitsiConfig.model_validate(BASE | {"app_secret": JITSI_SECRET} | overrides))


@pytest_asyncio.fixture
async def key_server() -> AsyncIterator[FakeAsapKeyServer]:
    server = await FakeAsapKeyServer().start()
    yield server
    await server.close()


@pytest.mark.parametrize("role", ["moderator", "guest"])
async def test_the_token_holds_what_prosody_reads_and_nothing_personal_beyond_the_name(role: str) -> None:
    room, person = make_room(), make_person(role, lifetime=120, name="Noor Hassan")
    credential = await hs256().issue(room, person)

    claims = jwt.decode(credential.token or "", JITSI_SECRET, algorithms=["HS256"], audience="jitsi")
    assert (claims["iss"], claims["aud"], claims["sub"], claims["room"]) == (
        "meetsvc",
        "jitsi",
        "meet.example.se",
        room.name,
    )
    assert claims["exp"] - claims["iat"] == 120 and claims["iat"] - claims["nbf"] == 10
    assert claims["context"]["user"] == {
        "id": person.participant_id,
        "name": "Noor Hassan",
        "moderator": role == "moderator",
        "affiliation": "owner" if role == "moderator" else "member",
        "lobby_bypass": True,
    }
    assert claims["context"]["features"] == FEATURES and not any(FEATURES.values())
    assert jwt.get_unverified_header(credential.token or "") == {"alg": "HS256", "typ": "JWT"}


async def test_rs256_tokens_name_the_key_prosody_fetches_by_its_sha256(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, key_server: FakeAsapKeyServer
) -> None:
    (tmp_path / "key.pem").write_text(pem(rsa_key))
    backend = JitsiBackend(
        JitsiConfig.model_validate(
            BASE | {"algorithm": "RS256", "private_key_file": tmp_path / "key.pem", "kid": "meetsvc/1"}
        )
    )
    key_server.publish("meetsvc/1", public_pem(rsa_key))
    credential = await backend.issue(make_room(), make_person())

    assert jwt.get_unverified_header(credential.token or "") == {"alg": "RS256", "kid": "meetsvc/1", "typ": "JWT"}
    await ProsodyTokenCheck("meetsvc", asap_key_server=key_server.url).verify(credential.token or "")
    assert key_server.fetched == [hashlib.sha256(b"meetsvc/1").hexdigest() + ".pem"] == [asap_key_filename("meetsvc/1")]


async def test_prosody_refuses_a_token_for_another_room_app_or_key(
    rsa_key: rsa.RSAPrivateKey, key_server: FakeAsapKeyServer
) -> None:
    room, other = make_room(), make_room()
    token = (await hs256().issue(room, make_person())).token or ""
    check = ProsodyTokenCheck(
        "meetsvc", app_secret=JITSI_SECRET, domain="meet.example.se", enable_domain_verification=True
    )
    claims = await check.verify(token)
    assert check.verify_room(claims, room.name) and not check.verify_room(claims, other.name)

    with pytest.raises(TokenRefused, match="issuer"):
        await ProsodyTokenCheck("another-app", app_secret=JITSI_SECRET).verify(token)
    with pytest.raises(TokenRefused):
        await ProsodyTokenCheck("meetsvc", app_secret="a-different-secret-of-32-characters!").verify(token)
    # A server that trusts only public keys will not take a shared-secret token.
    with pytest.raises(TokenRefused, match="kid"):
        await ProsodyTokenCheck("meetsvc", asap_key_server=key_server.url).verify(token)
    wrong_domain = hs256(domain="other.example.se")
    claims = await check.verify((await wrong_domain.issue(room, make_person())).token or "")
    assert not check.verify_room(claims, room.name)


async def test_prosody_refuses_an_expired_token() -> None:
    backend = JitsiBackend(
        JitsiConfig.model_validate(BASE | {"app_secret": JITSI_SECRET}), clock=lambda: utc_now() - timedelta(minutes=10)
    )
    token = (await backend.issue(make_room(), make_person(lifetime=60))).token or ""
    with pytest.raises(TokenRefused, match="Expired"):
        await ProsodyTokenCheck("meetsvc", app_secret=JITSI_SECRET).verify(token)


async def test_the_token_can_ride_in_the_fragment_for_recent_jitsi_meet() -> None:
    room = make_room()
    credential = await hs256(token_in_fragment=True).issue(room, make_person())
    url = urlsplit(credential.join_url)
    assert url.path == f"/{room.name}" and not url.query and parse_qs(url.fragment)["jwt"] == [credential.token]


async def test_jitsi_has_nothing_to_call_for_rooms_or_removals() -> None:
    backend, room = hs256(), make_room()
    await backend.ensure_room(room)
    assert await backend.revoke(room, "p-1") is False
    await backend.end_room(room)
    await backend.aclose()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({}, "exactly one of app_secret"),
        ({"app_secret": "s", "app_secret_file": "/run/secrets/jitsi"}, "exactly one of app_secret"),
        ({"app_secret": "s", "kid": "k"}, 'for algorithm = "RS256"'),
        ({"algorithm": "RS256", "private_key": "-----BEGIN"}, "needs kid"),
        ({"algorithm": "RS256", "private_key": "-----BEGIN", "kid": "k", "app_secret": "s"}, 'for algorithm = "HS256"'),
        ({"algorithm": "ES256", "app_secret": "s"}, "HS256"),
        ({"app_secret": "s", "base_url": "meet.example.se"}, "https://"),
        ({"app_secret": "s", "surprise": 1}, "Extra inputs"),
    ],
)
def test_bad_configuration_is_refused_with_its_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JitsiConfig.model_validate(BASE | overrides)


def test_an_rs256_key_must_be_rsa_of_at_least_2048_bits(tmp_path: Path) -> None:
    for name, key in [("ed", Ed25519PrivateKey.generate()), ("small", rsa.generate_private_key(65537, 1024))]:
        (tmp_path / name).write_text(pem(key))
        config = JitsiConfig.model_validate(
            BASE | {"algorithm": "RS256", "private_key_file": tmp_path / name, "kid": "k"}
        )
        with pytest.raises(ValueError, match="RSA key of at least 2048"):
            JitsiBackend(config)
