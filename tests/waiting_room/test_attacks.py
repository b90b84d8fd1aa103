"""Attacks on the waiting room over its real interface: socket.io clients against a running server.

Each test is one thing an attacker tries. After each, two things hold: nothing changed (every
participant's state, the meetings' waiting-room settings, the number of audit entries), and
nothing leaked (the attacker received no other person's name, no organisation, no meeting
title, no other participant's id, nothing shaped like a token or a video credential).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from yarl import URL

from meetsvc.core.tokens import token_hash
from meetsvc.http.appkeys import ENGINE, SESSIONS, TICKETS
from meetsvc.services.sessions import COOKIE_NAME
from meetsvc.storage.tables import audit_log, browser_sessions, meetings, participants
from tests.support.lobby import (
    PERSONS,
    Invited,
    Socket,
    add_host,
    book,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    round_trip,
    ticket,
)
from tests.support.timing import WAIT_SECONDS

HOST_EVENTS = ["admit", "admit_all_matching", "deny", "message", "send_back", "remove", "configure", "end", "list"]

# Shapes that must never reach someone who is not meant to have them.
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
CREDENTIAL_WORDS = re.compile(r"join_url|credential|\btoken\b|\"token\"|https?://", re.IGNORECASE)


# The world's snapshot -------------------------------------------------------------------------


async def snapshot(world) -> dict[str, Any]:
    """Everything an attack could change: participants, the meetings' settings, the audit log."""
    async with world.service.app[ENGINE].connect() as connection:
        people = (
            await connection.execute(
                select(
                    participants.c.id,
                    participants.c.state,
                    participants.c.host_message,
                    participants.c.waiting_since,
                    participants.c.unverified,
                ).order_by(participants.c.id)
            )
        ).all()
        rooms = (
            await connection.execute(
                select(
                    meetings.c.id,
                    meetings.c.status,
                    meetings.c.locked,
                    meetings.c.admission_policy,
                    meetings.c.show_queue_position,
                ).order_by(meetings.c.id)
            )
        ).all()
        entries = (await connection.execute(select(func.count()).select_from(audit_log))).scalar_one()
    return {"participants": [tuple(r) for r in people], "meetings": [tuple(r) for r in rooms], "audit_entries": entries}


async def state_of(world, participant_id: str) -> str:
    async with world.service.app[ENGINE].connect() as connection:
        return (
            await connection.execute(select(participants.c.state).where(participants.c.id == participant_id))
        ).scalar_one()


async def settle(*sockets: Socket | Spy) -> None:
    """Whatever the server (wrongly) would have sent these sockets has arrived: a round trip on
    each proves it, where a pause would only make it likely."""
    for socket in sockets:
        await socket.round_trip()


# An attacker's client: records every event, and why a connection was refused -----------------


@dataclass
class Spy:
    client: socketio.AsyncClient
    namespace: str
    events: list[tuple[str, Any]] = field(default_factory=list)
    refusals: list[Any] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = WAIT_SECONDS) -> Any:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout):
            while True:
                for event, data in self.events:
                    if event == name and predicate(data):
                        return data
                self.arrived.clear()
                await self.arrived.wait()

    async def call(self, event: str, *args: Any, timeout: float = WAIT_SECONDS) -> Any:
        data: Any = tuple(args) if len(args) > 1 else (args[0] if args else {})
        return await self.client.call(event, data, namespace=self.namespace, timeout=timeout)

    async def round_trip(self) -> None:
        await round_trip(self.client, self.namespace, self.events)

    async def close(self) -> None:
        await self.client.disconnect()


def spy(namespace: str) -> Spy:
    watcher = Spy(socketio.AsyncClient(reconnection=False), namespace)

    def anything(event: str, *args: Any) -> None:
        watcher.events.append((event, args[0] if len(args) == 1 else list(args)))
        watcher.arrived.set()

    def refused(data: Any = None) -> None:
        watcher.refusals.append(data)

    def disconnected(*_: Any) -> None:
        watcher.gone.set()

    watcher.client.on("*", anything, namespace=namespace)
    watcher.client.on("connect_error", refused, namespace=namespace)
    watcher.client.on("disconnect", disconnected, namespace=namespace)
    return watcher


