"""Admission as a property: whatever happens, nobody is inside without a decision on record.

Random sequences of what really happens around a waiting room — hosts opening and closing their
console, participants arriving, dropping and coming back, a second person opening someone's
invitation link with their own eID, links revoked and reissued, the process restarting, hosts
deciding about random entries, a host choosing an admission policy, a host locking and unlocking
the meeting, a waiting page losing its connection and getting it back, an admitted person's video
connecting and going — run against the real :class:`~meetsvc.services.waiting_room.WaitingRoom` on
a real SQLite file. There are no sockets: :class:`Pages` opens and closes them as the socket.io
namespaces would (a lobby connect is ``arrive`` then ``presence_changed``; a video connect is let
in only while its entry is inside; an entry sent out of the meeting loses its video, an ended one
every socket; unlocking makes the pages that were told "locked" arrive again). After every step:

* every entry (one person, one browser session, one invitation) admitted or in the meeting has a
  ``participant.admit`` entry *for that entry* in the audit log, by one of the meeting's hosts
  or by the policy, *after* it last entered the waiting room — never another entry's admission;
* an entry whose session was ended (link revoked or reissued) is inside no more;
* a ``policy:`` admission happens only under a policy a host configured before it;
* a host's presence, a restart, or a refused operation changes nothing;
* a removed or denied participant does not come back by arriving again;
* while the meeting is locked, an arrival knocks (the host sees "knocking") and is never waiting
  or inside; only a host's admit of that entry lets it in (a ``system`` arrival, then the host's
  ``participant.admit``, in the audit log), never a policy; unlocking moves on only those knocking;
* a host's admit of an entry their console shows knocking is carried out;
* a lost connection, and its return, changes no state and writes nothing to the audit log;
* the audit log says who was in the room: an entry's video joined only while it was in the
  meeting, and left before any later decision about it once it was outside; the joins not
  matched by a leave are its video sockets now;
* the host's list shows each entry's presence as its sockets, its state and the clock say;
* the audit log's last word on each entry is its present state, and the chain verifies.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import event, example, given, settings, strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import SecretKeys, load_keys
from meetsvc.core.tokens import token_hash
from meetsvc.domain.admission import AdmissionPolicy, is_inside
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import DomainError, NotFound
from meetsvc.domain.model import (
    CareArea,
    MeetingStatus,
    OrganisationKind,
    ParticipantRole,
    ParticipantState as S,
)
from meetsvc.services.audit import AuditLog
from meetsvc.services.booking import Booking, BookingLimits, NewMeeting, NewParticipant
from meetsvc.services.directory import Directory
from meetsvc.services.waiting_room import (
    PRESENCE_GRACE,
    HostCaller,
    LobbyPass,
    Notices,
    WaitingRoom,
    bind_session,
)
from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import (
    attendances,
    audit_log,
    browser_sessions,
    identifications,
    meetings,
)
from tests.support.databases import SqliteTemplate
from tests.support.lobby import PERSONS
from tests.support.service import SettableClock

INSIDE = {S.ADMITTED.value, S.IN_MEETING.value}
STICKY = {S.DENIED.value, S.REMOVED.value}
OUTSIDE_KNOCKING = {S.INVITED.value, S.IDENTIFYING.value}


@dataclass(frozen=True)
class Guest:
    """One invited participant and the browser session their lobby ticket would name."""

    participant_id: str
    session_id: str
    with_eid: bool
    attendance_id: str | None = None

    def lobby(self, meeting_id: str, *, claims_unverified: bool | None = None) -> LobbyPass:
        unverified = (not self.with_eid) if claims_unverified is None else claims_unverified
        return LobbyPass(self.participant_id, meeting_id, self.session_id, unverified=unverified)


@dataclass
class Process:
    """What one running process holds: an engine, the audit log, the waiting room."""

    url: str
    keys: SecretKeys
    clock: SettableClock
    engine: AsyncEngine = field(init=False)
    audit: AuditLog = field(init=False)
    room: WaitingRoom = field(init=False)

    def __post_init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.engine = create_engine(self.url)
        self.audit = AuditLog(self.keys.audit_chain)
        self.room = WaitingRoom(self.engine, self.audit, opens_before=timedelta(minutes=15), clock=self.clock)

    async def restart(self) -> None:
        """A new process on the same database file and keys: nothing survives but the database."""
        await self.engine.dispose()
        self.start()


@dataclass
class Pages:
    """The sockets the guests' browsers hold open (by browser session), what each page shows,
    and which entries the hosts' consoles show knocking: what presence is checked against."""

    lobby: dict[str, int] = field(default_factory=dict)
    video: dict[str, int] = field(default_factory=dict)
    lost_at: dict[str, datetime] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    knocking: set[str] = field(default_factory=set)


