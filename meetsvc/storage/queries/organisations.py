"""Organisations, their staff members and their API clients.

Unique clashes come back as :class:`DuplicateOrganisation` and :class:`DuplicateStaffMember`, so
the directory can answer them as the domain's errors without knowing the database's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from meetsvc.domain.model import Organisation, OrganisationKind, StaffMember
from meetsvc.domain.roles import Role, may_host, roles_from_text, roles_text
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import api_clients, organisations, staff_members


class DuplicateOrganisation(Exception):
    """The database refused a new organisation: one with that name exists already."""


class DuplicateStaffMember(Exception):
    """The database refused a new staff member (their personal identity number or HSA-id is taken)."""


@dataclass(frozen=True, slots=True)
class NewStaffMember:
    """A staff member's row as written; the personal number only encrypted and keyed-hashed."""

    id: str
    organisation_id: str
    display_name: str
    email: str | None
    roles: frozenset[Role]
    created_at: datetime
    personal_number_enc: bytes | None
    personal_number_hash: str | None
    hsa_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApiClient:
    """An API client whose key has not been revoked."""

    id: str
    organisation_id: str


@dataclass(frozen=True, slots=True)
class ApiClientRecord:
    """An API client as its organisation's administrators see it (never its key)."""

    id: str
    organisation_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def organisation_from_row(row: Any) -> Organisation:
    return Organisation(
        id=row.id,
        name=row.name,
        kind=OrganisationKind(row.kind),
        public_name=row.public_name,
        contact_phone=row.contact_phone,
    )


def staff_from_row(row: Any) -> StaffMember:
    return StaffMember(
        id=row.id,
        organisation_id=row.organisation_id,
        display_name=row.display_name,
        email=row.email,
        roles=roles_from_text(row.roles),
        has_personal_number=row.personal_number_hash is not None,
        hsa_id=row.hsa_id,
        active=row.active,
    )


# Organisations --------------------------------------------------------------------------------


async def organisation(connection: Connection, organisation_id: str) -> Organisation | None:
    row = (await connection.execute(select(organisations).where(organisations.c.id == organisation_id))).first()
    return organisation_from_row(row) if row else None


async def organisation_by_id_or_name(connection: Connection, id_or_name: str) -> Organisation | None:
    row = (
        await connection.execute(
            select(organisations).where((organisations.c.id == id_or_name) | (organisations.c.name == id_or_name))
        )
    ).first()
    return organisation_from_row(row) if row else None


async def all_organisations(connection: Connection) -> list[Organisation]:
    rows = (await connection.execute(select(organisations).order_by(organisations.c.name))).all()
    return [organisation_from_row(row) for row in rows]


async def insert_organisation(connection: Connection, organisation: Organisation, created_at: datetime) -> None:
    """Raises :class:`DuplicateOrganisation` when the name is taken."""
    try:
        await connection.execute(
            organisations.insert().values(
                id=organisation.id,
                name=organisation.name,
                kind=organisation.kind.value,
                public_name=organisation.public_name,
                created_at=created_at,
            )
        )
    except IntegrityError:
        raise DuplicateOrganisation(organisation.name) from None


async def set_contact_phone(connection: Connection, organisation_id: str, phone: str | None) -> None:
    await connection.execute(
        update(organisations).where(organisations.c.id == organisation_id).values(contact_phone=phone)
    )


async def set_public_name(connection: Connection, organisation_id: str, public_name: str | None) -> None:
    await connection.execute(
        update(organisations).where(organisations.c.id == organisation_id).values(public_name=public_name)
    )


# API clients ----------------------------------------------------------------------------------


async def insert_api_client(
    connection: Connection, *, client_id: str, organisation_id: str, name: str, key_hash: str, created_at: datetime
) -> None:
    await connection.execute(
        api_clients.insert().values(
            id=client_id, organisation_id=organisation_id, name=name, key_hash=key_hash, created_at=created_at
        )
    )


async def api_client_by_key_hash(connection: Connection, key_hash: str) -> ApiClient | None:
    row = (
        await connection.execute(
            select(api_clients.c.id, api_clients.c.organisation_id).where(
                api_clients.c.key_hash == key_hash, api_clients.c.revoked_at.is_(None)
            )
        )
    ).first()
    return ApiClient(id=row.id, organisation_id=row.organisation_id) if row else None