async def open_spy(world, namespace: str, *, auth: Any = None, headers: dict[str, str] | None = None) -> Spy:
    watcher = spy(namespace)
    await watcher.client.connect(
        world.service.base_url,
        namespaces=[namespace],
        auth=auth,
        headers=headers or {},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    return watcher


async def refused_spy(
    world,
    namespace: str,
    *,
    auth: Any = None,
    headers: dict[str, str] | None = None,
    wait_timeout: float = WAIT_SECONDS,
) -> Spy:
    """Try to connect; the connection must be refused."""
    watcher = spy(namespace)
    try:
        await watcher.client.connect(
            world.service.base_url,
            namespaces=[namespace],
            auth=auth,
            headers=headers or {},
            transports=["websocket"],
            wait_timeout=wait_timeout,
        )
    except socketio.exceptions.ConnectionError:
        refused = True
    else:
        refused = False
    finally:
        await watcher.client.disconnect()
    assert refused, f"{namespace} accepted the connection"
    return watcher


def assert_nothing_leaked(received: Any, forbidden: list[str], *, own_verified_name: str | None = None) -> None:
    """No other person's details, no meeting title, no id of others, nothing credential-shaped."""
    text = json.dumps(received, ensure_ascii=False, default=str)
    for word in filter(None, forbidden):
        assert word not in text, f"{word!r} reached the attacker: {text}"
    assert not JWT_SHAPE.search(text), f"a token reached the attacker: {text}"
    assert not CREDENTIAL_WORDS.search(text), f"something credential-like reached the attacker: {text}"
    for _, data in received if isinstance(received, list) else []:
        if isinstance(data, dict) and data.get("verified_name") is not None:
            assert data["verified_name"] == own_verified_name


# The scene: a meeting with a host, two others waiting, and the attacker ----------------------


@dataclass
class Person:
    invited: Invited
    name: str
    verified_name: str | None
    ticket: str = ""
    socket: Socket | None = None

    @property
    def id(self) -> str:
        return self.invited.participant_id

    def cookie(self, world) -> str:
        return self.invited.page.cookie_jar.filter_cookies(URL(world.service.base_url))[COOKIE_NAME].value


@dataclass
class Scene:
    meeting: dict[str, Any]
    host: Socket
    cookie: str
    attacker: Person
    victim: Person
    doctor: Person
    closers: list[Any] = field(default_factory=list)

    def forbidden(self, world) -> list[str]:
        """What the attacker (Erik Lindqvist, invited as Kim Andersson) must never learn."""
        return [
            "SIP-möte",
            self.victim.name,
            self.victim.verified_name or "",
            self.victim.id,
            self.doctor.name,
            self.doctor.verified_name or "",
            self.doctor.id,
            world.municipality.name,
            world.region.name,
            world.other_municipality.name,
            "Ledare",  # staff names
        ]


async def person(
    world,
    meeting_id: str,
    number: str | None,
    *,
    name: str,
    verified_name: str | None,
    role: str = "individual",
    organisation_id: str | None = None,
    connect: bool = True,
    identify_as: str | None = None,
) -> Person:
    """Invited under ``number``, identified as ``identify_as`` (the same person unless given)."""
    invited = await invite(
        world, meeting_id, name=name, personal_number=number, role=role, organisation_id=organisation_id
    )
    if number:
        await identify(world, invited, identify_as or number)
    someone = Person(invited, name, verified_name if number else None)
    someone.ticket = await ticket(invited, unverified=number is None)
    if connect:
        someone.socket = await participant_socket(world, someone.ticket)
        await someone.socket.wait_for("state")
    return someone


@pytest.fixture
async def scene(world):
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    victim = await person(world, meeting["id"], PERSONS[1], name="Alex Berg", verified_name="Karin Johansson")
    doctor = await person(
        world,
        meeting["id"],
        PERSONS[3],
        name="Doktor Öberg",
        verified_name="Per-Olof Öberg",
        role="region_staff",
        organisation_id=world.region.id,
    )
    attacker = await person(world, meeting["id"], PERSONS[0], name="Kim Andersson", verified_name="Erik Lindqvist")
    stage = Scene(meeting, host, cookie, attacker, victim, doctor)
    stage.closers += (
        [host] + [p.socket for p in (victim, doctor, attacker)] + [p.invited for p in (victim, doctor, attacker)]
    )
    yield stage
    for closer in stage.closers:
        await closer.close()


# A participant acting as a host ----------------------------------------------------------------


async def test_a_participant_cannot_use_any_host_event(world, scene):
    attacker = await open_spy(world, "/participant", auth={"ticket": scene.attacker.ticket})
    scene.closers.append(attacker)
    await attacker.wait_for("state")
    before = await snapshot(world)
    target = {"participant_id": scene.victim.id}
    payloads = {
        "admit": target,
        "admit_all_matching": {},
        "deny": {**target, "message": "Nej"},
        "message": {**target, "text": "Hej"},
        "send_back": target,
        "remove": target,
        "configure": {"admission_policy": "matching_staff", "locked": True},
        "end": {},
        "list": {},
    }
    for event in HOST_EVENTS:
        answer = await attacker.call(event, payloads[event])
        assert answer["ok"] is False and answer["error"] == "unknown-event", (event, answer)
        # and once more about the attacker themself: admitting oneself is no easier
        if "participant_id" in payloads[event]:
            answer = await attacker.call(event, {**payloads[event], "participant_id": scene.attacker.id})
            assert answer["ok"] is False, (event, answer)
    await settle(attacker, scene.host)
    assert len(attacker.of("error")) >= len(HOST_EVENTS)
    assert await snapshot(world) == before
    assert await state_of(world, scene.attacker.id) == "waiting"
    assert_nothing_leaked(attacker.events, scene.forbidden(world), own_verified_name="Erik Lindqvist")


async def test_a_client_sent_connect_or_disconnect_event_is_just_an_unknown_event(world, scene):
    """'connect' and 'disconnect' are the server's own events; a client naming them must not
    reach the connection handlers (which would re-run authentication with arguments the client
    chose, outside the handshake)."""
    attacker = await open_spy(world, "/participant", auth={"ticket": scene.attacker.ticket})
    scene.closers.append(attacker)
    await attacker.wait_for("state")
    before = await snapshot(world)
    for args in [({"HTTP_COOKIE": ""}, {"ticket": scene.attacker.ticket}), ("x", {"ticket": "garbage"}), ()]:
        answer = await attacker.call("connect", *args) if args else await attacker.call("connect")
        assert isinstance(answer, dict) and answer["ok"] is False and answer["error"] == "unknown-event", answer
    answer = await attacker.call("disconnect", "client namespace disconnect")
    assert isinstance(answer, dict) and answer["ok"] is False and answer["error"] == "unknown-event", answer
    assert attacker.client.connected and (await attacker.call("list"))["error"] == "unknown-event"
    host = await open_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
    )
    scene.closers.append(host)
    answer = await host.call(
        "connect", {"HTTP_COOKIE": f"{COOKIE_NAME}={scene.cookie}"}, {"meeting_id": scene.meeting["id"]}
    )
    assert isinstance(answer, dict) and answer["ok"] is False and answer["error"] == "unknown-event", answer
    await settle(attacker, host, scene.host)
    assert await snapshot(world) == before
    assert_nothing_leaked(attacker.events, scene.forbidden(world), own_verified_name="Erik Lindqvist")