@dataclass
class World:
    process: Process
    meeting_id: str
    hosts: list[HostCaller]
    outsider: HostCaller
    guests: list[Guest]
    booking: Booking
    organiser: OrganisationCaller
    pages: Pages = field(default_factory=Pages)


async def _identified(
    engine: AsyncEngine,
    audit: AuditLog,
    participant_id: str,
    clock: SettableClock,
    *,
    given_name: str,
    surname: str,
    matches: bool | None,
    with_eid: bool,
) -> str:
    """A browser session for the participant, and (with eID) a completed identification.

    A fixture shortcut: the rows the identification flow would have written, inserted directly
    (the flow itself, against the BankID simulator, is tested in tests/identity and end to end
    in test_waiting_room.py).
    """
    now = clock()
    session_id = str(uuid.uuid4())
    async with engine.begin() as connection:
        await connection.execute(
            browser_sessions.insert().values(
                id=session_id,
                token_hash=token_hash(secrets.token_urlsafe(32)),
                kind="participant",
                participant_id=participant_id,
                csrf_token=secrets.token_urlsafe(32),
                language="sv",
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=12),
            )
        )
        if not with_eid:
            return session_id
        await connection.execute(
            identifications.insert().values(
                id=str(uuid.uuid4()),
                session_id=session_id,
                participant_id=participant_id,
                provider="bankid",
                order_ref=str(uuid.uuid4()),
                provider_state="{}",
                same_device=False,
                client_address_hash="0" * 64,
                state="complete",
                outcome="matched" if matches else "mismatch",
                started_at=now,
                finished_at=now,
            )
        )
        # What the identification flow does on completion: bind the person to this session.
        await bind_session(
            connection,
            audit,
            session_id=session_id,
            participant_id=participant_id,
            given_name=given_name,
            surname=surname,
            personal_number_hash=secrets.token_hex(32),
            matches_invitation=matches,
            provider="bankid",
            level_of_assurance="substantial",
            now=now,
        )
    return session_id


async def build_world(template: SqliteTemplate, keys: SecretKeys) -> World:
    clock = SettableClock()
    process = Process(template.clone(), keys, clock)
    engine, audit = process.engine, process.audit
    vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
    directory = Directory(engine, audit, vault, clock)
    booking = Booking(engine, audit, vault, BookingLimits(), clock)
    municipality = await directory.create_organisation("Exempelstads kommun", OrganisationKind.MUNICIPALITY)
    region = await directory.create_organisation("Region Exempel", OrganisationKind.REGION)
    by_municipality = OrganisationCaller(municipality.id, "test")
    by_region = OrganisationCaller(region.id, "test")
    host = await directory.add_staff_member(by_municipality, display_name="Ledare")
    co_host = await directory.add_staff_member(by_region, display_name="Medledare")
    outsider = await directory.add_staff_member(by_region, display_name="Kollega")
    starts = clock() + timedelta(minutes=10)
    meeting = await booking.create_meeting(
        by_municipality,
        NewMeeting(
            partner_organisation_id=region.id,
            title="SIP-möte",
            care_area=CareArea.BARN_OCH_UNGA,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            host_ids=(host.id, co_host.id),
        ),
    )
    # Who arrives decides what the policy may do: a matching region doctor (the policy admits),
    # a matching individual, a municipality staff member identified as someone else, and an
    # interpreter without eID.
    cast = [
        (ParticipantRole.INDIVIDUAL, None, PERSONS[0], ("Erik", "Lindqvist"), True, True),
        (ParticipantRole.REGION_STAFF, region.id, PERSONS[3], ("Per-Olof", "Öberg"), True, True),
        (ParticipantRole.MUNICIPALITY_STAFF, municipality.id, PERSONS[1], ("Mohammed", "Al-Rashid"), False, True),
        (ParticipantRole.INTERPRETER, None, None, ("", ""), None, False),
    ]
    guests = []
    for index, (role, organisation_id, number, (given_name, surname), matches, with_eid) in enumerate(cast):
        issued = await booking.add_participant(
            by_municipality,
            meeting.id,
            NewParticipant(
                role=role,
                display_name=f"Deltagare {index}",
                organisation_id=organisation_id,
                email=f"p{index}@example.se",
                personal_number=number,
            ),
        )
        participant_id = issued.participant.id
        session_id = await _identified(
            engine,
            audit,
            participant_id,
            clock,
            given_name=given_name,
            surname=surname,
            matches=matches,
            with_eid=with_eid,
        )
        guests.append(Guest(participant_id, session_id, with_eid))
    # A second person opens the first invitation's link (forwarded) and identifies as themself.
    intruder = await _identified(
        engine,
        audit,
        guests[0].participant_id,
        clock,
        given_name="Karin",
        surname="Johansson",
        matches=False,
        with_eid=True,
    )
    guests.append(Guest(guests[0].participant_id, intruder, True))
    hosts = [HostCaller(host.id), HostCaller(co_host.id)]
    return World(process, meeting.id, hosts, HostCaller(outsider.id), guests, booking, by_municipality)


