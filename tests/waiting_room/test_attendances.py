"""One invitation, several browsers: admission belongs to an entry (one person, one browser
session, one invitation), never to the link.

Real socket.io clients against a real server with the BankID simulator, on SQLite and on
PostgreSQL. The clients here obey nothing: they keep listening for every event on every
namespace, so whatever the server sends them is seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import socketio
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE, SOCKETS
from meetsvc.realtime.rooms import PARTICIPANT_NS, VIDEO_NS
from meetsvc.storage.tables import attendances, audit_log, browser_sessions
from tests.support.lobby import (
    PERSONS,
    Invited,
    Socket,
    _recorder,
    book,
    close_and_see_it_gone,
    csrf_of,
    entry_of,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

GENUINE, ATTACKER = PERSONS[0], PERSONS[1]


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    """On SQLite and on PostgreSQL (the package's conftest keeps to SQLite)."""
    running = await start_service(make_settings(database_url, keys_dir), clock)
    yield running
    await running.close()


GENUINE_NAME, ATTACKER_NAME = "Erik Lindqvist", "Karin Johansson"


async def open_again(world, invited: Invited) -> Invited:
    """The same invitation link opened in another browser (a forwarded mail, a second device)."""
    page = aiohttp.ClientSession(base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with page.post(invited.link.replace(world.service.base_url, "")) as response:
        csrf = csrf_of(await response.text())
    return Invited(invited.participant_id, invited.link, page, csrf)


def _catch_all(socket: Socket) -> None:
    """Record every event on the socket's namespace, whatever its name."""

    async def anything(event: str, *data: Any) -> None:
        socket.events.append((event, data[0] if data else None))
        socket.arrived.set()

    socket.client.on("*", anything, namespace=socket.namespace)


async def listening_socket(world, ticket_: str) -> Socket:
    """A participant socket that ignores every instruction and records everything it hears."""
    socket = await participant_socket(world, ticket_)
    _catch_all(socket)
    return socket


async def raw_video_socket(world, token: str) -> Socket:
    socket = Socket(socketio.AsyncClient(reconnection=False), "/video")
    _recorder(socket, ["peer_joined", "peer_left", "signal", "revoked", "error"])
    _catch_all(socket)
    await socket.client.connect(
        world.service.base_url,
        namespaces=["/video"],
        auth={"token": token},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    return socket


async def in_the_room(world, invited: Invited, person: str) -> Socket:
    await identify(world, invited, person)
    socket = await listening_socket(world, await ticket(invited))
    await socket.wait_for("state", lambda s: s["state"] == "waiting")
    return socket


async def cut_off_by_server(world, socket: Socket) -> None:
    """Wait until the *server* has dropped this socket, which itself never asked to leave."""
    manager = world.service.app[SOCKETS].manager
    sid = socket.client.get_sid(socket.namespace)
    async with asyncio.timeout(WAIT_SECONDS):
        while sid is not None and sid in manager.rooms.get(socket.namespace, {}).get(None, {}):
            await asyncio.sleep(0.01)


async def heard_after(
    socket: Socket, mark: int, name: str, predicate: Callable[[Any], bool] = lambda data: True
) -> Any:
    """The first ``name`` event after the first ``mark`` events that satisfies ``predicate``."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            for event, data in socket.events[mark:]:
                if event == name and predicate(data):
                    return data
            socket.arrived.clear()
            await socket.arrived.wait()


def entries_of(listing: dict[str, Any], participant_id: str) -> list[dict[str, Any]]:
    return [e for e in listing["participants"] if e["participant_id"] == participant_id]


def heard_text(socket: Socket) -> str:
    return json.dumps(socket.events, ensure_ascii=False, default=str)


@pytest.fixture
async def room(world):
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    invited = await invite(world, meeting["id"], personal_number=GENUINE)
    opened: list[Any] = [host, invited]
    yield meeting, host, invited, opened
    for thing in opened:
        if isinstance(thing, Socket):
            await thing.close()
        else:
            await thing.close()


@pytest.mark.parametrize("attacker_first", [True, False], ids=["attacker-first", "genuine-first"])
async def test_a_second_person_on_the_same_link_is_a_second_entry_and_only_the_admitted_one_gets_in(
    world, room, attacker_first
):
    meeting, host, invited, opened = room
    second = await open_again(world, invited)
    opened.append(second)
    attacker_page, genuine_page = (invited, second) if attacker_first else (second, invited)
    order = [(attacker_page, ATTACKER), (genuine_page, GENUINE)]
    if not attacker_first:
        order.reverse()
    sockets = {}
    for page, person in order:
        sockets[person] = await in_the_room(world, page, person)
        opened.append(sockets[person])
    attacker, genuine = sockets[ATTACKER], sockets[GENUINE]

    # The host sees two entries, each with its own verified name and badge; the later one is
    # marked plainly as a second person on this invitation. Nothing was relabelled.
    listing = await host.call("list")
    seen = {e["verified_name"]: e for e in entries_of(listing, invited.participant_id)}
    assert set(seen) == {GENUINE_NAME, ATTACKER_NAME}
    assert seen[GENUINE_NAME]["matches_invitation"] is True
    assert seen[ATTACKER_NAME]["matches_invitation"] is False
    later = ATTACKER_NAME if not attacker_first else GENUINE_NAME
    earlier = GENUINE_NAME if later == ATTACKER_NAME else ATTACKER_NAME
    assert seen[later]["second_person"] is True and seen[earlier]["second_person"] is False
    assert all(e["state"] == "waiting" for e in seen.values())

    # Naming the invitation alone is not enough when two people opened it.
    refused = await host.call("admit", {"participant_id": invited.participant_id})
    assert refused["error"] == "entry-ambiguous"
    # "Admit all who match" never decides between two people on one link.
    await host.call("admit_all_matching")
    await attacker.round_trip()
    assert attacker.of("credential") == []

    genuine_entry = seen[GENUINE_NAME]["attendance_id"]
    answer = await host.call("admit", {"participant_id": invited.participant_id, "attendance_id": genuine_entry})
    assert answer["ok"] is True, answer
    await genuine.wait_for("credential")
    await attacker.round_trip()
    # The credential, and every notice of the decision, went to the admitted person's sockets only.
    assert attacker.of("credential") == []
    assert {s["state"] for s in attacker.of("state")} == {"waiting"}
    assert GENUINE_NAME not in heard_text(attacker)
    assert ATTACKER_NAME not in heard_text(genuine)
    # The attacker's own pages show the attacker's own name, never the genuine person's.
    async with attacker_page.page.get("/m") as response:
        page = await response.text()
    assert ATTACKER_NAME in page and GENUINE_NAME not in page
    async with attacker_page.page.get("/lobby") as response:
        page = await response.text()
    assert ATTACKER_NAME in page and GENUINE_NAME not in page

    after = {e["verified_name"]: e for e in entries_of(await host.call("list"), invited.participant_id)}
    assert after[GENUINE_NAME]["state"] == "admitted" and after[ATTACKER_NAME]["state"] == "waiting"

    # The host removes the attacker's entry: the genuine person stays in.
    answer = await host.call(
        "remove", {"participant_id": invited.participant_id, "attendance_id": seen[ATTACKER_NAME]["attendance_id"]}
    )
    assert answer["ok"] is True
    await attacker.wait_for("state", lambda s: s["state"] == "removed")
    await genuine.round_trip()
    assert {s["state"] for s in genuine.of("state")} <= {"waiting", "admitted"}

    async with world.service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.action, audit_log.c.details).where(audit_log.c.meeting_id == meeting["id"])
            )
        ).all()
    bound = [json.loads(d) for a, d in rows if a == "attendance.bound"]
    assert len(bound) == 2 and [b["second_person"] for b in bound] == [False, True]
    admits = [json.loads(d) for a, d in rows if a == "participant.admit"]
    assert [a["attendance"] for a in admits] == [genuine_entry]


async def test_the_same_person_on_a_second_device_takes_over_and_the_first_is_closed(world, room):
    _meeting, host, invited, opened = room
    first = await in_the_room(world, invited, GENUINE)
    opened.append(first)
    phone = await open_again(world, invited)
    opened.append(phone)
    await identify(world, phone, GENUINE)
    ended = await first.wait_for("ended")
    assert ended == {"reason": "replaced"}
    await cut_off_by_server(world, first)
    # The old browser's pages say why, and it gets no ticket.
    async with invited.page.get("/m") as response:
        assert response.status == 410
        assert "annan enhet" in await response.text()
    async with invited.page.post("/lobby/ticket", headers={"X-CSRF-Token": invited.csrf}) as response:
        assert 400 <= response.status < 500
    newer = await listening_socket(world, await ticket(phone))
    opened.append(newer)
    await newer.wait_for("state", lambda s: s["state"] == "waiting")
    listing = entries_of(await host.call("list"), invited.participant_id)
    assert [(e["verified_name"], e["second_person"]) for e in listing] == [(GENUINE_NAME, False)]


async def _revoke(world, meeting_id: str, participant_id: str) -> None:
    async with world.service.http.delete(
        f"/api/v1/meetings/{meeting_id}/participants/{participant_id}/invitation",
        headers=world.auth(world.municipality),
    ) as response:
        assert response.status < 300, await response.text()


async def _reissue(world, meeting_id: str, participant_id: str) -> None:
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/participants/{participant_id}/invitation",
        headers=world.auth(world.municipality),
    ) as response:
        assert response.status < 300, await response.text()


async def _remove(world, meeting_id: str, participant_id: str) -> None:
    async with world.service.http.delete(
        f"/api/v1/meetings/{meeting_id}/participants/{participant_id}", headers=world.auth(world.municipality)
    ) as response:
        assert response.status < 300, await response.text()


async def _cancel(world, meeting_id: str, participant_id: str) -> None:
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/cancel", headers=world.auth(world.municipality)
    ) as response:
        assert response.status < 300, await response.text()


ENDINGS = {
    "link_revoked": (_revoke, "dragits tillbaka"),
    "link_reissued": (_reissue, "ny länk"),
    "participant_removed": (_remove, "deltagarlista"),
    "meeting_cancelled": (_cancel, "inställt"),
}


@pytest.mark.parametrize("reason", list(ENDINGS))
async def test_ending_what_a_link_opened_closes_every_session_and_socket_at_once(world, room, reason):
    meeting, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    answer = await host.call("admit", {"participant_id": invited.participant_id})
    assert answer["ok"] is True
    credential = await lobby.wait_for("credential")
    video = await raw_video_socket(world, credential["token"])
    opened.append(video)
    old_ticket = await ticket(invited)

    action, words = ENDINGS[reason]
    await action(world, meeting["id"], invited.participant_id)

    assert await lobby.wait_for("ended") == {"reason": reason}
    for socket in (lobby, video):
        await cut_off_by_server(world, socket)
    # The page says why; no ticket; the old ticket connects nothing; the credential opens nothing.
    async with invited.page.get("/m") as response:
        assert response.status == 410
        assert words in await response.text()
    async with invited.page.get("/lobby") as response:
        assert response.status == 410
    async with invited.page.post("/lobby/ticket", headers={"X-CSRF-Token": invited.csrf}) as response:
        assert 400 <= response.status < 500
    with pytest.raises(socketio.exceptions.ConnectionError):
        await participant_socket(world, old_ticket)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await raw_video_socket(world, credential["token"])
    async with world.service.app[ENGINE].connect() as connection:
        sessions = (
            await connection.execute(
                select(browser_sessions.c.end_reason).where(browser_sessions.c.participant_id == invited.participant_id)
            )
        ).scalars()
        assert set(sessions) == {reason}
        ends = (await connection.execute(select(attendances.c.end_reason))).scalars().all()
        assert ends == [reason]


@pytest.mark.parametrize("decision", ["send_back", "remove"])
async def test_a_video_client_that_ignores_revoked_is_cut_off_by_the_server(world, room, decision):
    meeting, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    await host.call("admit", {"participant_id": invited.participant_id})
    credential = await lobby.wait_for("credential")
    stubborn = await raw_video_socket(world, credential["token"])
    opened.append(stubborn)

    answer = await host.call(decision, {"participant_id": invited.participant_id})
    assert answer["ok"] is True
    # Whatever the client does with `revoked`, the server takes it out of the media.
    await cut_off_by_server(world, stubborn)
    # Someone admitted afterwards joins; the cut-off client hears nothing of it.
    mark = len(stubborn.events)
    other = await invite(world, meeting["id"], name="Alex Berg", personal_number=PERSONS[2])
    opened.append(other)
    other_lobby = await in_the_room(world, other, PERSONS[2])
    opened.append(other_lobby)
    await host.call("admit", {"participant_id": other.participant_id})
    other_credential = await other_lobby.wait_for("credential")
    other_video = await raw_video_socket(world, other_credential["token"])
    opened.append(other_video)
    await other_video.round_trip()
    assert [e for e, _ in stubborn.events[mark:]] == []
    assert "Alex" not in heard_text(stubborn) and PERSONS[2] not in heard_text(stubborn)


@dataclass
class OneConnection:
    """One socket.io client on the lobby and the video namespaces at once, multiplexed over one
    engine.io connection as the JS client's Manager does. Each namespace records everything it
    hears (``revoked`` and ``ended`` included: it obeys none of them), and notes when the
    server disconnects it."""

    client: socketio.AsyncClient
    lobby: Socket
    video: Socket
    dropped: dict[str, asyncio.Event]

    async def close(self) -> None:
        await self.client.disconnect()


async def on_one_connection(world, ticket_: str, token: str) -> OneConnection:
    """python-socketio sends the same ``auth`` in the CONNECT packet of every namespace (it reads
    the value, or calls the callable, once per connection and passes it no namespace), so one
    dict carries both: ``/participant`` reads its lobby ticket from ``ticket``, ``/video`` its
    credential from ``token``, and each ignores the other's key."""
    client = socketio.AsyncClient(reconnection=False)
    lobby, video = Socket(client, PARTICIPANT_NS), Socket(client, VIDEO_NS)
    dropped = {PARTICIPANT_NS: asyncio.Event(), VIDEO_NS: asyncio.Event()}
    for socket in (lobby, video):
        _catch_all(socket)
        client.on("disconnect", lambda *_reason, _ns=socket.namespace: dropped[_ns].set(), namespace=socket.namespace)
    await client.connect(
        world.service.base_url,
        namespaces=[PARTICIPANT_NS, VIDEO_NS],
        auth={"ticket": ticket_, "token": token},
        transports=["websocket"],
        wait_timeout=WAIT_SECONDS,
    )
    assert client.get_sid(PARTICIPANT_NS) and client.get_sid(VIDEO_NS)
    return OneConnection(client, lobby, video, dropped)


async def dropped_by_server(world, connection: OneConnection, namespace: str, sid: str) -> None:
    """The server disconnected this namespace (the client never asked to leave): the client
    was told, and the server holds no socket of that id on the namespace."""
    manager = world.service.app[SOCKETS].manager
    async with asyncio.timeout(WAIT_SECONDS):
        await connection.dropped[namespace].wait()
        while sid in manager.rooms.get(namespace, {}).get(None, {}):
            await asyncio.sleep(0.01)
    assert namespace not in connection.client.namespaces


async def _send_back(world, host: Socket, meeting_id: str, participant_id: str) -> None:
    assert (await host.call("send_back", {"participant_id": participant_id}))["ok"] is True


async def _host_removes(world, host: Socket, meeting_id: str, participant_id: str) -> None:
    assert (await host.call("remove", {"participant_id": participant_id}))["ok"] is True


OUT_OF_THE_MEETING = {
    "send_back": (_send_back, "waiting"),
    "remove": (_host_removes, "removed"),
    # An ended entry keeps the state it ended in; its line says it ended, and why.
    "link_revoked": (lambda world, _host, *ids: _revoke(world, *ids), "in_meeting"),
    "link_reissued": (lambda world, _host, *ids: _reissue(world, *ids), "in_meeting"),
}


@pytest.mark.parametrize("decision", list(OUT_OF_THE_MEETING))
async def test_one_connection_on_the_lobby_and_the_video_is_cut_out_and_hears_nothing_of_others(world, room, decision):
    meeting, host, invited, opened = room
    # The person waits, is let in, and their page is handed the credential; the page reloads
    # and opens both namespaces over one connection, with its ticket and that credential.
    first = await in_the_room(world, invited, GENUINE)
    assert (await host.call("admit", {"participant_id": invited.participant_id}))["ok"] is True
    credential = await first.wait_for("credential")
    await close_and_see_it_gone(world, first)
    both = await on_one_connection(world, await ticket(invited), credential["token"])
    opened.append(both)
    lobby, video = both.lobby, both.video
    entry = await entry_of(world, invited.participant_id)
    await lobby.wait_for("credential")  # a page of someone inside that reconnects gets one again
    await host.wait_for("participant", lambda e: e["attendance_id"] == entry and e["presence"] == "in_meeting")
    video_sid = both.client.get_sid(VIDEO_NS)
    lobby_sid = both.client.get_sid(PARTICIPANT_NS)
    await lobby.round_trip()
    lobby_mark, video_mark = len(lobby.events), len(video.events)

    action, state = OUT_OF_THE_MEETING[decision]
    await action(world, host, meeting["id"], invited.participant_id)

    # The server takes this connection out of the media, whatever the client does with it.
    await dropped_by_server(world, both, VIDEO_NS, video_sid)
    assert [e for e, _ in video.events[video_mark:]] in (["revoked", "peer_left"], ["revoked"])
    ended = decision.startswith("link_")
    if ended:
        # An ended session loses the lobby too: the connection is gone altogether.
        assert await lobby.wait_for("ended") == {"reason": decision}
        await dropped_by_server(world, both, PARTICIPANT_NS, lobby_sid)
        assert not both.client.connected
    else:
        await lobby.wait_for("state", lambda s: s["state"] == state)
        await lobby.round_trip()
        assert PARTICIPANT_NS in both.client.namespaces
    lobby_after, video_after = len(lobby.events), len(video.events)

    # Someone else is let in and joins the video.
    other = await invite(world, meeting["id"], name="Alex Berg", personal_number=PERSONS[2])
    opened.append(other)
    other_lobby = await in_the_room(world, other, PERSONS[2])
    opened.append(other_lobby)
    assert (await host.call("admit", {"participant_id": other.participant_id}))["ok"] is True
    other_credential = await other_lobby.wait_for("credential")
    other_video = await raw_video_socket(world, other_credential["token"])
    opened.append(other_video)
    await other_video.round_trip()
    other_entry = await entry_of(world, other.participant_id)
    listing = await host.call("list")
    (other_line,) = entries_of(listing, other.participant_id)
    assert other_line["presence"] == "in_meeting" and other_line["verified_name"]

    if not ended:
        # One connection carries both namespaces in order: once the lobby's answer is here,
        # whatever the server sent before it on either namespace has arrived.
        await lobby.round_trip()
    # Nothing at all on the video; on the lobby nothing new, and nothing ever naming them.
    assert video.events[video_after:] == []
    assert lobby.events[lobby_after:] == []
    heard = heard_text(lobby) + heard_text(video)
    for trace in (
        "Alex",
        "Berg",
        other_line["verified_name"],
        other.participant_id,
        other_entry,
        PERSONS[2],
    ):
        assert trace not in heard, trace

    # And nothing else changed for this person: no new credential, no way back in by the old
    # credential or (once removed or ended) by a ticket, and the host's list says the same.
    assert [e for e, _ in lobby.events[lobby_mark:]].count("credential") == 0
    with pytest.raises(socketio.exceptions.ConnectionError):
        await raw_video_socket(world, credential["token"])
    if ended:
        async with invited.page.post("/lobby/ticket", headers={"X-CSRF-Token": invited.csrf}) as response:
            assert 400 <= response.status < 500
    elif decision == "remove":
        with pytest.raises(socketio.exceptions.ConnectionError):
            await participant_socket(world, await ticket(invited))
    (line,) = [e for e in entries_of(listing, invited.participant_id) if e["attendance_id"] == entry]
    assert line["state"] == state and line["ended"] == (decision if ended else None)
    assert line["presence"] == ("ended" if ended else state)
    async with world.service.app[ENGINE].connect() as connection:
        admits = (
            await connection.execute(select(audit_log.c.details).where(audit_log.c.action == "participant.admit"))
        ).scalars()
        assert [json.loads(d)["attendance"] for d in admits] == [entry, other_entry]


async def test_send_back_returns_the_person_to_the_waiting_room_with_the_hosts_reason(world, room):
    _meeting, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    await host.call("admit", {"participant_id": invited.participant_id})
    await lobby.wait_for("credential")
    answer = await host.call("send_back", {"participant_id": invited.participant_id, "message": "Ett ögonblick"})
    assert answer["ok"] is True
    back = await lobby.wait_for("state", lambda s: s["state"] == "waiting" and s["message"])
    assert back["message"] == "Ett ögonblick"
    entry = entries_of(await host.call("list"), invited.participant_id)[0]
    assert entry["state"] == "waiting" and entry["presence"] == "waiting"
    # Admitting again reaches the same page, with a fresh credential.
    before = len(lobby.of("credential"))
    await host.call("admit", {"participant_id": invited.participant_id})
    await lobby.wait_for("credential", lambda c: len(lobby.of("credential")) > before)


async def test_ending_the_meeting_closes_the_hosts_video_too(world, room):
    _meeting, host, _invited, opened = room
    _recorder(host, ["credential"])
    answer = await host.call("join_video")
    assert answer["ok"] is True
    token = (await host.wait_for("credential"))["token"]
    video = await raw_video_socket(world, token)
    opened.append(video)
    await host.call("end")
    await cut_off_by_server(world, video)
    listing = await host.call("list")
    assert listing["meeting"]["status"] == "ended"
    refused = await host.call("join_video")
    assert refused["ok"] is False and refused["error"] == "waiting-room-closed"
    with pytest.raises(socketio.exceptions.ConnectionError):
        await raw_video_socket(world, token)


async def test_presence_a_closed_tab_is_no_longer_waiting(world, room):
    _meeting, host, invited, _opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    entry = entries_of(await host.call("list"), invited.participant_id)[0]
    assert entry["presence"] == "waiting"
    await lobby.close()
    lost = await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "connection_lost"
    )
    assert lost["connection_lost_at"]
    # Within the grace it may come back; after it, the host sees the person gone.
    world.service.clock.advance(seconds=11)
    entry = entries_of(await host.call("list"), invited.participant_id)[0]
    assert entry["presence"] == "gone" and entry["state"] == "waiting"


async def test_an_arrival_at_a_locked_meeting_knocks_and_moves_on_when_unlocked(world, room):
    _meeting, host, invited, opened = room
    await host.call("configure", {"locked": True})
    await identify(world, invited, GENUINE)
    lobby = await listening_socket(world, await ticket(invited))
    opened.append(lobby)
    await lobby.wait_for("state", lambda s: s["state"] == "locked")
    knocking = await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "knocking"
    )
    assert knocking["verified_name"] == GENUINE_NAME
    await host.call("configure", {"locked": False})
    await lobby.wait_for("opened")
    # The page arrives again by itself (as lobby.js does on "opened").
    await lobby.call("arrive")
    await lobby.wait_for("state", lambda s: s["state"] == "waiting")


async def test_a_console_opened_again_shows_who_is_knocking_with_the_way_to_let_them_in(world, room):
    _meeting, host, invited, opened = room
    await host.call("configure", {"locked": True})
    await identify(world, invited, GENUINE)
    lobby = await listening_socket(world, await ticket(invited))
    opened.append(lobby)
    await lobby.wait_for("state", lambda s: s["state"] == "locked")
    heard = await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "knocking"
    )
    # The leader's console reloads: its list says what the live notice said.
    (listed,) = entries_of(await host.call("list"), invited.participant_id)
    assert (listed["state"], listed["presence"]) == (heard["state"], heard["presence"]) == ("knocking", "knocking")
    answer = await host.call(
        "admit", {"participant_id": invited.participant_id, "attendance_id": listed["attendance_id"]}
    )
    assert answer["ok"] is True, answer
    await lobby.wait_for("state", lambda s: s["state"] == "admitted")


