"""The words of the outbox: which channel, what kind of notice, where a message is, and what a
channel is handed to send. Free of storage and transport, so channels and tests share them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ChannelName(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"


class MessageKind(str, enum.Enum):
    INVITATION = "invitation"
    UPDATE = "update"
    CANCELLATION = "cancellation"
    REMINDER = "reminder"
    #: To an e-mail address a participant no longer has: takes the meeting out of that calendar.
    WITHDRAWAL = "withdrawal"

    @property
    def cancels_calendar_entry(self) -> bool:
        """Whether the calendar file says METHOD:CANCEL, and the message carries no link."""
        return self in (MessageKind.CANCELLATION, MessageKind.WITHDRAWAL)


class MessageStatus(str, enum.Enum):
    """``pending`` → ``sending`` (claimed under a lease) → ``sent`` | ``failed``, or back to
    ``pending`` for a retry; ``cancelled`` when superseded or too late before it was sent."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One claimed outbox row, as a channel sees it.

    ``id`` is stable across retries: the e-mail channel derives the Message-ID from it and the
    SMS gateway receives it as an idempotency key, so a resend after a crash is recognisable.
    """

    id: str
    channel: ChannelName
    kind: MessageKind
    recipient: str = field(repr=False)
    body: str = field(repr=False)
    language: str
    created_at: datetime
    attempts: int
    subject: str | None = None
    attachment: str | None = field(default=None, repr=False)
    sender_name: str | None = None
    #: Whose message it is: the deliverer writes that participant's link into it as it is sent.
    participant_id: str | None = None