# What is observed after each step ------------------------------------------------------------


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as connection:
        people = (
            await connection.execute(
                select(
                    attendances.c.session_id,
                    attendances.c.state,
                    attendances.c.waiting_since,
                    attendances.c.host_message,
                    attendances.c.unverified,
                    attendances.c.ended_at,
                ).order_by(attendances.c.session_id)
            )
        ).all()
        room = (
            await connection.execute(
                select(
                    meetings.c.status, meetings.c.locked, meetings.c.admission_policy, meetings.c.show_queue_position
                )
            )
        ).all()
        entries = (await connection.execute(select(func.count()).select_from(audit_log))).scalar_one()
    return {"participants": [tuple(r) for r in people], "meeting": [tuple(r) for r in room], "audit_entries": entries}


def ended_sessions(shot: dict[str, Any]) -> set[str]:
    return {row[0] for row in shot["participants"] if row[5] is not None}


def states_of(shot: dict[str, Any]) -> dict[str, str]:
    """Each entry's state, by the browser session that opened it."""
    return {row[0]: row[1] for row in shot["participants"]}


async def check_admissions(world: World) -> None:
    """The property: inside only by a recorded decision, after the last entry into waiting."""
    engine = world.process.engine
    host_actors = {host.actor for host in world.hosts}
    async with engine.connect() as connection:
        entries = (
            await connection.execute(
                select(
                    audit_log.c.seq, audit_log.c.actor, audit_log.c.action, audit_log.c.subject_id, audit_log.c.details
                )
                .where(audit_log.c.meeting_id == world.meeting_id)
                .order_by(audit_log.c.seq)
            )
        ).all()
        rows = (await connection.execute(select(attendances.c.id, attendances.c.state, attendances.c.ended_at))).all()
        current = {row.id: row.state for row in rows}
        ended = {row.id for row in rows if row.ended_at is not None}
    trail = [(e.seq, e.actor, e.action, e.subject_id, json.loads(e.details)) for e in entries]

    chosen_policy: str | None = None  # the policy in force, as a host last configured it
    locked = False  # as a host last configured it
    for index, (_seq, actor, action, _subject, details) in enumerate(trail):
        if action == "waiting_room.configured" and "admission_policy" in details:
            assert actor in host_actors, f"the policy was set by {actor}, not a host"
            chosen_policy = details["admission_policy"]
        if action == "waiting_room.configured" and "locked" in details:
            locked = details["locked"]
        if action == "participant.admit":
            if actor.startswith("policy:"):
                policy = actor.removeprefix("policy:")
                assert policy != AdmissionPolicy.MANUAL.value
                assert chosen_policy == policy, f"admitted by {actor} though a host chose {chosen_policy}"
                assert not locked, "a policy let someone in while the meeting was locked"
            else:
                assert actor in host_actors, f"admitted by {actor}, who is no host of this meeting"
        if action.startswith("participant.") and details.get("to") in INSIDE and details["from"] not in INSIDE:
            # Only an admission takes anyone from outside to inside.
            assert action == "participant.admit", trail[index]
        if action == "participant.arrive" and details["to"] == S.WAITING.value and details["from"] != S.WAITING.value:
            # While locked nobody arrives by themself: a host admitting someone knocking brings
            # them in through the waiting room, in the same breath.
            assert (actor == "system") == locked, f"{trail[index]} while {'locked' if locked else 'unlocked'}"
            if locked:
                _, by, then, _, about = trail[index + 1]
                assert then == "participant.admit" and by in host_actors, trail[index : index + 2]
                assert about["attendance"] == details["attendance"]
                event("a host let in someone knocking")
        if action == "attendance.knocked":
            assert locked

    for participant_id, state in current.items():
        own = [
            (seq, actor, action, details)
            for seq, actor, action, subject, details in trail
            if details.get("attendance") == participant_id and action.startswith("participant.") and "to" in details
        ]
        if own:
            assert own[-1][3]["to"] == state, f"the audit log's last word on {participant_id} is not {state}"
        if state in INSIDE and participant_id not in ended:
            entered_waiting = max((i for i, (_, _, _, d) in enumerate(own) if d["to"] == S.WAITING.value), default=-1)
            admits = [
                actor
                for _, actor, action, _ in own[entered_waiting + 1 :]
                if action == "participant.admit" and (actor in host_actors or actor.startswith("policy:"))
            ]
            assert admits, f"{participant_id} is {state} with no admission after entering the waiting room: {own}"
            # And the step that took them inside, after they were last outside, was that admission.
            last_outside = max((i for i, (_, _, _, d) in enumerate(own) if d["to"] not in INSIDE), default=-1)
            assert last_outside + 1 < len(own), f"{participant_id} is {state} but the audit log never took them inside"
            _, actor, action, details = own[last_outside + 1]
            assert action == "participant.admit" and details["to"] == S.ADMITTED.value, own
            event("someone was inside" + (" by the policy" if any(a.startswith("policy:") for a in admits) else ""))

    check_video_on_record(trail, current, ended)


