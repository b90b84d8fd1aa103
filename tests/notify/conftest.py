"""Fixtures for notifications: a fixed clock, a migrated database (SQLite and PostgreSQL), a
meeting in it, a real SMTP server on loopback, and the notices API and delivery loop over them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName
from meetsvc.notify.channels import OutboxOnlyChannel
from meetsvc.notify.config import DeliverySettings, SmtpConfig
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.messages import MessageBuilder
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.smtp import EmailChannel
from meetsvc.notify.texts import MessageTexts
from meetsvc.storage.engine import create_engine
from tests.notify.mailserver import MailServer
from tests.notify.world import FROM_ADDRESS, PUBLIC_URL, World, WorldLinks, build_world
from tests.support.service import SettableClock

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Summer time, so the first booking and its move into winter cross a daylight-saving change.
FIRST_START = datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM)


@pytest_asyncio.fixture
async def clock() -> SettableClock:
    return SettableClock(datetime(2027, 6, 1, 8, 0, tzinfo=UTC))


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def world(engine: AsyncEngine, clock: SettableClock) -> World:
    return await build_world(engine, clock, starts_at=FIRST_START)


@pytest.fixture(scope="session")
def texts() -> MessageTexts:
    return MessageTexts.load()


@pytest.fixture
def builder(texts: MessageTexts) -> MessageBuilder:
    return MessageBuilder(texts, public_url=PUBLIC_URL, organizer_address=FROM_ADDRESS)


@pytest.fixture
def notices(builder: MessageBuilder, clock: SettableClock) -> MessageNotices:
    return MessageNotices(builder, clock=clock)


@pytest.fixture
def email_channel(mail_server: MailServer) -> EmailChannel:
    config = SmtpConfig(host="127.0.0.1", port=mail_server.port, security="none", timeout_seconds=30)
    return EmailChannel(config, from_address=FROM_ADDRESS)


@pytest.fixture
def delivery_settings() -> DeliverySettings:
    return DeliverySettings(
        max_attempts=4,
        first_retry_seconds=60,
        max_retry_seconds=600,
        send_timeout_seconds=15,
        lease_seconds=30,
        poll_seconds=0.05,
        batch_size=20,
    )


@pytest.fixture
def deliverer(
    engine: AsyncEngine, email_channel: EmailChannel, delivery_settings: DeliverySettings, clock: SettableClock
) -> Deliverer:
    channels = {ChannelName.EMAIL: email_channel, ChannelName.SMS: OutboxOnlyChannel()}
    return Deliverer(engine, channels, delivery_settings, clock=clock, worker="test-worker-1", links=WorldLinks())