async def test_a_participant_cannot_open_the_host_namespace(world, scene):
    before = await snapshot(world)
    meeting_id = scene.meeting["id"]
    tries = [
        {"auth": {"ticket": scene.attacker.ticket, "meeting_id": meeting_id}},
        {"auth": {"meeting_id": meeting_id}, "headers": {"Cookie": f"{COOKIE_NAME}={scene.attacker.cookie(world)}"}},
        {
            "auth": {"ticket": scene.attacker.ticket, "meeting_id": meeting_id},
            "headers": {"Cookie": f"{COOKIE_NAME}={scene.attacker.cookie(world)}"},
        },
    ]
    for attempt in tries:
        attacker = await refused_spy(world, "/host", **attempt)
        assert attacker.refusals, "the refusal reaches the client as connect_error"
        assert attacker.events == []
    await settle(scene.host, scene.attacker.socket)
    assert await snapshot(world) == before


# Tickets -----------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def hand_made(header: dict[str, Any], claims: dict[str, Any], sign=lambda signing_input: b"") -> str:  # type: ignore[no-untyped-def]
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def forge(world, real_ticket: str, kind: str) -> Any:
    """A ticket made from a real one's claims, altered as an attacker would."""
    keys = world.service.app[TICKETS].keys
    claims = claims_of(real_ticket)
    kid = keys.active.kid
    public = keys.active.public
    raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem_public = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def hs256(secret: bytes):  # type: ignore[no-untyped-def]
        return lambda signing_input: hmac.new(secret, signing_input, hashlib.sha256).digest()

    if kind == "untouched":
        return keys.sign(claims)
    if kind == "alg_none":
        return hand_made({"alg": "none", "typ": "JWT"}, claims)
    if kind == "alg_none_with_kid":
        return hand_made({"alg": "none", "typ": "JWT", "kid": kid}, claims)
    if kind == "hs256_raw_public_key":
        return hand_made({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, hs256(raw_public))
    if kind == "hs256_pem_public_key":
        return hand_made({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, hs256(pem_public))
    if kind == "wrong_audience":
        return keys.sign({**claims, "aud": "meetsvc:video"})
    if kind == "wrong_issuer":
        return keys.sign({**claims, "iss": "https://evil.example"})
    if kind == "no_audience":
        return keys.sign({k: v for k, v in claims.items() if k != "aud"})
    if kind == "not_yet_valid":
        return keys.sign({**claims, "nbf": claims["nbf"] + 3600})
    if kind == "unknown_kid":
        return jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "20990101000000-deadbeef"}
        )
    if kind == "other_key_under_our_kid":
        return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    if kind == "signature_of_another_ticket":
        head, _, _ = real_ticket.split(".")
        _, body, _ = keys.sign({**claims, "jti": "other"}).split(".")
        return f"{head}.{body}.{real_ticket.split('.')[2]}"
    if kind == "garbage":
        return "not-a-ticket.at.all"
    if kind == "empty":
        return ""
    if kind == "huge":
        return "a" * 100_000
    raise AssertionError(kind)


