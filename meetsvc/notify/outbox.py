"""The outbox table: messages recorded with the change that causes them, sent afterwards.

Recording (:func:`enqueue`, :func:`cancel_pending`) runs on the caller's connection, inside the
transaction of the booking change, so a notice exists exactly when its change does. Sending is
the :class:`~meetsvc.notify.deliverer.Deliverer`'s: it claims due messages with :func:`claim`
and reports each outcome with :func:`mark_sent`, :func:`mark_retry` or :func:`mark_failed`.

Guarantees, and how:

* **Never enqueued twice.** ``dedupe_key`` is unique and :func:`enqueue` is an
  ``INSERT … ON CONFLICT DO NOTHING`` (on PostgreSQL a plain duplicate insert would abort the
  caller's whole transaction). The one exception is a message that was *cancelled* before it was
  ever sent: enqueueing its key again revives it (a reminder superseded by an update and then
  needed again for the same time).
* **Never claimed by two loops at once.** A claim takes due rows and stamps them with the loop's
  id and a lease in one transaction: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
  write lock taken by ``BEGIN IMMEDIATE`` on SQLite. A row whose lease ran out (its loop died)
  can be claimed again; that is the only way a message is sent twice.
* **Marking is conditional on the claim:** an outcome is written only while the row is still
  ``sending`` under the same loop's id, so a loop that overran its lease cannot overwrite the
  outcome of the loop that took the message over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meetsvc.notify.model import ChannelName, MessageKind, MessageStatus, OutgoingMessage
from meetsvc.storage.tables import outbox_messages as outbox

_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value
_CANCELLED = MessageStatus.CANCELLED.value

#: The columns that hold personal data or a live link; cleared when a message is final.
_CONTENT_CLEARED = {"body": None, "attachment": None}


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


def _upsert(connection: AsyncConnection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


async def enqueue(connection: AsyncConnection, message: NewMessage, *, now: datetime) -> str | None:
    """Record a message in the caller's transaction; its id, or None if its key was taken."""
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
    statement = _upsert(connection)(outbox).values(**values)
    revived = {name: statement.excluded[name] for name in values if name not in ("id", "dedupe_key", "meeting_id", "participant_id")}
    statement = statement.on_conflict_do_update(
        index_elements=[outbox.c.dedupe_key], set_=revived, where=outbox.c.status == _CANCELLED
    ).returning(outbox.c.id)
    return (await connection.execute(statement)).scalar_one_or_none()


async def cancel_pending(
    connection: AsyncConnection,
    *,
    reason: str,
    meeting_id: str | None = None,
    participant_id: str | None = None,
    kinds: Iterable[MessageKind] | None = None,
    channel: ChannelName | None = None,
    keep_keys: Iterable[str] = (),
) -> int:
    """Cancel messages not yet claimed (superseded, or their meeting is gone); how many.

    Messages already being sent are left alone: they are out of our hands, and the notice that
    supersedes them follows. ``keep_keys`` spares the messages the caller is about to record
    again, so recording the same notice twice changes nothing.
    """
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
    connection: AsyncConnection, participant_id: str, channel: ChannelName, kinds: Iterable[MessageKind]
) -> bool:
    """Whether a message of these kinds went out (or is going out) to the participant on a channel."""
    found = await connection.execute(
        select(outbox.c.id)
        .where(
            outbox.c.participant_id == participant_id,
            outbox.c.channel == channel.value,
            outbox.c.kind.in_([kind.value for kind in kinds]),
            outbox.c.status.in_([_SENDING, MessageStatus.SENT.value]),
        )
        .limit(1)
    )
    return found.first() is not None


def _outgoing(row: Row) -> OutgoingMessage:
    return OutgoingMessage(
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
    )


_CLAIMED_COLUMNS = (
    outbox.c.id, outbox.c.channel, outbox.c.kind, outbox.c.recipient, outbox.c.body, outbox.c.language,
    outbox.c.created_at, outbox.c.attempts, outbox.c.subject, outbox.c.attachment, outbox.c.sender_name,
)