async def api_clients_of_organisation(connection: Connection, organisation_id: str | None) -> list[ApiClientRecord]:
    """The organisation's clients (every organisation's with None), revoked ones too."""
    query = select(api_clients).order_by(api_clients.c.created_at, api_clients.c.id)
    if organisation_id is not None:
        query = query.where(api_clients.c.organisation_id == organisation_id)
    rows = (await connection.execute(query)).all()
    return [ApiClientRecord(r.id, r.organisation_id, r.name, r.created_at, r.revoked_at) for r in rows]


async def api_client(connection: Connection, client_id: str) -> ApiClientRecord | None:
    row = (await connection.execute(select(api_clients).where(api_clients.c.id == client_id))).first()
    return ApiClientRecord(row.id, row.organisation_id, row.name, row.created_at, row.revoked_at) if row else None


async def revoke_api_client(connection: Connection, client_id: str, now: datetime) -> bool:
    """Revoke the key; False if it was revoked already."""
    result = await connection.execute(
        update(api_clients)
        .where(api_clients.c.id == client_id, api_clients.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


# Staff ----------------------------------------------------------------------------------------


async def insert_staff_member(connection: Connection, member: NewStaffMember) -> None:
    """Raises :class:`DuplicateStaffMember` when the database refuses the row."""
    try:
        await connection.execute(
            staff_members.insert().values(
                id=member.id,
                organisation_id=member.organisation_id,
                display_name=member.display_name,
                email=member.email,
                can_organise=may_host(member.roles),
                roles=roles_text(member.roles),
                active=True,
                created_at=member.created_at,
                personal_number_enc=member.personal_number_enc,
                personal_number_hash=member.personal_number_hash,
                hsa_id=member.hsa_id,
            )
        )
    except IntegrityError:
        raise DuplicateStaffMember(member.id) from None


async def staff_of_organisation(connection: Connection, organisation_id: str) -> list[StaffMember]:
    rows = (
        await connection.execute(
            select(staff_members)
            .where(staff_members.c.organisation_id == organisation_id)
            .order_by(staff_members.c.display_name)
        )
    ).all()
    return [staff_from_row(row) for row in rows]


async def staff_member(
    connection: Connection, staff_id: str, *, organisation_id: str | None = None
) -> StaffMember | None:
    """A staff member by id; with ``organisation_id``, only one of that organisation's."""
    query = select(staff_members).where(staff_members.c.id == staff_id)
    if organisation_id is not None:
        query = query.where(staff_members.c.organisation_id == organisation_id)
    row = (await connection.execute(query)).first()
    return staff_from_row(row) if row else None


async def staff_members_by_id(connection: Connection, staff_ids: tuple[str, ...]) -> dict[str, StaffMember]:
    """Those of ``staff_ids`` that exist, by id (of any organisation: the caller checks which)."""
    rows = (await connection.execute(select(staff_members).where(staff_members.c.id.in_(staff_ids)))).all()
    return {row.id: staff_from_row(row) for row in rows}


@dataclass(frozen=True, slots=True)
class StaffChanges:
    """Only the fields given (not None) change; ``email`` is changed when ``set_email``."""

    display_name: str | None = None
    roles: frozenset[Role] | None = None
    set_email: bool = False
    email: str | None = None
    set_hsa_id: bool = False
    hsa_id: str | None = None


async def update_staff_member(connection: Connection, staff_id: str, changes: StaffChanges) -> None:
    """Raises :class:`DuplicateStaffMember` when another staff member has the HSA-id."""
    values: dict[str, object] = {}
    if changes.display_name is not None:
        values["display_name"] = changes.display_name
    if changes.roles is not None:
        values["roles"] = roles_text(changes.roles)
        values["can_organise"] = may_host(changes.roles)
    if changes.set_email:
        values["email"] = changes.email
    if changes.set_hsa_id:
        values["hsa_id"] = changes.hsa_id
    if values:
        try:
            await connection.execute(update(staff_members).where(staff_members.c.id == staff_id).values(**values))
        except IntegrityError:
            raise DuplicateStaffMember(staff_id) from None


async def deactivate_staff_member(connection: Connection, staff_id: str, now: datetime) -> bool:
    """Mark them inactive; False if they were already."""
    result = await connection.execute(
        update(staff_members)
        .where(staff_members.c.id == staff_id, staff_members.c.active.is_(True))
        .values(active=False, deactivated_at=now)
    )
    return bool(result.rowcount)