async def test_in_the_meeting_is_what_the_video_sockets_say(world, room):
    _, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    await host.call("admit", {"participant_id": invited.participant_id})
    credential = await lobby.wait_for("credential")
    entry = entries_of(await host.call("list"), invited.participant_id)[0]
    assert (entry["state"], entry["presence"]) == ("admitted", "joining")
    video = await raw_video_socket(world, credential["token"])
    inside = await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "in_meeting"
    )
    assert inside["state"] == "in_meeting"
    await video.close()
    await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "left_video"
    )
    # Joining again needs no decision and no eID: the lobby page still holds its way in.
    mark = len(host.events)
    again = await raw_video_socket(world, credential["token"])
    opened.append(again)
    await heard_after(
        host,
        mark,
        "participant",
        lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "in_meeting",
    )
    async with world.service.app[ENGINE].connect() as connection:
        actions = (
            await connection.execute(select(audit_log.c.action).where(audit_log.c.action.like("attendance.video%")))
        ).scalars()
        assert list(actions) == ["attendance.video_joined", "attendance.video_left", "attendance.video_joined"]


async def test_reopening_the_link_in_the_same_browser_needs_no_eid_again(world, room):
    _, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    async with invited.page.post(invited.link.replace(world.service.base_url, "")) as response:
        page = await response.text()
    assert response.url.path == "/m"
    assert GENUINE_NAME in page  # identified already: straight on to the waiting room
    # Still one entry, still waiting: the same person in the same browser.
    listing = entries_of(await host.call("list"), invited.participant_id)
    assert [(e["state"], e["second_person"]) for e in listing] == [("waiting", False)]
    await ticket(invited)


