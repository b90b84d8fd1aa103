"""eID orders of a browser session: started, followed, and finished.

All of an order's state is here, so any process can answer a status poll or draw the next QR
frame; the QR secret is stored only encrypted (the caller encrypts and decrypts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Row

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import identifications, staff_members

# An order's states: waiting for the person, or finished one of three ways.
PENDING, COMPLETE, FAILED, CANCELLED = "pending", "complete", "failed", "cancelled"


@dataclass(frozen=True, slots=True)
class IdentificationRecord:
    """One eID order as stored."""

    id: str
    session_id: str
    participant_id: str | None
    provider: str
    order_ref: str
    auto_start_token: str | None
    qr_start_token: str | None
    qr_start_secret_enc: bytes | None
    provider_state: str | None
    same_device: bool
    state: str
    hint_code: str | None
    outcome: str | None
    staff_id: str | None
    started_at: datetime


@dataclass(frozen=True, slots=True)
class NewIdentification:
    """An order just started at the eID provider."""

    id: str
    session_id: str
    participant_id: str | None
    provider: str
    order_ref: str
    auto_start_token: str | None
    qr_start_token: str | None
    qr_start_secret_enc: bytes | None
    provider_state: str
    same_device: bool
    client_address_hash: str
    state: str
    hint_code: str | None
    started_at: datetime


def _record(row: Row[*tuple[Any, ...]]) -> IdentificationRecord:
    return IdentificationRecord(
        id=row.id,
        session_id=row.session_id,
        participant_id=row.participant_id,
        provider=row.provider,
        order_ref=row.order_ref,
        auto_start_token=row.auto_start_token,
        qr_start_token=row.qr_start_token,
        qr_start_secret_enc=row.qr_start_secret_enc,
        provider_state=row.provider_state,
        same_device=row.same_device,
        state=row.state,
        hint_code=row.hint_code,
        outcome=row.outcome,
        staff_id=row.staff_id,
        started_at=row.started_at,
    )


def _started_since(since: datetime) -> Select[Any]:
    return select(func.count()).select_from(identifications).where(identifications.c.started_at >= since)


# Reading ---------------------------------------------------------------------------------------


async def started_for_participant_since(connection: Connection, participant_id: str, since: datetime) -> int:
    """Orders started for this participant (from any of their sessions) since then."""
    query = _started_since(since).where(identifications.c.participant_id == participant_id)
    return int((await connection.execute(query)).scalar_one())


async def started_in_session_since(connection: Connection, session_id: str, since: datetime) -> int:
    query = _started_since(since).where(identifications.c.session_id == session_id)
    return int((await connection.execute(query)).scalar_one())


async def started_from_address_since(connection: Connection, address_hash: str, since: datetime) -> int:
    query = _started_since(since).where(identifications.c.client_address_hash == address_hash)
    return int((await connection.execute(query)).scalar_one())


async def latest_in_session(connection: Connection, session_id: str) -> IdentificationRecord | None:
    """The session's most recent order (ties by id, so every process picks the same one)."""
    row = (
        await connection.execute(
            select(identifications)
            .where(identifications.c.session_id == session_id)
            .order_by(identifications.c.started_at.desc(), identifications.c.id)
            .limit(1)
        )
    ).first()
    return _record(row) if row is not None else None


async def latest_state_in_session(connection: Connection, session_id: str) -> str | None:
    """The state of the session's most recent order, None when it started none."""
    state = (
        await connection.execute(
            select(identifications.c.state)
            .where(identifications.c.session_id == session_id)
            .order_by(identifications.c.started_at.desc())
            .limit(1)
        )
    ).scalar()
    return str(state) if state is not None else None


async def by_order_ref(connection: Connection, order_ref: str) -> IdentificationRecord | None:
    row = (await connection.execute(select(identifications).where(identifications.c.order_ref == order_ref))).first()
    return _record(row) if row is not None else None


async def staff_id_for_sign_in(
    connection: Connection,
    *,
    personal_number_hash: str | None = None,
    hsa_id: str | None = None,
    organisation_id: str | None = None,
) -> str | None:
    """The staff member a verified person is, None when they are not in the staff directory.

    The one lookup of every staff sign-in (BankID by personal number; OpenID Connect by personal
    number or HSA-id, within the organisation whose provider vouched): a rule about who may sign
    in belongs here, so it holds for every way in (BankID, Freja eID+ and OpenID Connect): a
    deactivated staff member is nobody here. Exactly one of the two keys is given.
    """
    if (personal_number_hash is None) == (hsa_id is None):
        raise ValueError("give exactly one of personal_number_hash and hsa_id")
    query = select(staff_members.c.id).where(staff_members.c.active.is_(True))
    if personal_number_hash is not None:
        query = query.where(staff_members.c.personal_number_hash == personal_number_hash)
    else:
        query = query.where(staff_members.c.hsa_id == hsa_id)
    if organisation_id is not None:
        query = query.where(staff_members.c.organisation_id == organisation_id)
    staff_id = (await connection.execute(query)).scalar()
    return str(staff_id) if staff_id is not None else None


# Writing ---------------------------------------------------------------------------------------


async def insert_identification(connection: Connection, new: NewIdentification) -> None:
    await connection.execute(
        identifications.insert().values(
            id=new.id,
            session_id=new.session_id,
            participant_id=new.participant_id,
            provider=new.provider,
            order_ref=new.order_ref,
            auto_start_token=new.auto_start_token,
            qr_start_token=new.qr_start_token,
            qr_start_secret_enc=new.qr_start_secret_enc,
            provider_state=new.provider_state,
            same_device=new.same_device,
            client_address_hash=new.client_address_hash,
            state=new.state,
            hint_code=new.hint_code,
            started_at=new.started_at,
        )
    )


async def cancel_if_pending(connection: Connection, identification_id: str, *, now: datetime) -> None:
    """Mark the order cancelled, unless it finished meanwhile (the state is checked in the update)."""
    await connection.execute(
        update(identifications)
        .where(identifications.c.id == identification_id, identifications.c.state == PENDING)
        .values(state=CANCELLED, hint_code="cancelled", finished_at=now)
    )


async def record_hint_if_pending(connection: Connection, order_ref: str, hint_code: str | None) -> None:
    await connection.execute(
        update(identifications)
        .where(identifications.c.order_ref == order_ref, identifications.c.state == PENDING)
        .values(hint_code=hint_code)
    )


async def mark_failed(connection: Connection, identification_id: str, *, hint_code: str | None, now: datetime) -> None:
    await connection.execute(
        update(identifications)
        .where(identifications.c.id == identification_id)
        .values(state=FAILED, hint_code=hint_code, finished_at=now)
    )


async def mark_complete(
    connection: Connection,
    identification_id: str,
    *,
    outcome: str,
    staff_id: str | None,
    now: datetime,
    level_of_assurance: str | None = None,
) -> None:
    """Record a completed order's outcome and the level of assurance the provider vouched at
    (the hint code has nothing more to say)."""
    await connection.execute(
        update(identifications)
        .where(identifications.c.id == identification_id)
        .values(
            state=COMPLETE,
            hint_code=None,
            outcome=outcome,
            staff_id=staff_id,
            level_of_assurance=level_of_assurance,
            finished_at=now,
        )
    )