async def claim(
    engine: AsyncEngine, *, worker: str, now: datetime, lease: timedelta, limit: int, max_attempts: int
) -> list[OutgoingMessage]:
    """Take up to ``limit`` due messages for ``worker`` until ``now + lease``, in one transaction.

    Due means pending with ``next_attempt_at`` passed, or left ``sending`` by a loop whose lease
    ran out (it died, maybe after sending: that retry is the "at least once"). On the way, it
    cancels messages that expired unsent and fails those whose last allowed attempt never
    reported back.
    """
    stale = and_(outbox.c.status == _SENDING, outbox.c.claimed_until <= now)
    async with engine.begin() as connection:
        await connection.execute(
            update(outbox)
            .where(outbox.c.expires_at <= now, or_(outbox.c.status == _PENDING, stale))
            .values(
                status=_CANCELLED, last_error="expired before it could be sent", claimed_by=None, claimed_until=None,
                **_CONTENT_CLEARED,
            )
        )
        await connection.execute(
            update(outbox)
            .where(stale, outbox.c.attempts >= max_attempts)
            .values(
                status=MessageStatus.FAILED.value,
                last_error="outcome of the last attempt unknown: the sending process stopped",
                claimed_by=None, claimed_until=None, **_CONTENT_CLEARED,
            )
        )
        due = (
            await connection.execute(
                select(outbox.c.id)
                .where(outbox.c.status == _PENDING, outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
        ids = list(due)
        if len(ids) < limit:
            abandoned = (
                await connection.execute(
                    select(outbox.c.id)
                    .where(stale)
                    .order_by(outbox.c.claimed_until, outbox.c.id)
                    .limit(limit - len(ids))
                    .with_for_update(skip_locked=True)
                )
            ).scalars().all()
            ids += abandoned
        if not ids:
            return []
        rows = (
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(status=_SENDING, claimed_by=worker, claimed_until=now + lease, attempts=outbox.c.attempts + 1)
                .returning(*_CLAIMED_COLUMNS)
            )
        ).all()
    return sorted((_outgoing(row) for row in rows), key=lambda message: ids.index(message.id))


def _still_mine(message_id: str, worker: str) -> Any:
    return and_(outbox.c.id == message_id, outbox.c.status == _SENDING, outbox.c.claimed_by == worker)


async def mark_sent(
    engine: AsyncEngine, message_id: str, *, worker: str, now: datetime, via: str, keep_content: bool
) -> bool:
    """Record a send; False when the claim was lost meanwhile (the lease ran out)."""
    values: dict[str, Any] = {
        "status": MessageStatus.SENT.value, "sent_at": now, "sent_via": via, "last_error": None,
        "claimed_by": None, "claimed_until": None,
    }
    if not keep_content:
        values.update(_CONTENT_CLEARED)
    async with engine.begin() as connection:
        result = await connection.execute(update(outbox).where(_still_mine(message_id, worker)).values(**values))
    return result.rowcount == 1


async def mark_retry(engine: AsyncEngine, message_id: str, *, worker: str, at: datetime, reason: str) -> bool:
    """Put a message back to pending for another try at ``at``."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(outbox)
            .where(_still_mine(message_id, worker))
            .values(status=_PENDING, next_attempt_at=at, last_error=reason[:200], claimed_by=None, claimed_until=None)
        )
    return result.rowcount == 1


async def mark_failed(engine: AsyncEngine, message_id: str, *, worker: str, reason: str) -> bool:
    """Give up on a message for good, keeping the reason for the organiser's view."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(outbox)
            .where(_still_mine(message_id, worker))
            .values(
                status=MessageStatus.FAILED.value, last_error=reason[:200], claimed_by=None, claimed_until=None,
                **_CONTENT_CLEARED,
            )
        )
    return result.rowcount == 1


async def delivery_records(connection: AsyncConnection, meeting_id: str) -> list[DeliveryRecord]:
    """Every message of a meeting, oldest first, for the organiser's per-participant view."""
    rows = (
        await connection.execute(
            select(outbox).where(outbox.c.meeting_id == meeting_id).order_by(outbox.c.created_at, outbox.c.id)
        )
    ).all()
    return [
        DeliveryRecord(
            id=row.id, participant_id=row.participant_id, channel=ChannelName(row.channel), kind=MessageKind(row.kind),
            status=MessageStatus(row.status), attempts=row.attempts, last_error=row.last_error,
            created_at=row.created_at, sent_at=row.sent_at, next_attempt_at=row.next_attempt_at,
        )
        for row in rows
    ]


async def development_messages(connection: AsyncConnection, *, limit: int = 50) -> list[StoredMessage]:
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
            id=row.id, meeting_id=row.meeting_id, participant_id=row.participant_id, channel=ChannelName(row.channel),
            kind=MessageKind(row.kind), status=MessageStatus(row.status), recipient=row.recipient, subject=row.subject,
            body=row.body, attachment=row.attachment, created_at=row.created_at, sent_at=row.sent_at,
        )
        for row in rows
    ]


async def purge_personal_data(connection: AsyncConnection, meeting_ids: Sequence[str]) -> int:
    """The retention rule's part in the outbox: cancel what is unsent, and clear recipients and
    texts, keeping the pseudonymous record (ids, kinds, outcomes). How many rows were cleared."""
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
        .where(in_meetings, or_(outbox.c.recipient.is_not(None), outbox.c.body.is_not(None), outbox.c.subject.is_not(None)))
        .values(recipient=None, subject=None, sender_name=None, **_CONTENT_CLEARED)
    )
    return result.rowcount
