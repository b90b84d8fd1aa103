"""The outbox: messages recorded with the change that causes them, sent afterwards.

Recording (:func:`enqueue`, :func:`cancel_pending`) runs on the caller's connection, inside the
transaction of the booking change, so a notice exists exactly when its change does. Sending is
the :class:`~meetsvc.notify.deliverer.Deliverer`'s: it claims due messages with :func:`claim`
and reports each outcome with :func:`mark_sent`, :func:`mark_retry` or :func:`mark_failed`,
each in a transaction of its own. The statements are in :mod:`meetsvc.storage.queries.outbox`.

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

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from meetsvc.domain.messages import ChannelName, MessageKind, OutgoingMessage
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import outbox as queries
from meetsvc.storage.queries.outbox import DeliveryRecord, NewMessage, StoredMessage

__all__ = [
    "DeliveryRecord",
    "NewMessage",
    "StoredMessage",
    "cancel_pending",
    "claim",
    "delivery_records",
    "development_messages",
    "enqueue",
    "has_reached",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "purge_personal_data",
]


async def enqueue(connection: Connection, message: NewMessage, *, now: datetime) -> str | None:
    """Record a message in the caller's transaction; its id, or None if its key was taken."""
    return await queries.insert(connection, message, now=now)


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
    """Cancel messages not yet claimed (superseded, or their meeting is gone); how many.

    Messages already being sent are left alone: they are out of our hands, and the notice that
    supersedes them follows. ``keep_keys`` spares the messages the caller is about to record
    again, so recording the same notice twice changes nothing.
    """
    return await queries.cancel_pending(
        connection,
        reason=reason,
        meeting_id=meeting_id,
        participant_id=participant_id,
        kinds=kinds,
        channel=channel,
        keep_keys=keep_keys,
    )


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
    return await queries.has_reached(connection, participant_id, channel, kinds, recipient=recipient)


async def claim(
    engine: Engine, *, worker: str, now: datetime, lease: timedelta, limit: int, max_attempts: int
) -> list[OutgoingMessage]:
    """Take up to ``limit`` due messages for ``worker`` until ``now + lease``, in one transaction.

    Due means pending with ``next_attempt_at`` passed, or left ``sending`` by a loop whose lease
    ran out (it died, maybe after sending: that retry is the "at least once"). On the way, it
    cancels messages that expired unsent and fails those whose last allowed attempt never
    reported back.
    """
    async with engine.begin() as connection:
        await queries.cancel_expired(connection, now=now)
        await queries.fail_abandoned(connection, now=now, max_attempts=max_attempts)
        ids = await queries.due_ids(connection, now=now, limit=limit)
        if len(ids) < limit:
            ids += await queries.abandoned_ids(connection, now=now, limit=limit - len(ids))
        if not ids:
            return []
        claimed = await queries.take(connection, ids, worker=worker, until=now + lease)
    return sorted(claimed, key=lambda message: ids.index(message.id))


async def mark_sent(
    engine: Engine, message_id: str, *, worker: str, now: datetime, via: str, keep_content: bool
) -> bool:
    """Record a send; False when the claim was lost meanwhile (the lease ran out)."""
    async with engine.begin() as connection:
        return await queries.mark_sent(
            connection, message_id, worker=worker, now=now, via=via, keep_content=keep_content
        )


async def mark_retry(engine: Engine, message_id: str, *, worker: str, at: datetime, reason: str) -> bool:
    """Put a message back to pending for another try at ``at``."""
    async with engine.begin() as connection:
        return await queries.mark_retry(connection, message_id, worker=worker, at=at, reason=reason)


async def mark_failed(engine: Engine, message_id: str, *, worker: str, reason: str) -> bool:
    """Give up on a message for good, keeping the reason for the organiser's view."""
    async with engine.begin() as connection:
        return await queries.mark_failed(connection, message_id, worker=worker, reason=reason)


async def delivery_records(connection: Connection, meeting_id: str) -> list[DeliveryRecord]:
    """Every message of a meeting, oldest first, for the organiser's per-participant view."""
    return await queries.delivery_records(connection, meeting_id)


async def development_messages(connection: Connection, *, limit: int = 50) -> list[StoredMessage]:
    """The newest messages kept by the development outbox channel, with their text."""
    return await queries.development_messages(connection, limit=limit)


async def purge_personal_data(connection: Connection, meeting_ids: Sequence[str]) -> int:
    """The retention rule's part in the outbox: cancel what is unsent, and clear recipients and
    texts, keeping the pseudonymous record (ids, kinds, outcomes). How many rows were cleared."""
    return await queries.purge_personal_data(connection, meeting_ids)