async def fresh_arrival(world) -> tuple[dict[str, Any], Person, list[Any]]:
    """A meeting with a host and one identified participant who has a ticket but has not arrived."""
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    someone = await person(
        world, meeting["id"], PERSONS[0], name="Kim Andersson", verified_name="Erik Lindqvist", connect=False
    )
    return meeting, someone, [host, someone.invited]


async def test_the_forging_helper_makes_working_tickets_when_nothing_is_altered(world):
    """The control for the forged-ticket tests: untouched claims, real key → the arrival happens."""
    _meeting, someone, closers = await fresh_arrival(world)
    try:
        socket = await participant_socket(world, forge(world, someone.ticket, "untouched"))
        closers.append(socket)
        assert (await socket.wait_for("state"))["state"] == "waiting"
        assert await state_of(world, someone.id) == "waiting"
    finally:
        for closer in closers:
            await closer.close()


FORGERIES = [
    "alg_none",
    "alg_none_with_kid",
    "hs256_raw_public_key",
    "hs256_pem_public_key",
    "wrong_audience",
    "wrong_issuer",
    "no_audience",
    "not_yet_valid",
    "unknown_kid",
    "other_key_under_our_kid",
    "signature_of_another_ticket",
    "garbage",
    "empty",
    "huge",
]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_a_forged_ticket_is_refused_at_connect(world, kind):
    _meeting, someone, closers = await fresh_arrival(world)
    try:
        before = await snapshot(world)
        attacker = await refused_spy(
            world,
            "/participant",
            auth={"ticket": forge(world, someone.ticket, kind)},
            wait_timeout=2 if kind == "huge" else WAIT_SECONDS,
        )
        assert attacker.events == []
        if kind != "huge":  # a handshake over the size limit is closed before any answer
            assert attacker.refusals
        await settle(closers[0])
        assert await snapshot(world) == before
        assert await state_of(world, someone.id) != "waiting"
    finally:
        for closer in closers:
            await closer.close()


