"""The outbox table's statements: recording, claiming, marking and reading messages.

:mod:`meetsvc.notify.outbox` decides when each runs and holds the transaction; the statements
here carry the guarantees that only the database can give:

* :func:`insert` is an ``INSERT … ON CONFLICT DO UPDATE … WHERE status = 'cancelled'`` on the
  unique ``dedupe_key``: a duplicate records nothing (on PostgreSQL a plain duplicate insert
  would abort the caller's whole transaction), and only a message cancelled before it was sent
  is revived.
* :func:`due_ids` and :func:`abandoned_ids` lock the rows they pick with ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL (SQLite renders no such clause; its ``BEGIN IMMEDIATE`` already holds
  the write lock), so two loops claiming at once never pick the same message.
* :func:`mark_sent`, :func:`mark_retry` and :func:`mark_failed` change a row only while it is
  still ``sending`` under the same loop's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from meetsvc.domain.messages import ChannelName, MessageKind, MessageStatus, OutgoingMessage
from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import outbox_messages as outbox

_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value
_CANCELLED = MessageStatus.CANCELLED.value

#: The columns that hold personal data; cleared when a message is final. (A link is never
#: stored: the texts hold a placeholder for it, see :mod:`meetsvc.notify.links`.)
_CONTENT_CLEARED: dict[str, None] = {"body": None, "attachment": None}


@dataclass(frozen=True, slots=True)
class NewMessage:
    meeting_id: str
    participant_id: str
    channel: ChannelName
    kind: MessageKind
    dedupe_key: str
    recipient: str
    language: str
    body: str
    subject: str | None = None
    attachment: str | None = None
    sender_name: str | None = None
    #: Not sent before this (reminders); None sends at once.
    send_after: datetime | None = None
    #: Cancelled instead of sent when not sent by then.
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One message as the organiser's view shows it: no content, no address."""

    id: str
    participant_id: str
    channel: ChannelName
    kind: MessageKind
    status: MessageStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message with its content, for the development outbox page."""

    id: str
    meeting_id: str
    participant_id: str
    channel: ChannelName
    kind: MessageKind
    status: MessageStatus
    recipient: str | None
    subject: str | None
    body: str | None
    attachment: str | None
    created_at: datetime
    sent_at: datetime | None


# SQLAlchemy has an ``INSERT … ON CONFLICT`` construct per database; both spell it alike.
_INSERT_WITH_CONFLICT: dict[str, Callable[[Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


# Recording, in the caller's transaction -----------------------------------------------------


async def insert(connection: Connection, message: NewMessage, *, now: datetime) -> str | None:
    """Record a message, or revive a cancelled one under the same key; its id, or None if the
    key was taken by a message that was not cancelled."""
    values = {
        "id": str(uuid.uuid4()),
        "meeting_id": message.meeting_id,
        "participant_id": message.participant_id,
        "channel": message.channel.value,
        "kind": message.kind.value,
        "dedupe_key": message.dedupe_key,
        "recipient": message.recipient,
        "sender_name": message.sender_name,
        "subject": message.subject,
        "body": message.body,
        "attachment": message.attachment,
        "language": message.language,
        "status": _PENDING,
        "attempts": 0,
        "next_attempt_at": message.send_after or now,
        "expires_at": message.expires_at,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "sent_via": None,
        "claimed_by": None,
        "claimed_until": None,
    }
    statement = _INSERT_WITH_CONFLICT[connection.dialect.name](outbox).values(**values)
    revived = {
        name: statement.excluded[name]
        for name in values
        if name not in ("id", "dedupe_key", "meeting_id", "participant_id")
    }
    statement = statement.on_conflict_do_update(
        index_elements=[outbox.c.dedupe_key], set_=revived, where=outbox.c.status == _CANCELLED
    ).returning(outbox.c.id)
    found: str | None = (await connection.execute(statement)).scalar_one_or_none()
    return found


async def cancel_pending(
    connection: Connection,
    *,
    reason: str,
    meeting_id: str | None = None,
    participant_id: str | None = None,
    kinds: Iterable[MessageKind] | None = None,
    channel: ChannelName | None = None,
    keep_keys: Iterable[str] = (),
) -> int:
    """Cancel the pending messages that match (never those being sent), sparing ``keep_keys``;
    how many."""
    if meeting_id is None and participant_id is None:
        raise ValueError("name a meeting or a participant")
    conditions = [outbox.c.status == _PENDING]
    if meeting_id is not None:
        conditions.append(outbox.c.meeting_id == meeting_id)
    if participant_id is not None:
        conditions.append(outbox.c.participant_id == participant_id)
    if kinds is not None:
        conditions.append(outbox.c.kind.in_([kind.value for kind in kinds]))
    if channel is not None:
        conditions.append(outbox.c.channel == channel.value)
    kept = list(keep_keys)
    if kept:
        conditions.append(outbox.c.dedupe_key.not_in(kept))
    result = await connection.execute(
        update(outbox).where(*conditions).values(status=_CANCELLED, last_error=reason[:200], **_CONTENT_CLEARED)
    )
    return result.rowcount


async def has_reached(
    connection: Connection,
    participant_id: str,
    channel: ChannelName,
    kinds: Iterable[MessageKind],
    *,
    recipient: str | None = None,
) -> bool:
    """Whether a message of these kinds went out (or is going out) to the participant on a
    channel; with ``recipient``, to that address or number."""
    query = select(outbox.c.id).where(
        outbox.c.participant_id == participant_id,
        outbox.c.channel == channel.value,
        outbox.c.kind.in_([kind.value for kind in kinds]),
        outbox.c.status.in_([_SENDING, MessageStatus.SENT.value]),
    )
    if recipient is not None:
        query = query.where(outbox.c.recipient == recipient)
    found = await connection.execute(query.limit(1))
    return found.first() is not None


# Claiming, in the delivery loop's transaction -----------------------------------------------


def _stale(now: datetime) -> ColumnElement[bool]:
    """Left ``sending`` by a loop whose lease ran out."""
    return and_(outbox.c.status == _SENDING, outbox.c.claimed_until <= now)


async def cancel_expired(connection: Connection, *, now: datetime) -> None:
    """Cancel the messages that expired unsent (pending, or abandoned by a loop that died)."""
    await connection.execute(
        update(outbox)
        .where(outbox.c.expires_at <= now, or_(outbox.c.status == _PENDING, _stale(now)))
        .values(
            status=_CANCELLED,
            last_error="expired before it could be sent",
            claimed_by=None,
            claimed_until=None,
            **_CONTENT_CLEARED,
        )
    )


async def fail_abandoned(connection: Connection, *, now: datetime, max_attempts: int) -> None:
    """Fail the abandoned messages whose last allowed attempt never reported back."""
    await connection.execute(
        update(outbox)
        .where(_stale(now), outbox.c.attempts >= max_attempts)
        .values(
            status=MessageStatus.FAILED.value,
            last_error="outcome of the last attempt unknown: the sending process stopped",
            claimed_by=None,
            claimed_until=None,
            **_CONTENT_CLEARED,
        )
    )


async def due_ids(connection: Connection, *, now: datetime, limit: int) -> list[str]:
    """Up to ``limit`` pending messages whose time has come, oldest due first, locked for this
    transaction and skipped by any other."""
    rows = await connection.execute(
        select(outbox.c.id)
        .where(outbox.c.status == _PENDING, outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars().all())


async def abandoned_ids(connection: Connection, *, now: datetime, limit: int) -> list[str]:
    """Up to ``limit`` messages left ``sending`` by a loop whose lease ran out, locked alike."""
    rows = await connection.execute(
        select(outbox.c.id)
        .where(_stale(now))
        .order_by(outbox.c.claimed_until, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars().all())


_CLAIMED_COLUMNS = (
    outbox.c.id,
    outbox.c.participant_id,
    outbox.c.channel,
    outbox.c.kind,
    outbox.c.recipient,
    outbox.c.body,
    outbox.c.language,
    outbox.c.created_at,
    outbox.c.attempts,
    outbox.c.subject,
    outbox.c.attachment,
    outbox.c.sender_name,
)


async def take(connection: Connection, ids: Sequence[str], *, worker: str, until: datetime) -> list[OutgoingMessage]:
    """Stamp the messages as ``sending`` by ``worker`` until ``until``, counting the attempt;
    the messages as their channels see them, in no particular order."""
    rows = await connection.execute(
        update(outbox)
        .where(outbox.c.id.in_(list(ids)))
        .values(status=_SENDING, claimed_by=worker, claimed_until=until, attempts=outbox.c.attempts + 1)
        .returning(*_CLAIMED_COLUMNS)
    )
    return [
        OutgoingMessage(
            id=row.id,
            channel=ChannelName(row.channel),
            kind=MessageKind(row.kind),
            recipient=row.recipient or "",
            body=row.body or "",
            language=row.language,
            created_at=row.created_at,
            attempts=row.attempts,
            subject=row.subject,
            attachment=row.attachment,
            sender_name=row.sender_name,
            participant_id=row.participant_id,
        )
        for row in rows.all()
    ]


# Marking an outcome, only while the claim holds ----------------------------------------------


def _still_mine(message_id: str, worker: str) -> ColumnElement[bool]:
    return and_(outbox.c.id == message_id, outbox.c.status == _SENDING, outbox.c.claimed_by == worker)


async def mark_sent(
    connection: Connection, message_id: str, *, worker: str, now: datetime, via: str, keep_content: bool
) -> bool:
    """Record a send; False when the claim was lost meanwhile."""
    values: dict[str, Any] = {
        "status": MessageStatus.SENT.value,
        "sent_at": now,
        "sent_via": via,
        "last_error": None,
        "claimed_by": None,
        "claimed_until": None,
    }
    if not keep_content:
        values.update(_CONTENT_CLEARED)
    result = await connection.execute(update(outbox).where(_still_mine(message_id, worker)).values(**values))
    return result.rowcount == 1


async def mark_retry(connection: Connection, message_id: str, *, worker: str, at: datetime, reason: str) -> bool:
    """Put a message back to pending for another try at ``at``; False when the claim was lost."""
    result = await connection.execute(
        update(outbox)
        .where(_still_mine(message_id, worker))
        .values(status=_PENDING, next_attempt_at=at, last_error=reason[:200], claimed_by=None, claimed_until=None)
    )
    return result.rowcount == 1


async def mark_failed(connection: Connection, message_id: str, *, worker: str, reason: str) -> bool:
    """Give up on a message, clearing its content; False when the claim was lost."""
    result = await connection.execute(
        update(outbox)
        .where(_still_mine(message_id, worker))
        .values(
            status=MessageStatus.FAILED.value,
            last_error=reason[:200],
            claimed_by=None,
            claimed_until=None,
            **_CONTENT_CLEARED,
        )
    )
    return result.rowcount == 1


# Reading and purging --------------------------------------------------------------------------


async def delivery_records(connection: Connection, meeting_id: str) -> list[DeliveryRecord]:
    """Every message of a meeting, oldest first, without content or address."""
    rows = (
        await connection.execute(
            select(outbox).where(outbox.c.meeting_id == meeting_id).order_by(outbox.c.created_at, outbox.c.id)
        )
    ).all()
    return [
        DeliveryRecord(
            id=row.id,
            participant_id=row.participant_id,
            channel=ChannelName(row.channel),
            kind=MessageKind(row.kind),
            status=MessageStatus(row.status),
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at,
        )
        for row in rows
    ]


async def development_messages(connection: Connection, *, limit: int = 50) -> list[StoredMessage]:
    """The newest messages kept by the development outbox channel, with their text."""
    rows = (
        await connection.execute(
            select(outbox)
            .where(outbox.c.sent_via == "outbox")
            .order_by(outbox.c.sent_at.desc(), outbox.c.id)
            .limit(limit)
        )
    ).all()
    return [
        StoredMessage(
            id=row.id,
            meeting_id=row.meeting_id,
            participant_id=row.participant_id,
            channel=ChannelName(row.channel),
            kind=MessageKind(row.kind),
            status=MessageStatus(row.status),
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            attachment=row.attachment,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )
        for row in rows
    ]


async def purge_personal_data(connection: Connection, meeting_ids: Sequence[str]) -> int:
    """Cancel what is unsent and clear recipients and texts of these meetings' messages, keeping
    the pseudonymous record (ids, kinds, outcomes). How many rows were cleared."""
    if not meeting_ids:
        return 0
    in_meetings = outbox.c.meeting_id.in_(list(meeting_ids))
    await connection.execute(
        update(outbox)
        .where(in_meetings, outbox.c.status == _PENDING)
        .values(status=_CANCELLED, last_error="personal data purged before sending")
    )
    result = await connection.execute(
        update(outbox)
        .where(
            in_meetings, or_(outbox.c.recipient.is_not(None), outbox.c.body.is_not(None), outbox.c.subject.is_not(None))
        )
        .values(recipient=None, subject=None, sender_name=None, **_CONTENT_CLEARED)
    )
    return result.rowcount
