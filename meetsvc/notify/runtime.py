"""Opening notifications for the application: texts, channels, the notices API and the loop.

One call, shaped for aiohttp's ``cleanup_ctx``::

    async with open_notify(settings.notify, engine, public_url=settings.server.base_url, clock=clock) as notify:
        app[NOTIFY] = notify          # notify.notices for booking, notify.deliverer.wake() after commit,
                                      # notify.deliveries for the pages
        yield

Everything that reads files (templates, secrets, CA certificates) runs in a thread, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.messages import ChannelName
from meetsvc.notify.channels import Channel, OutboxOnlyChannel, SmsChannel
from meetsvc.notify.config import NotifySettings
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.links import PersonalLinks
from meetsvc.notify.messages import MessageBuilder
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.sms_http import HttpSmsGateway
from meetsvc.notify.smtp import EmailChannel
from meetsvc.notify.status import Deliveries
from meetsvc.notify.texts import MessageTexts
from meetsvc.storage.engine import Engine


@dataclass(frozen=True)
class NotifyRuntime:
    notices: MessageNotices
    deliverer: Deliverer
    channels: Mapping[ChannelName, Channel]
    texts: MessageTexts
    #: What the pages show of the outbox.
    deliveries: Deliveries


def _open_channels(settings: NotifySettings, public_url: str) -> dict[ChannelName, Channel]:
    channels: dict[ChannelName, Channel] = {}
    if settings.email == "smtp" and settings.smtp is not None:
        channels[ChannelName.EMAIL] = EmailChannel.open(
            settings.smtp, from_address=settings.organizer_address(public_url)
        )
    elif settings.email == "outbox":
        channels[ChannelName.EMAIL] = OutboxOnlyChannel()
    if settings.sms == "http" and settings.sms_http is not None:
        channels[ChannelName.SMS] = SmsChannel(HttpSmsGateway.open(settings.sms_http))
    elif settings.sms == "outbox":
        channels[ChannelName.SMS] = OutboxOnlyChannel()
    return channels


async def open_channels(settings: NotifySettings, *, public_url: str) -> dict[ChannelName, Channel]:
    """The configured channels; reads secret and certificate files, in a thread."""
    return await asyncio.to_thread(_open_channels, settings, public_url)


@asynccontextmanager
async def open_notify(
    settings: NotifySettings,
    engine: Engine,
    *,
    public_url: str,
    clock: Clock = utc_now,
    deliver: bool = True,
    links: PersonalLinks | None = None,
) -> AsyncIterator[NotifyRuntime]:
    """Load the texts, open the channels and (unless ``deliver`` is False) start this process's
    one delivery loop; on exit let the loop finish its pass, then close the channels. ``links``
    gives each message its participant's link as it is sent; without it no link is sent."""
    texts = await asyncio.to_thread(MessageTexts.load, settings.templates_dir)
    channels = await open_channels(settings, public_url=public_url)
    try:
        builder = MessageBuilder(texts, public_url=public_url, organizer_address=settings.organizer_address(public_url))
        notices = MessageNotices(
            builder,
            channels=frozenset(channels),
            reminders_before=tuple(timedelta(minutes=m) for m in settings.reminders_minutes_before),
            clock=clock,
        )
        deliverer = Deliverer(engine, channels, settings.delivery, clock=clock, links=links)
        if deliver:
            deliverer.start()
        try:
            yield NotifyRuntime(
                notices=notices,
                deliverer=deliverer,
                channels=channels,
                texts=texts,
                deliveries=Deliveries(engine, links),
            )
        finally:
            await deliverer.stop()
    finally:
        for channel in channels.values():
            await channel.aclose()
