"""Every plug-in point of notification delivery, and the errors a channel may raise.

::

    DeliveryError
     ├── TemporaryDeliveryError   try again later (4xx SMTP reply, 429/5xx, network, timeouts)
     └── PermanentDeliveryError   this message will never go through (5xx SMTP reply, 4xx HTTP)

A :class:`Channel` takes one claimed outbox message and sends it, or raises one of the two.
The e-mail channel (:class:`meetsvc.notify.smtp.EmailChannel`) speaks SMTP itself; SMS goes
through an :class:`SmsGateway` (:class:`meetsvc.notify.sms_http.HttpSmsGateway` is the generic
one) wrapped in :class:`SmsChannel`; :class:`OutboxOnlyChannel` sends nothing, for development.

Reasons carried by the errors end up in the outbox's ``last_error`` and in the organiser's view,
so they are built from codes and fixed words, never from a server's free text, which often
repeats the recipient's address.
"""

from __future__ import annotations

from typing import Protocol

from meetsvc.domain.messages import OutgoingMessage


class DeliveryError(Exception):
    """A channel could not send a message; ``reason`` holds no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class TemporaryDeliveryError(DeliveryError):
    """Worth another try after a back-off; ``retry_after`` is the earliest the other side asked for."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Another try would get the same answer: the message is marked failed at once."""


class Channel(Protocol):
    """Sends claimed outbox messages of one channel (e-mail or SMS)."""

    #: Recorded in the outbox as ``sent_via``.
    name: str
    #: Whether a sent message keeps its text in the outbox: only the development outbox, whose
    #: page shows it. Real channels clear it: a final message's text is of no further use.
    retains_content: bool

    async def deliver(self, message: OutgoingMessage) -> None: ...

    async def aclose(self) -> None: ...


class SmsGateway(Protocol):
    """An SMS provider. ``message_id`` is stable across retries: pass it on as an idempotency key
    where the provider has one, so a resend after a crash can be recognised."""

    name: str

    async def send(self, message_id: str, to: str, text: str) -> None: ...

    async def aclose(self) -> None: ...


class SmsChannel:
    """The SMS channel: the message's text, unchanged, through the configured gateway."""

    retains_content = False

    def __init__(self, gateway: SmsGateway) -> None:
        self._gateway = gateway
        self.name = gateway.name

    async def deliver(self, message: OutgoingMessage) -> None:
        await self._gateway.send(message.id, message.recipient, message.body)

    async def aclose(self) -> None:
        await self._gateway.aclose()


class OutboxOnlyChannel:
    """Development: nothing leaves the machine. The message is marked sent with ``sent_via =
    "outbox"`` and keeps its text, which the development page shows."""

    name = "outbox"
    retains_content = True

    async def deliver(self, message: OutgoingMessage) -> None:
        return None

    async def aclose(self) -> None:
        return None