@pytest.mark.parametrize(
    "auth", [None, {}, {"ticket": None}, {"ticket": 12345}, {"ticket": ["a", "b"]}, "just a string"]
)
async def test_no_ticket_is_refused_at_connect(world, auth):
    _meeting, _someone, closers = await fresh_arrival(world)
    try:
        before = await snapshot(world)
        attacker = await refused_spy(world, "/participant", auth=auth)
        assert attacker.refusals and attacker.events == []
        assert await snapshot(world) == before
    finally:
        for closer in closers:
            await closer.close()


async def test_an_expired_ticket_is_refused(world):
    _meeting, someone, closers = await fresh_arrival(world)
    try:
        expires = claims_of(someone.ticket)["exp"]
        world.service.clock.advance(seconds=expires - world.service.clock().timestamp() + 10)
        before = await snapshot(world)
        attacker = await refused_spy(world, "/participant", auth={"ticket": someone.ticket})
        assert attacker.refusals and attacker.events == []
        assert await snapshot(world) == before
        assert await state_of(world, someone.id) != "waiting"
    finally:
        for closer in closers:
            await closer.close()


async def test_a_ticket_is_bound_to_its_own_meeting(world, scene):
    # Meeting B, with the region's host, one participant of its own waiting.
    other = await book(world, hosts=[world.hosts[world.region.id]])
    host_b = await host_socket(world, await host_cookie(world, world.hosts[world.region.id]), other["id"])
    scene.closers.append(host_b)
    insider = await person(world, other["id"], PERSONS[2], name="Sam Nilsson", verified_name="Mohammed Al-Rashid")
    scene.closers += [insider.socket, insider.invited]
    await host_b.wait_for("participant", lambda e: e["participant_id"] == insider.id)
    before = await snapshot(world)

    # A correctly signed ticket naming the attacker but claiming meeting B opens nothing.
    keys = world.service.app[TICKETS].keys
    claims = claims_of(scene.attacker.ticket)
    for forged in (keys.sign({**claims, "mid": other["id"]}), keys.sign({**claims, "sub": insider.id})):
        attacker = await refused_spy(world, "/participant", auth={"ticket": forged})
        assert attacker.events == []
    await settle(host_b, scene.host)
    assert await snapshot(world) == before

    # With their real ticket the attacker is in A's waiting room only, and hears nothing of B.
    attacker = await open_spy(world, "/participant", auth={"ticket": scene.attacker.ticket})
    scene.closers.append(attacker)
    await attacker.wait_for("state")
    assert (await host_b.call("message", {"participant_id": insider.id, "text": "Hej Sam"}))["ok"] is True
    assert (await host_b.call("message", {"text": "Till alla i B"}))["ok"] is True
    assert (await host_b.call("configure", {"show_queue_position": True}))["ok"] is True
    assert (await host_b.call("admit", {"participant_id": insider.id}))["ok"] is True
    await insider.socket.wait_for("state", lambda d: d["state"] == "admitted")
    await settle(attacker, host_b, scene.host)
    listing = await host_b.call("list")
    assert [p["participant_id"] for p in listing["participants"]] == [insider.id]
    heard_by_b = json.dumps(host_b.events, ensure_ascii=False)
    assert scene.attacker.id not in heard_by_b and "Erik Lindqvist" not in heard_by_b
    assert all(data.get("message") in (None,) for event, data in attacker.events if event == "state")
    assert_nothing_leaked(
        attacker.events,
        [*scene.forbidden(world), insider.id, "Sam Nilsson", "Mohammed Al-Rashid", "Hej Sam", "Till alla i B"],
        own_verified_name="Erik Lindqvist",
    )


