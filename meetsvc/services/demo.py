"""A meeting to walk through at once, for development: two organisations, a SIP leader and a
co-host who sign in with eID, and a meeting whose waiting room is open now, with each
participant's personal link.

`make run` prepares it on an empty development database (``demo.seed``), so a newcomer walks a
whole meeting within a minute of the first command. It is made with the same use cases the API
and the organiser pages call, so what it shows is what booking does; the people are whoever the
caller names (in development, the BankID simulator's test persons).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import CareArea, Meeting, Organisation, OrganisationKind, ParticipantRole, StaffMember
from meetsvc.domain.roles import ORGANISING, Role
from meetsvc.services.booking import Booking, NewMeeting, NewParticipant
from meetsvc.services.directory import Directory
from meetsvc.services.links import JoinLinks
from meetsvc.storage.engine import Engine

MUNICIPALITY = "Exempelstads kommun"
REGION = "Region Exempel"
# A non-sensitive title, as every title must be: the demo is found again by it.
TITLE = "Demo: SIP-möte"
ACTOR = "demo"


@dataclass(frozen=True, slots=True)
class DemoPerson:
    name: str
    personal_number: str


@dataclass(frozen=True, slots=True)
class DemoCast:
    """Who the demo holds: the leader (municipality), the co-host (region), and three invited."""

    leader: DemoPerson
    co_host: DemoPerson
    individual: DemoPerson
    guardian: DemoPerson
    region_staff: DemoPerson


@dataclass(frozen=True, slots=True)
class DemoTiming:
    """The demo meeting starts this soon (inside the waiting room's opening, so it is open now)
    and lasts this long."""

    starts_in: timedelta
    lasts: timedelta


@dataclass(frozen=True, slots=True)
class DemoLink:
    name: str
    role: ParticipantRole
    url: str


@dataclass(frozen=True, slots=True)
class Demo:
    """What a newcomer needs to walk the demo meeting: who signs in as host, and the links."""

    meeting_id: str
    starts_at: datetime
    leader: str
    co_host: str
    links: tuple[DemoLink, ...]


class DemoSeed:
    def __init__(self, directory: Directory, booking: Booking, links: JoinLinks, engine: Engine) -> None:
        self._directory = directory
        self._booking = booking
        self._links = links
        self._engine = engine

    async def prepare(self, cast: DemoCast, timing: DemoTiming) -> Demo | None:
        """Seed the demo into an empty database, or find it again on a later start (booking a
        new demo meeting when the last one is over). A database that holds other organisations
        is the developer's own: it gets nothing, and the answer is None."""
        organisations = await self._directory.list_organisations()
        if not organisations:
            municipality, region, leader, co_host = await self._seed_directory(cast)
        else:
            found = await self._find_directory(organisations, cast)
            if found is None:
                return None
            municipality, region, leader, co_host = found
        caller = OrganisationCaller(municipality.id, ACTOR)
        meeting = await self._open_meeting(caller, timing)
        if meeting is None:
            meeting = await self._book(caller, region, (leader.id, co_host.id), cast, timing)
        return Demo(
            meeting.id,
            meeting.starts_at,
            leader.display_name,
            co_host.display_name,
            await self._links_of(caller, meeting),
        )

    async def _seed_directory(self, cast: DemoCast) -> tuple[Organisation, Organisation, StaffMember, StaffMember]:
        municipality = await self._directory.create_organisation(
            MUNICIPALITY, OrganisationKind.MUNICIPALITY, actor=ACTOR
        )
        region = await self._directory.create_organisation(REGION, OrganisationKind.REGION, actor=ACTOR)
        leader = await self._directory.add_staff_member(
            OrganisationCaller(municipality.id, ACTOR),
            display_name=cast.leader.name,
            email="sip-ledare@exempelstad.example",
            personal_number=cast.leader.personal_number,
            # The demo's leader also keeps the staff directory, so its admin page can be tried.
            roles=ORGANISING | {Role.ADMINISTRATOR},
        )
        co_host = await self._directory.add_staff_member(
            OrganisationCaller(region.id, ACTOR),
            display_name=cast.co_host.name,
            email="samordnare@region.example",
            personal_number=cast.co_host.personal_number,
        )
        return municipality, region, leader, co_host

    async def _find_directory(
        self, organisations: list[Organisation], cast: DemoCast
    ) -> tuple[Organisation, Organisation, StaffMember, StaffMember] | None:
        by_name = {organisation.name: organisation for organisation in organisations}
        municipality, region = by_name.get(MUNICIPALITY), by_name.get(REGION)
        if municipality is None or region is None:
            return None
        leader = await self._staff_named(municipality, cast.leader.name)
        co_host = await self._staff_named(region, cast.co_host.name)
        if leader is None or co_host is None:
            return None
        return municipality, region, leader, co_host

    async def _staff_named(self, organisation: Organisation, name: str) -> StaffMember | None:
        staff = await self._directory.list_staff(OrganisationCaller(organisation.id, ACTOR))
        return next((member for member in staff if member.display_name == name and member.has_personal_number), None)

    async def _open_meeting(self, caller: OrganisationCaller, timing: DemoTiming) -> Meeting | None:
        """The demo meeting of an earlier start, if it is still open and has time left."""
        now = self._booking.now()
        meetings = await self._booking.list_meetings(caller, starts_from=now - timing.lasts, limit=100)
        for meeting in meetings:
            if meeting.title == TITLE and meeting.status.is_open and meeting.ends_at - now > timing.lasts / 2:
                return meeting
        return None

    async def _book(
        self,
        caller: OrganisationCaller,
        region: Organisation,
        host_ids: tuple[str, ...],
        cast: DemoCast,
        timing: DemoTiming,
    ) -> Meeting:
        starts_at = (self._booking.now() + timing.starts_in).replace(microsecond=0)
        meeting = await self._booking.create_meeting(
            caller,
            NewMeeting(
                partner_organisation_id=region.id,
                title=TITLE,
                care_area=CareArea.BARN_OCH_UNGA,
                starts_at=starts_at,
                ends_at=starts_at + timing.lasts,
                host_ids=host_ids,
            ),
        )
        invited = (
            # Numbers from the range kept for fiction (070-1740605 to 070-1740699) and example
            # domains: nothing the outbox shows can reach a real person.
            NewParticipant(
                ParticipantRole.INDIVIDUAL,
                cast.individual.name,
                mobile="+46701740605",
                personal_number=cast.individual.personal_number,
            ),
            NewParticipant(
                ParticipantRole.GUARDIAN,
                cast.guardian.name,
                email="vardnadshavare@exempelstad.example",
                personal_number=cast.guardian.personal_number,
            ),
            NewParticipant(
                ParticipantRole.REGION_STAFF,
                cast.region_staff.name,
                organisation_id=region.id,
                email="bup@region.example",
                personal_number=cast.region_staff.personal_number,
            ),
        )
        for new in invited:
            await self._booking.add_participant(caller, meeting.id, new)
        return meeting

    async def _links_of(self, caller: OrganisationCaller, meeting: Meeting) -> tuple[DemoLink, ...]:
        """Each invited participant's working link (derived again from the link key: only its
        hash is stored)."""
        found = []
        participants = await self._booking.list_participants(caller, meeting.id)
        async with self._engine.connect() as connection:
            for participant in participants:
                url = await self._links.current(connection, participant.id)
                if url is not None:
                    found.append(DemoLink(participant.display_name, participant.role, url))
        return tuple(found)