def check_video_on_record(
    trail: list[tuple[int, str, str, str, dict[str, Any]]], current: dict[str, str], ended: set[str]
) -> None:
    """Who was in the room, by the audit log: an entry's video joins only while it is in the
    meeting; once it is outside, its video has left before anything else is decided about it;
    and what joined and has not left is what is connected now (ending an entry closes its
    record: ``attendance.ended`` says it was let go from where it was)."""
    state: dict[str, str] = {}
    video: dict[str, int] = {}
    closed: set[str] = set()
    for entry in trail:
        action, details = entry[2], entry[4]
        attendance = details.get("attendance")
        if attendance is None:
            continue
        if action.startswith("participant.") and "to" in details:
            assert details["from"] in INSIDE or not video.get(attendance), f"in the video while outside: {entry}"
            state[attendance] = details["to"]
        elif action == "attendance.video_joined":
            assert attendance not in closed and state.get(attendance) == S.IN_MEETING.value, entry
            video[attendance] = video.get(attendance, 0) + 1
            event("a video joined")
        elif action == "attendance.video_left":
            assert attendance not in closed and video.get(attendance, 0) > 0, entry
            video[attendance] -= 1
            if state[attendance] not in INSIDE:
                event("the video of someone sent out was cut")
        elif action == "attendance.ended":
            closed.add(attendance)
    for attendance, now in current.items():
        if attendance in ended:
            continue
        assert now in INSIDE or not video.get(attendance), f"{attendance} is {now} with its video on record"


async def check_presence(world: World) -> None:
    """The sockets counted are the pages' sockets, and the host's list shows each entry's
    presence as its state, its sockets and the clock say."""
    engine, pages = world.process.engine, world.pages
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(
                    attendances.c.id,
                    attendances.c.session_id,
                    attendances.c.state,
                    attendances.c.ended_at,
                    attendances.c.lobby_sockets,
                    attendances.c.video_sockets,
                )
            )
        ).all()
    _, listed = await world.process.room.waiting_list(world.hosts[0], world.meeting_id)
    shown = {entry.attendance_id: entry.presence for entry in listed}
    now = world.process.clock()
    for row in rows:
        lobby, video = pages.lobby.get(row.session_id, 0), pages.video.get(row.session_id, 0)
        if row.ended_at is not None:
            assert shown[row.id] == "ended"
            continue
        assert (row.lobby_sockets, row.video_sockets) == (lobby, video), row
        lost = pages.lost_at.get(row.session_id)
        if row.state in INSIDE and video:
            expected = "in_meeting"
        elif row.state == S.IN_MEETING.value:
            expected = "left_video"
        elif row.state == S.ADMITTED.value:
            expected = "joining"
        elif row.state == S.WAITING.value:
            if lobby:
                expected = "waiting"
            else:
                expected = "connection_lost" if lost is not None and now - lost < PRESENCE_GRACE else "gone"
        elif row.state in OUTSIDE_KNOCKING:
            expected = "knocking" if lobby else "identified"
        else:
            expected = row.state
        assert shown[row.id] == expected, f"{row} shows {shown[row.id]}, not {expected}"
        event(f"presence {expected}")


# The operations ------------------------------------------------------------------------------

guest = st.integers(min_value=0, max_value=4)  # 4: the second person on the first invitation
host_index = st.integers(min_value=0, max_value=1)

DECISIONS = ["admit", "deny", "send_back", "remove"]