@pytest.mark.parametrize("decision", ["remove", "deny"])
async def test_removed_or_denied_stay_out_until_a_host_admits_again(world, scene, decision):
    attacker = scene.attacker
    assert (await scene.host.call(decision, {"participant_id": attacker.id}))["ok"] is True
    outcome = "removed" if decision == "remove" else "denied"
    await attacker.socket.wait_for("state", lambda d: d["state"] == outcome)
    await attacker.socket.close()
    before = await snapshot(world)
    for _ in range(2):
        again = await refused_spy(world, "/participant", auth={"ticket": attacker.ticket})
        assert again.refusals and again.events == []
    # Nor does a new ticket from the same, still verified, browser session.
    fresh = await ticket(attacker.invited)
    again = await refused_spy(world, "/participant", auth={"ticket": fresh})
    assert again.events == []
    await settle(scene.host)
    assert await snapshot(world) == before
    assert await state_of(world, attacker.id) == outcome

    # A new, explicit decision by the host: the same old ticket now connects, and it is admitted.
    assert (await scene.host.call("admit", {"participant_id": attacker.id}))["ok"] is True
    back = await open_spy(world, "/participant", auth={"ticket": attacker.ticket})
    scene.closers.append(back)
    assert (await back.wait_for("state"))["state"] == "admitted"
    assert await state_of(world, attacker.id) == "admitted"
    async with world.service.app[ENGINE].connect() as connection:
        trail = (
            await connection.execute(
                select(audit_log.c.action, audit_log.c.actor)
                .where(audit_log.c.subject_id == attacker.id, audit_log.c.action.like("participant.%"))
                .order_by(audit_log.c.seq)
            )
        ).all()
    assert [(a, actor.split(":")[0]) for a, actor in trail][-2:] == [
        (f"participant.{decision}", "staff"),
        ("participant.admit", "staff"),
    ]


# What a waiting participant hears ---------------------------------------------------------------


