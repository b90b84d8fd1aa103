"""Signalling for the built-in video backend: only the admitted of one meeting reach each other."""

from __future__ import annotations

import pytest
import socketio

from tests.support.lobby import (
    PERSONS,
    Socket,
    _recorder,
    book,
    entry_of,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)
from tests.support.timing import WAIT_SECONDS


async def video_socket(world, token: str) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/video")
    _recorder(socket, ["peer_joined", "peer_left", "signal", "revoked", "error"])
    await socket.client.connect(
        world.service.base_url,
        namespaces=["/video"],
        auth={"token": token},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    return socket


async def admitted(world, host, meeting_id, person, name):
    invited = await invite(world, meeting_id, name=name, personal_number=person)
    await identify(world, invited, person)
    lobby = await participant_socket(world, await ticket(invited))
    await lobby.wait_for("state")
    await host.call("admit", {"participant_id": invited.participant_id})
    credential = await lobby.wait_for("credential")
    # The video knows a person by their entry (one person, one browser session, one invitation).
    return invited, lobby, credential["token"], await entry_of(world, invited.participant_id)


@pytest.fixture
async def two_inside(world):
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    kim = await admitted(world, host, meeting["id"], PERSONS[0], "Kim")
    alex = await admitted(world, host, meeting["id"], PERSONS[1], "Alex")
    yield meeting, host, kim, alex
    for s in (host, kim[1], alex[1]):
        await s.close()
    await kim[0].close()
    await alex[0].close()


async def test_peers_meet_and_signals_reach_only_the_addressee(world, two_inside):
    _meeting, _host, kim, alex = two_inside
    a = await video_socket(world, kim[2])
    b = await video_socket(world, alex[2])
    try:
        joined = await a.wait_for("peer_joined")
        assert joined == {"peer_id": alex[3], "name": "Karin Johansson"}
        answer = await b.client.call(
            "signal",
            {"to": kim[3], "data": {"description": {"type": "offer", "sdp": "v=0"}}},
            namespace="/video",
            timeout=WAIT_SECONDS,
        )
        assert answer == {"ok": True}
        got = await a.wait_for("signal")
        assert got["from"] == alex[3] and got["data"]["description"]["type"] == "offer"
        await b.round_trip()
        assert b.of("signal") == []  # the sender does not hear its own signal
        await b.close()
        assert (await a.wait_for("peer_left"))["peer_id"] == alex[3]
    finally:
        await a.close()


async def test_a_participant_sent_back_can_signal_no_more(world, two_inside):
    _meeting, host, kim, alex = two_inside
    a = await video_socket(world, kim[2])
    b = await video_socket(world, alex[2])
    try:
        await host.call("send_back", {"participant_id": alex[0].participant_id})
        await b.wait_for("revoked")
        assert (await a.wait_for("peer_left"))["peer_id"] == alex[3]
        if b.client.connected:
            answer = await b.client.call(
                "signal", {"to": kim[3], "data": {"x": 1}}, namespace="/video", timeout=WAIT_SECONDS
            )
            assert answer["ok"] is False
        await a.round_trip()
        assert a.of("signal") == []
        # The credential itself no longer opens the room.
        with pytest.raises(socketio.exceptions.ConnectionError):
            await video_socket(world, alex[2])
    finally:
        await a.close()
        await b.close()


async def test_forged_connect_and_disconnect_events_change_nothing(world, two_inside):
    _meeting, _host, kim, alex = two_inside
    a = await video_socket(world, kim[2])
    b = await video_socket(world, alex[2])
    try:
        await a.wait_for("peer_joined")
        answer = await b.client.call("disconnect", "client disconnect", namespace="/video", timeout=WAIT_SECONDS)
        assert answer["ok"] is False
        answer = await b.client.call("connect", {"token": alex[2]}, namespace="/video", timeout=WAIT_SECONDS)
        assert answer["ok"] is False
        await a.round_trip()
        assert a.of("peer_left") == [] and len(a.of("peer_joined")) == 1
    finally:
        await a.close()
        await b.close()


async def test_a_credential_for_nobody_admitted_is_refused(world):
    from meetsvc.http.appkeys import TICKETS

    keys = world.service.app[TICKETS].keys
    now = int(world.service.clock().timestamp())
    forged = keys.sign(
        {
            "iss": world.service.base_url,
            "aud": "meetsvc:video",
            "sub": "00000000-0000-4000-8000-000000000000",
            "mid": "00000000-0000-4000-8000-000000000001",
            "iat": now,
            "nbf": now,
            "exp": now + 60,
        }
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        await video_socket(world, forged)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await video_socket(world, "not-a-token")
