"""Rotating the signing keys while the service runs: nobody waiting is turned away.

After ``meetsvc keys rotate``, a process started afterwards signs lobby tickets with the new key.
A process that is still running from before must accept those tickets (the page may fetch its
ticket from one process and open its socket on another) without being restarted, and must keep
accepting the tickets it signed itself with the old key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import socketio

from meetsvc.core.signing import InvalidToken, SigningKeys, UnknownKey, create_key
from meetsvc.realtime.tickets import AUDIENCE, LobbyTickets
from meetsvc.services.waiting_room import LobbyPass
from tests.support.lobby import book, invite, participant_socket, ticket


def rotate(keys_dir: Path, database_url: str) -> None:
    """What an operator runs: ``meetsvc keys rotate`` against the same key folder."""
    config = keys_dir.parent / f"rotate-{os.getpid()}.toml"
    config.write_text(
        'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[security]\nkeys_dir = "{keys_dir}"\ncreate_missing_keys = false\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "meetsvc", "keys", "rotate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MEETSVC_CONFIG": str(config)},
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """A key folder of this test's own: rotating it must not touch the session's."""
    return tmp_path / "keys"


async def test_a_running_service_accepts_tickets_signed_with_a_key_rotated_in_after_it_started(world, keys_dir: Path):
    meeting = await book(world)
    invited = await invite(world, meeting["id"])
    old_ticket = await ticket(invited, unverified=True)
    old_kid = jwt.get_unverified_header(old_ticket)["kid"]

    rotate(keys_dir, world.service.settings.database.url)
    # A process started after the rotation (here: the keys as it would read them) signs the
    # same ticket with the new key (a development one, as the service under test is).
    restarted = SigningKeys.load(keys_dir / "signing", create_missing=False, development=True)
    assert restarted.active.kid != old_kid
    claims = jwt.decode(old_ticket, options={"verify_signature": False})
    new_ticket = restarted.sign(claims)
    assert jwt.get_unverified_header(new_ticket)["kid"] == restarted.active.kid

    socket = await participant_socket(world, new_ticket)
    try:
        assert (await socket.wait_for("state"))["state"] == "waiting"
    finally:
        await socket.close()
    # Its own older tickets still open the waiting room, and it now publishes both keys.
    socket = await participant_socket(world, old_ticket)
    await socket.wait_for("state")
    await socket.close()
    async with world.service.http.get("/.well-known/jwks.json") as answer:
        published = {key["kid"] for key in (await answer.json())["keys"]}
    assert published == {old_kid, restarted.active.kid}
    # And it signs with the new key from now on.
    assert jwt.get_unverified_header(await ticket(invited, unverified=True))["kid"] == restarted.active.kid
    await invited.close()


async def test_a_ticket_naming_a_key_that_is_not_ours_is_refused(world, tmp_path: Path):
    meeting = await book(world)
    invited = await invite(world, meeting["id"])
    claims = jwt.decode(await ticket(invited, unverified=True), options={"verify_signature": False})
    await invited.close()
    forged_key = create_key(tmp_path / "forger")
    forged = jwt.encode(claims, forged_key.private, algorithm="EdDSA", headers={"kid": forged_key.kid})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await participant_socket(world, forged)


def test_unknown_key_ids_make_the_ring_read_its_folder_at_most_once_per_interval(tmp_path: Path):
    folder = tmp_path / "signing"
    now = [1000.0]
    ring = SigningKeys.load(folder, create_missing=True, reread_seconds=10, clock=lambda: now[0])
    tickets = LobbyTickets(ring, issuer="https://sip.example.se", lifetime=timedelta(minutes=30))
    moment = datetime(2027, 1, 1, 9, tzinfo=UTC)
    lobby = LobbyPass("p-1", "m-1", "s-1", unverified=False)
    mine, _ = tickets.issue(lobby, now=moment, meeting_ends_at=moment + timedelta(hours=1))

    def signed_by(key) -> str:  # type: ignore[no-untyped-def]
        claims = jwt.decode(mine, options={"verify_signature": False}, audience=AUDIENCE)
        return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})

    # A made-up key id: one look at the folder, nothing new there, refused.
    stranger = create_key(tmp_path / "elsewhere")
    with pytest.raises(UnknownKey):
        tickets.verify(signed_by(stranger), now=moment)
    # A key rotated in a moment later is not looked for again until the interval has passed...
    rotated = create_key(folder)
    now[0] += 5
    with pytest.raises(InvalidToken):
        tickets.verify(signed_by(rotated), now=moment)
    # ...and then it is found, verifies, and signs.
    now[0] += 6
    assert tickets.verify(signed_by(rotated), now=moment) == lobby
    assert ring.active.kid == rotated.kid
    assert tickets.verify(mine, now=moment) == lobby
