"""Browser sessions: only the hash of a cookie's token is stored, never the token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, select, update
from sqlalchemy.engine import Row

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import browser_sessions, participants


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session as stored, with the times that decide whether it is still live."""

    id: str
    kind: str
    participant_id: str | None
    staff_id: str | None
    csrf_token: str = field(repr=False)
    language: str
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str
    token_hash: str
    kind: str
    participant_id: str | None
    staff_id: str | None
    csrf_token: str = field(repr=False)
    language: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """A staff session to be checked inside another statement, a host's decision, instead of in
    a round trip of its own. Live when not ended, not expired and last seen after
    ``seen_after``; its idle clock is moved (:func:`touch_session`) by the transaction that
    checked it when it was last seen before ``touch_before``."""

    id: str
    staff_id: str
    now: datetime
    seen_after: datetime
    touch_before: datetime


def live_session() -> ColumnElement[bool]:
    """The join condition that keeps a statement's rows only while the session is live, its
    values named parameters (:func:`live_session_parameters`): a statement built once with it
    serves every check."""
    return and_(
        browser_sessions.c.id == bindparam("session_id"),
        browser_sessions.c.staff_id == bindparam("session_staff_id"),
        browser_sessions.c.ended_at.is_(None),
        browser_sessions.c.expires_at > bindparam("session_now"),
        browser_sessions.c.last_seen_at > bindparam("session_seen_after"),
    )


def live_session_parameters(check: SessionCheck) -> dict[str, Any]:
    """The values of :func:`live_session`'s parameters for one check."""
    return {
        "session_id": check.id,
        "session_staff_id": check.staff_id,
        "session_now": check.now,
        "session_seen_after": check.seen_after,
    }


async def touch_if_due(connection: Connection, check: SessionCheck, last_seen_at: datetime) -> None:
    """Move the checked session's idle clock when it is due (at most every so often)."""
    if last_seen_at <= check.touch_before:
        await touch_session(connection, check.id, now=check.now)


def _record(row: Row[*tuple[Any, ...]]) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        kind=row.kind,
        participant_id=row.participant_id,
        staff_id=row.staff_id,
        csrf_token=row.csrf_token,
        language=row.language,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


async def insert_session(connection: Connection, new: NewSession) -> None:
    """Store a new session, seen for the first time when it is created."""
    await connection.execute(
        browser_sessions.insert().values(
            id=new.id,
            token_hash=new.token_hash,
            kind=new.kind,
            participant_id=new.participant_id,
            staff_id=new.staff_id,
            csrf_token=new.csrf_token,
            language=new.language,
            created_at=new.created_at,
            last_seen_at=new.created_at,
            expires_at=new.expires_at,
        )
    )


async def by_token_hash(connection: Connection, token_hash: str) -> SessionRecord | None:
    row = (
        await connection.execute(select(browser_sessions).where(browser_sessions.c.token_hash == token_hash))
    ).first()
    return _record(row) if row is not None else None


async def by_id(connection: Connection, session_id: str) -> SessionRecord | None:
    row = (await connection.execute(select(browser_sessions).where(browser_sessions.c.id == session_id))).first()
    return _record(row) if row is not None else None


async def session_language(connection: Connection, session_id: str) -> str:
    """The session's language (raises if there is no such session)."""
    language = (
        await connection.execute(select(browser_sessions.c.language).where(browser_sessions.c.id == session_id))
    ).scalar_one()
    return str(language)


async def end_session(connection: Connection, session_id: str, *, now: datetime, reason: str | None = None) -> None:
    await connection.execute(
        update(browser_sessions)
        .where(browser_sessions.c.id == session_id, browser_sessions.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


async def end_participant_sessions(connection: Connection, participant_id: str, *, now: datetime, reason: str) -> None:
    """End every live session opened on this participant's invitation, saying why."""
    await connection.execute(
        update(browser_sessions)
        .where(browser_sessions.c.participant_id == participant_id, browser_sessions.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


async def end_meeting_sessions(connection: Connection, meeting_id: str, *, now: datetime, reason: str) -> None:
    """End every live participant session of a meeting's invitations, saying why."""
    ids = select(participants.c.id).where(participants.c.meeting_id == meeting_id)
    await connection.execute(
        update(browser_sessions)
        .where(browser_sessions.c.participant_id.in_(ids), browser_sessions.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


async def end_staff_sessions(connection: Connection, staff_id: str, *, now: datetime) -> int:
    """End every live session of one staff member; how many."""
    result = await connection.execute(
        update(browser_sessions)
        .where(browser_sessions.c.staff_id == staff_id, browser_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)


async def touch_session(connection: Connection, session_id: str, *, now: datetime) -> None:
    """Move the session's idle clock."""
    await connection.execute(
        update(browser_sessions).where(browser_sessions.c.id == session_id).values(last_seen_at=now)
    )


async def delete_unused_sessions(connection: Connection, *, last_seen_before: datetime) -> int:
    """Delete the sessions last seen before the cut-off (their identification orders go with
    them, by the foreign key's cascade); how many."""
    result = await connection.execute(
        delete(browser_sessions).where(browser_sessions.c.last_seen_at < last_seen_before)
    )
    return int(result.rowcount or 0)
