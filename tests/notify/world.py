"""A meeting in a real database, written straight into the tables: the smallest world the
notification tests need, with everything a careless message could leak (a title, an area of
care, names, a personal identity number) sitting right next to what it may say."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import Secret
from meetsvc.storage.tables import meetings, organisations, outbox_messages, participants

ORGANISATION = "Exempelstads kommun"
PARTNER = "Region Exempel"
TITLE = "Samordning kring Kim Anderssons skolfrånvaro"
CARE_AREA = "vald_i_nara_relationer"
PERSONAL_NUMBER = "198112189876"
PUBLIC_URL = "https://sip-mote.example.se"
FROM_ADDRESS = "no-reply@sip-mote.example.se"

VAULT = PersonalNumberVault(Secret(b"e" * 32), Secret(b"h" * 32))


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    email: str | None
    mobile: str | None
    language: str = "sv"


KIM = Person("Kim Andersson", "individual", "kim@example.se", None)
LENA = Person("Lena Berg", "guardian", "lena@example.se", "+46701234567", "en")
OMAR = Person("Omar Haddad", "region_staff", None, "+46709876543")


def link_of(participant_id: str) -> str:
    return f"{PUBLIC_URL}/i/{participant_id}-personal-token"


class WorldLinks:
    """The links source the deliverer asks as it sends (the service uses its JoinLinks)."""

    async def current(self, connection: object, participant_id: str) -> str | None:
        return link_of(participant_id)


@dataclass
class World:
    engine: AsyncEngine
    clock: Callable[[], datetime]
    organisation_id: str
    meeting_id: str
    people: dict[str, str] = field(default_factory=dict)  # name → participant id

    def link(self, name: str) -> str:
        return link_of(self.people[name])

    @property
    def links(self) -> WorldLinks:
        """What the deliverer writes into each message: the participant's link, as above."""
        return WorldLinks()

    async def meeting(self) -> Row:
        async with self.engine.connect() as connection:
            return (await connection.execute(select(meetings).where(meetings.c.id == self.meeting_id))).one()

    async def participant(self, name: str) -> Row:
        async with self.engine.connect() as connection:
            return (await connection.execute(select(participants).where(participants.c.id == self.people[name]))).one()

    async def move(self, starts_at: datetime, ends_at: datetime) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(meetings)
                .where(meetings.c.id == self.meeting_id)
                .values(starts_at=starts_at, ends_at=ends_at, sequence=meetings.c.sequence + 1, updated_at=self.clock())
            )

    async def cancel(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(meetings)
                .where(meetings.c.id == self.meeting_id)
                .values(status="cancelled", sequence=meetings.c.sequence + 1, updated_at=self.clock())
            )


async def build_world(
    engine: AsyncEngine,
    clock: Callable[[], datetime],
    *,
    starts_at: datetime,
    duration: timedelta = timedelta(hours=1),
    people: tuple[Person, ...] = (KIM, LENA, OMAR),
) -> World:
    now = clock()
    organisation_id, partner_id, meeting_id = (str(uuid.uuid4()) for _ in range(3))
    async with engine.begin() as connection:
        await connection.execute(
            organisations.insert(),
            [
                {"id": organisation_id, "name": ORGANISATION, "kind": "municipality", "created_at": now},
                {"id": partner_id, "name": PARTNER, "kind": "region", "created_at": now},
            ],
        )
        await connection.execute(
            meetings.insert().values(
                id=meeting_id,
                organisation_id=organisation_id,
                partner_organisation_id=partner_id,
                title=TITLE,
                care_area=CARE_AREA,
                starts_at=starts_at,
                ends_at=starts_at + duration,
                time_zone="Europe/Stockholm",
                status="scheduled",
                sequence=0,
                created_at=now,
                updated_at=now,
            )
        )
        world = World(engine, clock, organisation_id, meeting_id)
        for person in people:
            participant_id = str(uuid.uuid4())
            world.people[person.name] = participant_id
            await connection.execute(
                participants.insert().values(
                    id=participant_id,
                    meeting_id=meeting_id,
                    role=person.role,
                    organisation_id=partner_id if person.role == "region_staff" else None,
                    display_name=person.name,
                    email=person.email,
                    mobile=person.mobile,
                    language=person.language,
                    personal_number_enc=VAULT.encrypt(PERSONAL_NUMBER, "participant") if person is KIM else None,
                    personal_number_hash=VAULT.keyed_hash(PERSONAL_NUMBER) if person is KIM else None,
                    state="invited",
                    created_at=now,
                    updated_at=now,
                )
            )
    return world


async def outbox_rows(engine: AsyncEngine, **equal: object) -> list[Row]:
    """Outbox rows, oldest first, where each named column equals the given value."""
    query = select(outbox_messages).order_by(outbox_messages.c.created_at, outbox_messages.c.dedupe_key)
    for name, value in equal.items():
        query = query.where(outbox_messages.c[name] == value)
    async with engine.connect() as connection:
        return list((await connection.execute(query)).all())