@st.composite
def participant_move(draw: st.DrawFn) -> tuple[Any, ...] | None:
    """What one participant's browser does in a round: arriving is connecting its lobby page (or,
    connected, asking again), dropping is losing that connection; a video page connects, goes."""
    kind = draw(
        st.sampled_from(
            [
                *["arrive"] * 3,
                "nothing",
                "join",
                "leave",
                "arrive_claiming_eid",
                "drop",
                "drop",
                "video_join",
                "video_join",
                "video_leave",
            ]
        )
    )
    if kind == "nothing":
        return None
    if kind == "arrive_claiming_eid":
        return (kind, 3)  # the interpreter, who has no eID, claiming to have identified
    return (kind, draw(guest))


@st.composite
def host_move(draw: st.DrawFn) -> tuple[Any, ...] | None:
    """What the hosts (or a staff member who is no host) do in a round."""
    kind = draw(
        st.sampled_from(
            ["decide"] * 4
            + [
                "nothing",
                "decide_any",
                "host_presence",
                "host_presence",
                "admit_all_matching",
                "message",
                "configure",
                "configure",
                "outsider",
                "lock",
                "lock",
                "unlock",
                "admit_knocking",
                "admit_knocking",
            ]
        )
    )
    if kind == "nothing":
        return None
    if kind == "decide":
        # About someone on the host's list for whom the decision makes sense (see SENSIBLE).
        return (kind, draw(st.sampled_from(["admit", *DECISIONS])), draw(st.integers(0, 7)), draw(host_index))
    if kind == "decide_any":
        return (kind, draw(st.sampled_from(DECISIONS)), draw(guest), draw(host_index))
    if kind == "host_presence":
        return (kind, draw(st.integers(0, 2)))  # 2: a staff member who is no host of the meeting
    if kind in ("admit_all_matching", "lock", "unlock"):
        return (kind, draw(host_index))
    if kind == "admit_knocking":
        return (kind, draw(st.integers(0, 7)), draw(host_index))
    if kind == "message":
        return (kind, draw(st.one_of(st.none(), guest)), draw(host_index))
    if kind == "configure":
        policy = draw(
            st.sampled_from([AdmissionPolicy.MATCHING_STAFF, AdmissionPolicy.MATCHING_STAFF, AdmissionPolicy.MANUAL])
        )
        return (kind, policy, draw(st.one_of(st.none(), st.booleans())), draw(host_index))
    if kind == "outsider":
        actions = [*DECISIONS, "admit_all_matching", "configure", "end"]
        return (kind, draw(st.sampled_from(actions)), draw(guest))
    return (kind,)


@st.composite
def system_move(draw: st.DrawFn) -> tuple[Any, ...] | None:
    kind = draw(st.sampled_from(["nothing", "nothing", "nothing", "restart", "tick", "revoke", "reissue"]))
    if kind == "nothing":
        return None
    if kind == "tick":
        return (kind, draw(st.integers(1, 20)))
    if kind in ("revoke", "reissue"):
        return (kind, draw(guest))  # the organiser withdraws or replaces one invitation's link
    return (kind,)


# A round: a participant, a host and the system each may do one thing, in that order. Then,
# perhaps, a host ends the meeting and a few more rounds follow.
a_round = st.tuples(participant_move(), host_move(), system_move())
scenarios = st.tuples(
    st.lists(a_round, min_size=4, max_size=25),
    st.booleans(),
    st.lists(a_round, max_size=4),
    st.sampled_from([False, False, True]),  # a host locks the meeting before anyone arrives
)


# For whom each decision makes sense, as a host reading the list would pick.
SENSIBLE = {
    "admit": {S.WAITING.value, S.DENIED.value, S.REMOVED.value},
    "deny": {S.WAITING.value},
    "send_back": INSIDE,
    "remove": {S.WAITING.value, *INSIDE},
}


async def target_of(world: World, op: tuple[Any, ...]) -> str | None:
    """The participant a decision is about (resolved before it runs)."""
    if op[0] == "admit_knocking":
        # Someone the host's console shows knocking, if anyone.
        knocking = sorted(world.pages.knocking)
        return knocking[op[1] % len(knocking)] if knocking else None
    if op[0] == "decide":
        _, entries = await world.process.room.waiting_list(world.hosts[op[3]], world.meeting_id)
        candidates = [e.attendance_id for e in entries if e.state in SENSIBLE[op[1]] and not e.ended]
        if candidates:
            return candidates[op[2] % len(candidates)]
        return world.guests[op[2] % len(world.guests)].participant_id
    return world.guests[op[2]].participant_id


async def invitation_of(world: World, target: str) -> tuple[str, str | None]:
    """(participant id, attendance id or None) for a decision's target."""
    for guest_ in world.guests:
        if guest_.participant_id == target:
            return target, None
    async with world.process.engine.connect() as connection:
        participant = (
            await connection.execute(select(attendances.c.participant_id).where(attendances.c.id == target))
        ).scalar_one()
    return participant, target