async def test_after_leaving_the_person_can_come_back_through_the_waiting_room(world, room):
    _, host, invited, opened = room
    lobby = await in_the_room(world, invited, GENUINE)
    opened.append(lobby)
    await host.call("admit", {"participant_id": invited.participant_id})
    await lobby.wait_for("credential")
    assert (await lobby.call("leave"))["ok"] is True
    await lobby.wait_for("state", lambda s: s["state"] == "left")
    left = entries_of(await host.call("list"), invited.participant_id)[0]
    assert (left["state"], left["presence"]) == ("left", "left")
    page_mark, host_mark = len(lobby.events), len(host.events)
    assert (await lobby.call("arrive"))["ok"] is True
    await heard_after(lobby, page_mark, "state", lambda s: s["state"] == "waiting")
    back = await heard_after(
        host,
        host_mark,
        "participant",
        lambda e: e["participant_id"] == invited.participant_id and e["state"] == "waiting",
    )
    assert back["presence"] == "waiting"


async def test_a_host_may_let_in_someone_knocking_at_a_locked_meeting(world, room):
    _, host, invited, opened = room
    await host.call("configure", {"locked": True})
    await identify(world, invited, GENUINE)
    lobby = await listening_socket(world, await ticket(invited))
    opened.append(lobby)
    await lobby.wait_for("state", lambda s: s["state"] == "locked")
    knocking = await host.wait_for(
        "participant", lambda e: e["participant_id"] == invited.participant_id and e["presence"] == "knocking"
    )
    answer = await host.call(
        "admit", {"participant_id": invited.participant_id, "attendance_id": knocking["attendance_id"]}
    )
    assert answer["ok"] is True, answer
    await lobby.wait_for("credential")
    await lobby.wait_for("state", lambda s: s["state"] == "admitted")