async def test_a_waiting_participant_hears_only_about_itself(world, scene):
    # A catch-all listener: every event on its namespace, whatever its name.
    listener = spy("/participant")
    await listener.client.connect(
        world.service.base_url,
        namespaces=["/participant"],
        auth={"ticket": scene.attacker.ticket},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    scene.closers.append(listener)
    await listener.wait_for("state")
    meeting_id = scene.meeting["id"]
    host = scene.host
    late = await person(world, meeting_id, PERSONS[5], name="Robin Ek", verified_name="Gunnar Åkesson")
    interpreter = await person(world, meeting_id, None, name="Tolk Tolksson", verified_name=None, role="interpreter")
    # Invited as one person, identified as another: the host sees a mismatch; nobody else does.
    stranger = await person(
        world, meeting_id, PERSONS[2], name="Fel Person", verified_name="Amina Yusuf", identify_as=PERSONS[4]
    )
    stranger_invited_as = PERSONS[2]
    scene.closers += [
        late.socket,
        late.invited,
        interpreter.socket,
        interpreter.invited,
        stranger.socket,
        stranger.invited,
    ]
    assert (await host.call("configure", {"show_queue_position": True}))["ok"] is True
    assert (await host.call("admit", {"participant_id": scene.victim.id}))["ok"] is True
    assert (await host.call("message", {"participant_id": scene.doctor.id, "text": "Hemligt till doktorn"}))[
        "ok"
    ] is True
    assert (await host.call("deny", {"participant_id": stranger.id, "message": "Nekad, Fel Person"}))["ok"] is True
    assert (await host.call("admit", {"participant_id": scene.doctor.id}))["ok"] is True
    assert (await host.call("send_back", {"participant_id": scene.victim.id}))["ok"] is True
    assert (await host.call("remove", {"participant_id": interpreter.id}))["ok"] is True
    assert (await host.call("message", {"participant_id": late.id, "text": "Robin, vänta lite"}))["ok"] is True
    # A last word to the listener itself: everything sent before it has been delivered.
    assert (await host.call("message", {"participant_id": scene.attacker.id, "text": "Slut"}))["ok"] is True
    await listener.wait_for("state", lambda d: d["message"] == "Slut")

    assert len(listener.events) >= 4  # its arrival, positions as others came and went, the last word
    assert {event for event, _ in listener.events} == {"state"}
    own_keys = {
        "state",
        "starts_at",
        "opens_at",
        "hosts_notified",
        "position",
        "message",
        "verified_name",
        "ended",
        "sent_back",
    }
    for _, data in listener.events:
        assert set(data) == own_keys
        assert data["state"] == "waiting"
        assert data["verified_name"] == "Erik Lindqvist"
        assert data["message"] in (None, "Slut")
    others = [late, interpreter, stranger, scene.victim, scene.doctor]
    forbidden = scene.forbidden(world) + [p.id for p in others] + [p.name for p in others]
    forbidden += [p.verified_name for p in others if p.verified_name]
    forbidden += ["Hemligt", "Nekad", "vänta lite", stranger_invited_as, "region_staff", "interpreter"]
    text = json.dumps(listener.events, ensure_ascii=False)
    for word in ("ticket", "jwt", "token"):
        assert word not in text.lower()
    assert_nothing_leaked(listener.events, forbidden, own_verified_name="Erik Lindqvist")


# Hosts reaching beyond their meeting --------------------------------------------------------------


async def test_a_host_cannot_open_another_meetings_host_namespace(world, scene):
    other = await book(world, hosts=[world.hosts[world.region.id]])
    before = await snapshot(world)
    for meeting_id in (other["id"], "00000000-0000-4000-8000-000000000000", "x" * 36):
        refused = await refused_spy(
            world, "/host", auth={"meeting_id": meeting_id}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
        )
        assert refused.events == []
    assert await snapshot(world) == before


async def test_a_host_cannot_act_on_another_meetings_participant(world, scene):
    other = await book(world, hosts=[world.hosts[world.region.id]])
    insider = await person(world, other["id"], PERSONS[2], name="Sam Nilsson", verified_name="Mohammed Al-Rashid")
    scene.closers += [insider.socket, insider.invited]
    before = await snapshot(world)
    target = {"participant_id": insider.id}
    for event, payload in [
        ("admit", target),
        ("deny", {**target, "message": "Nej"}),
        ("send_back", target),
        ("remove", target),
        ("message", {**target, "text": "Hej"}),
    ]:
        answer = await scene.host.call(event, payload)
        assert answer["ok"] is False and answer["error"] == "not-found", (event, answer)
    listing = await scene.host.call("list")
    assert insider.id not in {p["participant_id"] for p in listing["participants"]}
    await settle(scene.host, insider.socket)
    assert await snapshot(world) == before
    assert len(insider.socket.of("state")) == 1  # only its own arrival
    heard_by_a = json.dumps(scene.host.events, ensure_ascii=False)
    assert insider.id not in heard_by_a and "Mohammed Al-Rashid" not in heard_by_a and "Sam Nilsson" not in heard_by_a


# Bad input -------------------------------------------------------------------------------------


async def test_malformed_payloads_get_an_error_and_change_nothing(world, scene):
    host = await open_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
    )
    scene.closers.append(host)
    before = await snapshot(world)
    victim = scene.victim.id
    attempts: list[tuple[str, tuple[Any, ...], str]] = [
        ("message", ({"participant_id": victim, "text": "x" * 600},), "invalid"),
        ("deny", ({"participant_id": victim, "message": "x" * 600},), "invalid"),
        ("admit", ([victim],), "malformed"),
        ("admit", ([{"participant_id": victim}],), "malformed"),
        ("admit", (victim,), "malformed"),
        ("admit", (42,), "malformed"),
        ("admit", ({"participant_id": victim, "also": "this"},), "invalid"),
        ("configure", ({"locked": True, "role": "host"},), "invalid"),
        ("configure", ({"locked": "yes"},), "invalid"),
        ("configure", ({"admission_policy": "everyone"},), "invalid"),
        ("admit", ({"participant_id": "not-a-uuid"},), "invalid"),
        ("admit", ({"participant_id": victim.upper()},), "invalid"),
        ("admit", ({"participant_id": victim + "' OR '1'='1"},), "invalid"),
        ("admit", ({"participant_id": None},), "invalid"),
        ("admit", ({},), "invalid"),
        ("admit", ({"participant_id": victim}, {"participant_id": victim}), "malformed"),
        ("message", ({"participant_id": victim, "text": "Hej"}, "extra"), "malformed"),
        ("admit_everyone", ({},), "unknown-event"),
        ("__init__", ({},), "unknown-event"),
        ("_admit", ({"participant_id": victim},), "unknown-event"),
        ("on_admit", ({"participant_id": victim},), "unknown-event"),
        ("trigger_event", ("admit", {"participant_id": victim}), "unknown-event"),
    ]
    for event, args, code in attempts:
        errors_before = len(host.of("error"))
        answer = await host.call(event, *args)
        assert isinstance(answer, dict) and answer["ok"] is False and answer["error"] == code, (event, args, answer)
        await host.wait_for("error", lambda _, seen=errors_before: len(host.of("error")) > seen)
    await settle(host, scene.host)
    assert await snapshot(world) == before
    # The socket is still a working host socket after all that.
    assert (await host.call("list"))["ok"] is True