# What the socket.io namespaces and the courier would do around the waiting room ---------------


async def entry_sessions(world: World) -> dict[str, str]:
    async with world.process.engine.connect() as connection:
        rows = (await connection.execute(select(attendances.c.id, attendances.c.session_id))).all()
    return {row.id: row.session_id for row in rows}


async def told(world: World, notices: Notices) -> None:
    """Deliver notices: each page shows its entry's state; the consoles show who knocks."""
    pages = world.pages
    if notices.participants:
        sessions = await entry_sessions(world)
        for attendance_id, view in notices.participants.items():
            pages.views[sessions[attendance_id]] = view.state
    for attendance_id, entry in notices.hosts.items():
        if entry.presence == "knocking":
            pages.knocking.add(attendance_id)
        else:
            pages.knocking.discard(attendance_id)


async def connect_lobby(world: World, lobby: LobbyPass) -> None:
    """A lobby socket connecting (ParticipantNamespace.connect): arrive, and count it in if
    it is let in. A refusal raises (nothing changed) or returns (the connection refused)."""
    room, pages = world.process.room, world.pages
    notices = await room.arrive(lobby)
    await told(world, notices)
    entry = await room.entry_id(lobby)
    if entry is None or entry in notices.ended or entry in notices.closed:
        return
    pages.lobby[lobby.session_id] = 1
    pages.lost_at.pop(lobby.session_id, None)
    await told(world, await room.presence_changed(entry, kind="lobby", by=1))


async def close_socket(world: World, attendance_id: str, session_id: str, kind: str) -> None:
    pages = world.pages
    sockets = pages.lobby if kind == "lobby" else pages.video
    if not sockets.get(session_id):
        return
    sockets[session_id] = 0
    if kind == "lobby":
        pages.lost_at[session_id] = world.process.clock()
    await told(world, await world.process.room.presence_changed(attendance_id, kind=kind, by=-1))


async def settle(world: World) -> None:
    """What the courier does after a decision: an entry outside the meeting loses its video;
    an ended entry loses every socket (and the consoles show it ended)."""
    async with world.process.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(attendances.c.id, attendances.c.session_id, attendances.c.state, attendances.c.ended_at)
            )
        ).all()
    for row in rows:
        if row.ended_at is not None:
            world.pages.knocking.discard(row.id)
            await close_socket(world, row.id, row.session_id, "lobby")
        if row.ended_at is not None or row.state not in INSIDE:
            await close_socket(world, row.id, row.session_id, "video")


async def unlocked(world: World, notices: Notices) -> None:
    """The meeting was unlocked: pages told "locked" arrive again by themselves (lobby.js)."""
    await told(world, notices)
    if not notices.unlocked:
        return
    for guest_ in world.guests:
        if world.pages.lobby.get(guest_.session_id) and world.pages.views.get(guest_.session_id) == "locked":
            await told(world, await world.process.room.arrive(guest_.lobby(world.meeting_id)))


