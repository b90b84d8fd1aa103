"""Where each participant's messages stand: the view organisers act on, on their page and
through the API.

Per participant and channel only the newest message counts (an update supersedes the
invitation it follows); cancelled messages are left out. "Sent" means the mail server or SMS
gateway accepted the message: whether it reached the inbox or phone, neither tells us. No
content and no address is part of this view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from meetsvc.domain.messages import MessageKind, MessageStatus
from meetsvc.notify import outbox
from meetsvc.notify.links import PERSONAL_LINK, PersonalLinks, calendar_with_link
from meetsvc.notify.outbox import DeliveryRecord, StoredMessage
from meetsvc.storage.engine import Connection, Engine


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    channel: str
    kind: str
    #: pending, retrying, sending, sent or failed
    state: str
    #: sent: when; retrying: the next try; otherwise when the message was recorded
    at: datetime | None
    #: the last failure's reason, as the server or gateway gave it
    reason: str | None


def _state(record: DeliveryRecord) -> str:
    if record.status is MessageStatus.PENDING and record.attempts > 0:
        return "retrying"
    return record.status.value


def latest_per_channel(records: list[DeliveryRecord]) -> dict[str, list[DeliveryLine]]:
    """Each participant's newest message on each channel: what the leader needs to decide whom
    to phone."""
    latest: dict[tuple[str, str], DeliveryRecord] = {}
    for record in records:  # oldest first
        # A withdrawal goes to an address the participant no longer has: not where they stand.
        if record.status is MessageStatus.CANCELLED or record.kind is MessageKind.WITHDRAWAL:
            continue
        latest[(record.participant_id, record.channel.value)] = record
    lines: dict[str, list[DeliveryLine]] = {}
    for (participant_id, channel), record in sorted(latest.items()):
        at = (
            record.sent_at
            if record.status is MessageStatus.SENT
            else (record.next_attempt_at if _state(record) == "retrying" else record.created_at)
        )
        lines.setdefault(participant_id, []).append(
            DeliveryLine(channel, record.kind.value, _state(record), at, record.last_error)
        )
    return lines


async def deliveries_by_participant(connection: Connection, meeting_id: str) -> dict[str, list[DeliveryLine]]:
    """For a meeting the caller has already been allowed to see."""
    return latest_per_channel(await outbox.delivery_records(connection, meeting_id))


class Deliveries:
    """What the pages read of the outbox, each read on a connection of its own: the page
    handlers ask this instead of opening the database themselves."""

    def __init__(self, engine: Engine, links: PersonalLinks | None = None) -> None:
        self._engine = engine
        self._links = links

    async def by_participant(self, meeting_id: str) -> dict[str, list[DeliveryLine]]:
        """For a meeting the caller has already been allowed to see."""
        async with self._engine.connect() as connection:
            return await deliveries_by_participant(connection, meeting_id)

    async def development_messages(self, *, limit: int = 50) -> list[StoredMessage]:
        """The newest messages kept by the development outbox channel, with their text and the
        participant's current link written in (the stored text holds only a placeholder)."""
        async with self._engine.connect() as connection:
            messages = await outbox.development_messages(connection, limit=limit)
            links = {
                participant_id: await self._links.current(connection, participant_id) if self._links else None
                for participant_id in {message.participant_id for message in messages}
            }
        return [_with_current_link(message, links[message.participant_id]) for message in messages]


def _with_current_link(message: StoredMessage, link: str | None) -> StoredMessage:
    if link is None:
        return message
    return dataclasses.replace(
        message,
        body=message.body.replace(PERSONAL_LINK, link) if message.body else message.body,
        attachment=calendar_with_link(message.attachment, link) if message.attachment else message.attachment,
    )
