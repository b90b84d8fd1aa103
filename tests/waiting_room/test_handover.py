"""Hand-over to the video backend happens only at admission, only to that participant, and
is undone when they are sent back, removed or the meeting ends."""

from __future__ import annotations

from sqlalchemy import select

from meetsvc.http.appkeys import COURIER, ENGINE
from meetsvc.storage.tables import audit_log
from meetsvc.video.base import VideoBackendError
from tests.support.lobby import (
    PERSONS,
    book,
    entry_of,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)


class RecordingBackend:
    """Wraps the configured backend and notes every call the service makes to it."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str | None]] = []

    async def ensure_room(self, room):  # type: ignore[no-untyped-def]
        self.calls.append(("ensure_room", None))
        return await self.inner.ensure_room(room)

    async def issue(self, room, person):  # type: ignore[no-untyped-def]
        self.calls.append(("issue", person.participant_id))
        return await self.inner.issue(room, person)

    async def revoke(self, room, participant_id):  # type: ignore[no-untyped-def]
        self.calls.append(("revoke", participant_id))
        return await self.inner.revoke(room, participant_id)

    async def end_room(self, room):  # type: ignore[no-untyped-def]
        self.calls.append(("end_room", None))
        return await self.inner.end_room(room)

    def parse_webhook(self, headers, body):  # type: ignore[no-untyped-def]
        return self.inner.parse_webhook(headers, body)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_credentials_exist_only_after_admission_and_only_for_that_participant(world):
    handover = world.service.app[COURIER]._handover
    spy = RecordingBackend(handover.backend)
    handover.backend = spy
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    people = []
    for person, name in ((PERSONS[0], "Kim"), (PERSONS[1], "Alex")):
        invited = await invite(world, meeting["id"], name=name, personal_number=person)
        await identify(world, invited, person)
        socket = await participant_socket(world, await ticket(invited))
        await socket.wait_for("state")
        people.append((invited, socket))
    (kim, kim_socket), (alex, alex_socket) = people
    try:
        # Waiting, messaged, the meeting locked and unlocked: no backend call, no credential.
        await host.call("message", {"text": "Strax"})
        await host.call("configure", {"locked": True})
        await host.call("configure", {"locked": False})
        await kim_socket.round_trip()
        await alex_socket.round_trip()
        assert spy.calls == []
        assert kim_socket.of("credential") == [] and alex_socket.of("credential") == []

        await host.call("admit", {"participant_id": kim.participant_id})
        credential = await kim_socket.wait_for("credential")
        assert credential["join_url"] and credential["expires_at"]
        kim_entry = await entry_of(world, kim.participant_id)
        assert ("issue", kim_entry) in spy.calls
        await alex_socket.round_trip()
        assert alex_socket.of("credential") == []  # only to the admitted one's own socket
        alex_entry = await entry_of(world, alex.participant_id)
        assert ("issue", alex_entry) not in spy.calls

        await host.call("send_back", {"participant_id": kim.participant_id})
        await kim_socket.wait_for("state", lambda d: d["state"] == "waiting" and kim_socket.of("credential"))
        assert ("revoke", kim_entry) in spy.calls

        await host.call("end")
        await kim_socket.wait_for("state", lambda d: d["state"] == "left")
        assert ("end_room", None) in spy.calls
    finally:
        for s in (host, kim_socket, alex_socket):
            await s.close()
        await kim.close()
        await alex.close()
    async with world.service.app[ENGINE].connect() as connection:
        actions = (
            (await connection.execute(select(audit_log.c.action).where(audit_log.c.action.like("video.%"))))
            .scalars()
            .all()
        )
    assert actions == ["video.credential_issued", "video.revoked", "video.room_ended"]


async def test_an_admitted_participant_reconnecting_gets_a_fresh_credential(world):
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    first = await participant_socket(world, await ticket(invited))
    try:
        await first.wait_for("state")
        await host.call("admit", {"participant_id": invited.participant_id})
        await first.wait_for("credential")
        await first.close()
        again = await participant_socket(world, await ticket(invited))
        assert (await again.wait_for("state"))["state"] == "admitted"
        assert (await again.wait_for("credential"))["join_url"]
        await again.close()
    finally:
        await host.close()
        await invited.close()


class RefusingOnce(RecordingBackend):
    """Refuses the first credential asked for one entry, as a backend that is briefly away."""

    def __init__(self, inner, refuse: set[str]) -> None:  # type: ignore[no-untyped-def]  # a test double wrapping any backend, as above
        super().__init__(inner)
        self.refuse = refuse

    async def issue(self, room, person):  # type: ignore[no-untyped-def]  # the backend Protocol types it
        if person.participant_id in self.refuse:
            self.refuse.discard(person.participant_id)
            self.calls.append(("refused", person.participant_id))
            raise VideoBackendError("away for a moment")
        return await super().issue(room, person)


async def test_admitting_several_at_once_hands_over_to_each_even_when_one_is_refused_first(world):
    """Credentials of one decision are issued and recorded together; the one the backend
    refused is tried again on its own and recorded once it is issued, never before."""
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    people = []
    for person, name in ((PERSONS[0], "Kim Andersson"), (PERSONS[1], "Alex Berg")):
        invited = await invite(world, meeting["id"], name=name, personal_number=person)
        await identify(world, invited, person)
        socket = await participant_socket(world, await ticket(invited))
        await socket.wait_for("state")
        people.append((invited, socket))
    (kim, kim_socket), (alex, alex_socket) = people
    alex_entry = await entry_of(world, alex.participant_id)
    handover = world.service.app[COURIER]._handover
    backend = handover.backend = RefusingOnce(handover.backend, {alex_entry})
    try:
        answer = await host.call("admit_all_matching")
        assert sorted(answer["admitted"]) == sorted([kim.participant_id, alex.participant_id])
        assert (await kim_socket.wait_for("credential"))["join_url"]
        assert (await alex_socket.wait_for("credential"))["join_url"]  # once tried again
        assert ("refused", alex_entry) in backend.calls and ("issue", alex_entry) in backend.calls
    finally:
        for s in (host, kim_socket, alex_socket):
            await s.close()
        await kim.close()
        await alex.close()
    async with world.service.app[ENGINE].connect() as connection:
        issued = (
            await connection.execute(
                select(audit_log.c.subject_id).where(audit_log.c.action == "video.credential_issued")
            )
        ).scalars()
        assert sorted(issued) == sorted([await entry_of(world, kim.participant_id), alex_entry])