async def apply(world: World, op: tuple[Any, ...], target: str | None) -> None:
    """Run one operation; a refusal is an answer, not a failure (it must change nothing)."""
    process, meeting_id = world.process, world.meeting_id
    room = process.room
    kind = op[0]
    if kind == "host_presence":
        # A host opening the console, reloading it, closing it: only reads.
        if op[1] < 2:
            host = world.hosts[op[1]]
            assert await room.is_host(host, meeting_id)
            await room.waiting_list(host, meeting_id)
            await room.meeting_for_host(host, meeting_id)
        else:
            assert not await room.is_host(world.outsider, meeting_id)
            try:
                await room.waiting_list(world.outsider, meeting_id)
            except NotFound:
                pass
            else:
                raise AssertionError("staff who are not hosts read the waiting list")
    elif kind == "arrive":
        lobby = world.guests[op[1]].lobby(meeting_id)
        if world.pages.lobby.get(lobby.session_id):
            await told(world, await room.arrive(lobby))  # asking again on the open connection
        else:
            await connect_lobby(world, lobby)
    elif kind == "arrive_claiming_eid":
        await connect_lobby(world, world.guests[op[1]].lobby(meeting_id, claims_unverified=False))
    elif kind == "drop":
        lobby = world.guests[op[1]].lobby(meeting_id)
        entry = await room.entry_id(lobby)
        if entry is not None:
            await close_socket(world, entry, lobby.session_id, "lobby")
    elif kind == "video_join":
        # The video namespace lets a credential in only while its entry is inside.
        lobby = world.guests[op[1]].lobby(meeting_id)
        entry = await room.entry_id(lobby)
        if entry is None or world.pages.video.get(lobby.session_id):
            return
        state = await room.entry_state(entry, meeting_id)
        if state is None or not is_inside(state):
            return
        world.pages.video[lobby.session_id] = 1
        await told(world, await room.presence_changed(entry, kind="video", by=1))
    elif kind == "video_leave":
        lobby = world.guests[op[1]].lobby(meeting_id)
        entry = await room.entry_id(lobby)
        if entry is not None:
            await close_socket(world, entry, lobby.session_id, "video")
    elif kind == "join":
        await told(world, await room.join(world.guests[op[1]].lobby(meeting_id)))
    elif kind == "leave":
        await told(world, await room.leave(world.guests[op[1]].lobby(meeting_id)))
    elif kind in ("decide", "decide_any"):
        assert target is not None
        participant, entry = await invitation_of(world, target)
        await told(world, await getattr(room, op[1])(world.hosts[op[3]], meeting_id, participant, attendance_id=entry))
    elif kind == "admit_knocking":
        if target is not None:
            participant, entry = await invitation_of(world, target)
            await told(world, await room.admit(world.hosts[op[2]], meeting_id, participant, attendance_id=entry))
    elif kind == "admit_all_matching":
        await told(world, await room.admit_all_matching(world.hosts[op[1]], meeting_id))
    elif kind == "message":
        target = None if op[1] is None else world.guests[op[1]].participant_id
        await told(world, await room.send_message(world.hosts[op[2]], meeting_id, target, "Vi börjar snart."))
    elif kind == "configure":
        await unlocked(
            world, await room.configure(world.hosts[op[3]], meeting_id, admission_policy=op[1], locked=op[2])
        )
    elif kind in ("lock", "unlock"):
        await unlocked(world, await room.configure(world.hosts[op[1]], meeting_id, locked=kind == "lock"))
    elif kind == "outsider":
        action, target = op[1], world.guests[op[2]].participant_id
        try:
            if action == "admit_all_matching":
                await room.admit_all_matching(world.outsider, meeting_id)
            elif action == "configure":
                await room.configure(world.outsider, meeting_id, admission_policy=AdmissionPolicy.MATCHING_STAFF)
            elif action == "end":
                await room.end(world.outsider, meeting_id)
            else:
                await getattr(room, action)(world.outsider, meeting_id, target)
        except NotFound:
            return
        raise AssertionError(f"staff who are not hosts could {action}")
    elif kind == "end":
        await told(world, await room.end(world.hosts[0], meeting_id))
    elif kind == "revoke":
        await world.booking.revoke_invitation(world.organiser, meeting_id, world.guests[op[1]].participant_id)
    elif kind == "reissue":
        await world.booking.reissue_invitation(world.organiser, meeting_id, world.guests[op[1]].participant_id)
    elif kind == "restart":
        await process.restart()
        # The consoles reconnect to the new process and read the list again.
        _, listed = await process.room.waiting_list(world.hosts[0], meeting_id)
        world.pages.knocking = {entry.attendance_id for entry in listed if entry.presence == "knocking"}
    elif kind == "tick":
        process.clock.advance(seconds=op[1])
    else:  # pragma: no cover
        raise AssertionError(kind)


def is_locked(shot: dict[str, Any]) -> bool:
    return bool(shot["meeting"][0][1])


def is_open(shot: dict[str, Any]) -> bool:
    return MeetingStatus(shot["meeting"][0][0]).is_open


def others_unchanged(was: dict[str, str], now: dict[str, str], target: str) -> None:
    assert {k: v for k, v in now.items() if k != target} == {k: v for k, v in was.items() if k != target}