async def test_a_packet_over_the_size_limit_closes_that_connection(world, scene):
    limit = world.service.settings.realtime.max_message_bytes
    assert limit == 16384
    host = await open_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
    )
    attacker = await open_spy(world, "/participant", auth={"ticket": scene.attacker.ticket})
    scene.closers += [host, attacker]
    await attacker.wait_for("state")
    before = await snapshot(world)
    await host.client.emit(
        "message", {"participant_id": scene.victim.id, "text": "x" * (limit + 1024)}, namespace="/host"
    )
    await attacker.client.emit("leave", {"padding": "y" * (limit + 1024)}, namespace="/participant")
    async with asyncio.timeout(WAIT_SECONDS):
        await host.gone.wait()
        await attacker.gone.wait()
    await settle(scene.victim.socket, scene.host)
    assert await snapshot(world) == before
    assert await state_of(world, scene.attacker.id) == "waiting"
    assert not [d for e, d in scene.victim.socket.events if e == "state" and d.get("message")]
    # Everyone else's connection is untouched.
    assert (await scene.host.call("list"))["ok"] is True


async def test_a_foreign_origin_is_refused(world, scene):
    evil = {"Origin": "https://evil.example"}
    newcomer = await person(
        world, scene.meeting["id"], PERSONS[2], name="Sam Nilsson", verified_name="Mohammed Al-Rashid", connect=False
    )
    scene.closers.append(newcomer.invited)
    before = await snapshot(world)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await host_socket(world, scene.cookie, scene.meeting["id"], headers=evil)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await participant_socket(world, newcomer.ticket, headers=evil)
    await settle(scene.host, scene.attacker.socket)
    assert await snapshot(world) == before
    # Our own origin is welcome: the refusal above was the origin's doing.
    own = await participant_socket(world, newcomer.ticket, headers={"Origin": world.service.base_url})
    scene.closers.append(own)
    assert (await own.wait_for("state"))["state"] == "waiting"


async def test_staff_who_are_not_hosts_of_the_meeting_are_refused(world, scene):
    outsider = await add_host(world, "Nyfiken Kollega")
    cookie = await host_cookie(world, outsider)
    before = await snapshot(world)
    refused = await refused_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={cookie}"}
    )
    assert refused.events == []
    assert await snapshot(world) == before


async def test_a_signed_out_host_loses_access_on_the_next_event(world, scene):
    host = await open_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
    )
    scene.closers.append(host)
    assert (await host.call("list"))["ok"] is True
    async with world.service.app[ENGINE].connect() as connection:
        session_id = (
            await connection.execute(
                select(browser_sessions.c.id).where(browser_sessions.c.token_hash == token_hash(scene.cookie))
            )
        ).scalar_one()
    await world.service.app[SESSIONS].end(session_id)
    before = await snapshot(world)
    try:
        answer = await host.call("admit", {"participant_id": scene.victim.id}, timeout=2)
    except (
        socketio.exceptions.TimeoutError,
        socketio.exceptions.DisconnectedError,
        socketio.exceptions.BadNamespaceError,
    ):
        answer = None
    assert answer is None or answer["ok"] is False
    async with asyncio.timeout(WAIT_SECONDS):
        await host.gone.wait()
    await settle(scene.victim.socket, scene.host)
    assert await snapshot(world) == before
    assert await state_of(world, scene.victim.id) == "waiting"
    assert not host.client.connected or "/host" not in host.client.namespaces
    # Nor can it come back with the ended session.
    refused = await refused_spy(
        world, "/host", auth={"meeting_id": scene.meeting["id"]}, headers={"Cookie": f"{COOKIE_NAME}={scene.cookie}"}
    )
    assert refused.events == []
    assert await snapshot(world) == before
