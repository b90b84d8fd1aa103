"""Each video adapter beside the thing that checks its credentials, for the contract suite.

For every backend ``build_harness`` makes the adapter and the smallest real counterpart that
judges its credentials the way the backend does:

* builtin — the service's own Ed25519 ``KeySet``, verifying as ``meetsvc.realtime.video`` does;
* jitsi-HS256 / jitsi-RS256 — Prosody's token checks, RS256 fetching the key from a fake
  ASAP key server by ``kid``;
* livekit — a fake LiveKit server on loopback (Twirp RoomService + join), checked with
  LiveKit's own ``livekit-api`` SDK;
* vidicue — a fake of the vendor's token API on loopback, built from its OpenAPI description.

``Seat`` is what the backend would let a person do with a credential: which room, as whom,
seen by others under which name, with moderator rights or not, until when.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meetsvc.core.clock import utc_now
from meetsvc.core.signing import KeySet
from meetsvc.video.base import JoinCredential, JoinRequest, RoomSpec, VideoBackend, derive_room_name
from meetsvc.video.builtin import AUDIENCE, BuiltinBackend, BuiltinConfig
from meetsvc.video.jitsi import JitsiBackend, JitsiConfig
from meetsvc.video.livekit import LiveKitBackend, LiveKitConfig
from meetsvc.video.vidicue import VidicueBackend, VidicueConfig
from tests.video.fake_livekit import FakeLiveKit, JoinRefused
from tests.video.fake_vidicue import FakeVidicue
from tests.video.prosody import FakeAsapKeyServer, ProsodyTokenCheck, TokenRefused

ISSUER = "https://meetsvc.example.se"
ROOM_KEY = b"k" * 32
LIVEKIT_KEY, LIVEKIT_SECRET = "APIexampleKey", "livekit-secret-of-at-least-32-characters!"
JITSI_SECRET = "jitsi-app-secret-of-32-characters-or-more"
VIDICUE_KEY = "integration-api-key"


class Refused(Exception):
    """The backend would not seat the holder of this credential."""


@dataclass(frozen=True)
class Seat:
    room: str
    participant_id: str
    display_name: str
    moderator: bool
    expires_at: float


def make_room(meeting_id: str | None = None, *, max_participants: int = 8) -> RoomSpec:
    meeting_id = meeting_id or str(uuid.uuid4())
    now = utc_now()
    return RoomSpec(meeting_id, derive_room_name(meeting_id, ROOM_KEY), max_participants, now, now + timedelta(hours=1))


def make_person(role: str = "guest", *, lifetime: int = 120, name: str = "Åsa Öberg-Lind") -> JoinRequest:
    return JoinRequest(str(uuid.uuid4()), name, role, lifetime)  # type: ignore[arg-type]


@dataclass
class Harness:
    kind: str
    backend: VideoBackend
    max_lifetime: int
    revocable: bool
    accept: Callable[[JoinCredential, RoomSpec], Awaitable[Seat]]
    # What the backend itself recorded (a fake's view), or None where nothing is called.
    revocations: Callable[[], list[tuple[str, str]]] | None = None
    endings: Callable[[], list[str]] | None = None
    backend_room_names: Callable[[], list[str]] = list
    # A backend that fixes every credential's life itself, whatever is asked (Vidicue: a minute).
    fixed_lifetime: int | None = None
    # The backend sends signed webhooks (the others report none).
    signed_webhooks: bool = False
    close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


BACKENDS = ["builtin", "jitsi-HS256", "jitsi-RS256", "livekit", "vidicue"]


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- one harness per backend ----------------------------------------------------------------


def builtin_harness(keys: KeySet) -> Harness:
    def verify(token: str) -> dict[str, Any]:
        return keys.verify(token, audience=AUDIENCE, issuer=ISSUER, now=utc_now())

    backend = BuiltinBackend(
        keys.sign, verify, issuer=ISSUER, base_url=ISSUER, config=BuiltinConfig(max_lifetime_seconds=300)
    )

    async def accept(credential: JoinCredential, room: RoomSpec) -> Seat:
        url = urlsplit(credential.join_url)
        assert f"{url.scheme}://{url.netloc}" == ISSUER and url.path == f"/video/{room.name}" and not url.query
        token = parse_qs(url.fragment)["token"][0]
        assert token == credential.token
        try:
            claims = backend.verify(token)
        except Exception as exc:
            raise Refused(str(exc)) from exc
        if claims.get("mid") != room.meeting_id:
            raise Refused("credential for another meeting")
        return Seat(
            url.path.rsplit("/", 1)[1], claims["sub"], claims["name"], claims["role"] == "moderator", claims["exp"]
        )

    return Harness("builtin", backend, 300, True, accept)


async def jitsi_harness(algorithm: str, rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> Harness:
    base = "https://meet.example.se"
    common: dict[str, Any] = {
        "base_url": base,
        "app_id": "meetsvc",
        "domain": "meet.example.se",
        "max_lifetime_seconds": 240,
    }
    closers: list[Callable[[], Awaitable[None]]] = []
    if algorithm == "HS256":
        config = JitsiConfig(**common, app_secret=JITSI_SECRET)
        check = ProsodyTokenCheck(
            "meetsvc",
            app_secret=JITSI_SECRET,
            accepted_audiences=("jitsi",),
            domain="meet.example.se",
            enable_domain_verification=True,
        )
    else:
        key_file = tmp_path / "jitsi-asap.pem"
        key_file.write_text(pem(rsa_key))
        keys = await FakeAsapKeyServer().start()
        keys.publish("meetsvc/2026-01", public_pem(rsa_key))
        closers.append(keys.close)
        config = JitsiConfig(**common, algorithm="RS256", private_key_file=key_file, kid="meetsvc/2026-01")
        check = ProsodyTokenCheck(
            "meetsvc",
            asap_key_server=keys.url,
            accepted_audiences=("jitsi",),
            domain="meet.example.se",
            enable_domain_verification=True,
        )
    backend = JitsiBackend(config)

    async def accept(credential: JoinCredential, room: RoomSpec) -> Seat:
        url = urlsplit(credential.join_url)
        assert f"{url.scheme}://{url.netloc}" == base
        token = parse_qs(url.query)["jwt"][0]
        assert token == credential.token
        try:
            claims = await check.verify(token)
        except TokenRefused as exc:
            raise Refused(str(exc)) from exc
        joined = unquote(url.path.lstrip("/")).lower()
        if not check.verify_room(claims, joined):
            raise Refused("token is for another room")
        user = claims["context"]["user"]
        return Seat(joined, user["id"], user["name"], user["moderator"] is True, claims["exp"])

    return Harness(f"jitsi-{algorithm}", backend, 240, False, accept, close=closers)


async def livekit_harness() -> Harness:
    fake = await FakeLiveKit(LIVEKIT_KEY, LIVEKIT_SECRET).start()
    config = LiveKitConfig(
        url=fake.url,
        api_key=LIVEKIT_KEY,
        api_secret=LIVEKIT_SECRET,
        meet_url="https://meet.example.se",
        max_lifetime_seconds=180,
    )
    backend = LiveKitBackend(config)

    async def accept(credential: JoinCredential, room: RoomSpec) -> Seat:
        url = urlsplit(credential.join_url)
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://meet.example.se/custom"
        query = parse_qs(url.query)
        assert query["liveKitUrl"] == [config.websocket_url] and query["token"] == [credential.token]
        try:
            claims = fake.join(query["token"][0])
        except JoinRefused as exc:
            raise Refused(str(exc)) from exc
        assert claims.video is not None
        exp = _jwt_claim(query["token"][0], "exp")
        return Seat(claims.video.room, claims.identity, claims.name, bool(claims.video.room_admin), exp)

    return Harness(
        "livekit",
        backend,
        180,
        True,
        accept,
        revocations=lambda: [
            (c.body["room"], c.body["identity"]) for c in fake.calls if c.method == "RemoveParticipant"
        ],
        endings=lambda: [c.body["room"] for c in fake.calls if c.method == "DeleteRoom"],
        backend_room_names=lambda: [c.body["name"] for c in fake.calls if c.method == "CreateRoom"],
        close=[backend.aclose, fake.close],
        signed_webhooks=True,
    )


async def vidicue_harness(key: Ed25519PrivateKey) -> Harness:
    fake = await FakeVidicue(VIDICUE_KEY, key.public_key(), "meetsvc").start()
    secret = base64.b64encode(pem(key).encode()).decode()
    config = VidicueConfig(api_url=fake.url, api_key=VIDICUE_KEY, api_secret=secret, room_prefix="meetsvc")
    backend = VidicueBackend(config)
    session = aiohttp.ClientSession()

    async def accept(credential: JoinCredential, room: RoomSpec) -> Seat:
        assert credential.token is None and credential.join_url.startswith(fake.url + "/join/")
        async with session.get(credential.join_url) as response:
            if response.status != 200:
                raise Refused(f"{response.status} {await response.text()}")
            seat = await response.json()
        if seat["waiting"]:
            raise Refused("held in the vendor's waiting room")
        prefix, _, name = seat["roomId"].partition(":")
        assert prefix == "meetsvc"
        return Seat(name, seat["userId"], seat["name"], seat["role"] == "moderator", seat["expiresAt"])

    return Harness(
        "vidicue",
        backend,
        60,
        True,
        accept,
        revocations=lambda: [(room.partition(":")[2], user) for room, user in fake.invalidated_users],
        endings=lambda: [room.partition(":")[2] for room in fake.invalidated_rooms],
        backend_room_names=lambda: (
            [r.json()["roomId"] for r in fake.requests if r.path == "/api/token"]
            + [r.json().get("roomName", "") for r in fake.requests if r.path == "/api/token"]
        ),
        close=[backend.aclose, session.close, fake.close],
        fixed_lifetime=60,
    )


def _jwt_claim(token: str, name: str) -> Any:
    return jwt.decode(token, options={"verify_signature": False})[name]


def seconds_from_now(moment: datetime | float) -> float:
    value = moment.timestamp() if isinstance(moment, datetime) else moment
    return value - datetime.now(UTC).timestamp()


async def build_harness(
    kind: str, *, service_keys: KeySet, rsa_key: rsa.RSAPrivateKey, vidicue_key: Ed25519PrivateKey, tmp_path: Path
) -> Harness:
    if kind == "builtin":
        return builtin_harness(service_keys)
    if kind.startswith("jitsi"):
        return await jitsi_harness(kind.split("-")[1], rsa_key, tmp_path)
    if kind == "livekit":
        return await livekit_harness()
    return await vidicue_harness(vidicue_key)