async def step(world: World, op: tuple[Any, ...]) -> None:
    kind = op[0]
    target = await target_of(world, op) if kind in ("decide", "decide_any", "admit_knocking") else None
    pages_before = {
        g.session_id: (world.pages.lobby.get(g.session_id, 0), world.pages.views.get(g.session_id))
        for g in world.guests
    }
    before = await snapshot(world.process.engine)
    refused = False
    try:
        await apply(world, op, target)
    except DomainError:
        refused = True
    await settle(world)
    after = await snapshot(world.process.engine)
    was, now = states_of(before), states_of(after)
    locked = is_locked(before)
    if refused or kind in ("host_presence", "restart", "tick", "outsider", "arrive_claiming_eid"):
        assert after == before, f"{op} changed something: {before} -> {after}"
    if kind in ("arrive", "arrive_claiming_eid"):
        target = world.guests[op[1]].session_id
        if target not in was or target not in now:
            assert now == {**was, **{k: v for k, v in now.items() if k == target}}
            if locked and target in now:
                # A first arrival at a locked meeting: knocking, not waiting.
                assert now[target] in OUTSIDE_KNOCKING, f"arrived at a locked meeting and is {now[target]}"
            await check_admissions(world)
            await check_presence(world)
            return
        if was[target] in STICKY:
            assert now[target] == was[target], f"a {was[target]} participant came back by arriving: {now[target]}"
        if was[target] in (S.WAITING.value, *INSIDE):
            assert now[target] == was[target], "a reconnect changed the participant's state"
        if locked:
            assert now[target] == was[target] or (was[target], now[target]) == (S.INVITED.value, S.IDENTIFYING.value)
            if now[target] in OUTSIDE_KNOCKING and world.pages.lobby.get(target):
                assert world.pages.views[target] == "locked"
                event("someone knocked")
        others_unchanged(was, now, target)
    if kind in ("join", "leave"):
        target = world.guests[op[1]].session_id
        others_unchanged(was, now, target)
    if kind in ("drop", "video_leave"):
        # A socket going changes no state; a lobby connection coming and going is not audited.
        assert now == was
        if kind == "drop":
            assert after["audit_entries"] == before["audit_entries"]
    if kind == "video_join":
        target = world.guests[op[1]].session_id
        others_unchanged(was, now, target)
        if now.get(target) != was.get(target):
            assert (was[target], now[target]) == (S.ADMITTED.value, S.IN_MEETING.value)
    if kind in ("decide", "decide_any") and not refused:
        # Exactly one entry changed at most: the one decided about.
        changed = {k for k in now if now.get(k) != was.get(k)}
        assert len(changed) <= 1, f"{op} changed several entries: {changed}"
    if kind == "admit_knocking" and target is not None:
        session = (await entry_sessions(world))[target]
        if locked and is_open(before) and session not in ended_sessions(before):
            # The console shows them knocking: the host's admit lets them in.
            assert not refused, f"a host could not admit {was[session]} entry shown knocking"
            assert now[session] == S.ADMITTED.value
            others_unchanged(was, now, session)
    if kind in ("revoke", "reissue") and not refused:
        # Every entry of that invitation ended (so none is inside any more); no other changed.
        invitation = world.guests[op[1]].participant_id
        own = {g.session_id for g in world.guests if g.participant_id == invitation}
        assert {k for k in now if k in own} <= ended_sessions(after)
        assert {k: v for k, v in now.items() if k not in own} == {k: v for k, v in was.items() if k not in own}
    if kind == "message" or (kind in ("configure", "lock", "unlock") and not (locked and not is_locked(after))):
        assert now == was
    if kind in ("configure", "unlock") and locked and not is_locked(after):
        # Unlocking moves on only those knocking (their pages arrive again), into the waiting
        # room or, by the policy, inside.
        for session in {k for k in now if now.get(k) != was.get(k)}:
            lobby_was, view_was = pages_before[session]
            assert lobby_was and view_was == "locked", f"{session} was not knocking: {was.get(session)}"
            assert was.get(session) in {*OUTSIDE_KNOCKING, S.LEFT.value}
            assert now[session] in {S.WAITING.value, S.ADMITTED.value}
            event("unlocking moved someone on")
    await check_admissions(world)
    await check_presence(world)


# Someone who left the meeting asks to come back while it is locked: the hosts are told they
# knock, and a host's admit must let them in (it was once refused as "transition-refused").
LEFT_AND_KNOCKS = (
    [
        (("arrive", 1), None, None),
        (None, ("decide_any", "admit", 1, 0), None),
        (("leave", 1), ("lock", 0), None),
        (("arrive", 1), ("admit_knocking", 0, 0), None),
    ],
    False,
    [],
    False,
)


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios)
@example(scenario=LEFT_AND_KNOCKS)
async def test_nobody_is_inside_without_a_recorded_decision(
    sqlite_template: SqliteTemplate, keys_dir: Path, scenario
) -> None:
    before_end, ends, after_end, locked_first = scenario
    ops = [("lock", 0)] if locked_first else []
    ops += [op for moves in before_end for op in moves if op is not None]
    if ends:
        ops += [("end",)] + [op for moves in after_end for op in moves if op is not None]
    keys = await asyncio.to_thread(load_keys, keys_dir, create_missing=True, development=True)
    world = await build_world(sqlite_template, keys)
    try:
        for op in ops:
            await step(world, op)
        async with world.process.engine.connect() as connection:
            verification = await world.process.audit.verify(connection)
        assert verification.ok, verification
    finally:
        await world.process.engine.dispose()
