"""The delivery loop against a real SMTP server that refuses on cue: retries with back-off,
permanent failures, giving up, a crash between sending and marking, and two loops at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName, OutgoingMessage
from meetsvc.notify import outbox
from meetsvc.notify.channels import OutboxOnlyChannel
from meetsvc.notify.config import DeliverySettings
from meetsvc.notify.deliverer import Deliverer, backoff
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.smtp import EmailChannel
from meetsvc.storage.engine import create_engine
from tests.notify.mailserver import MailServer
from tests.notify.world import KIM, ORGANISATION, World, outbox_rows
from tests.support.timing import WAIT_SECONDS

TRY_LATER = "451 4.3.0 Mail server temporarily rejected message"
NO_SUCH_USER = "550 5.1.1 <kim@example.se>: Recipient address rejected: User unknown"


async def invite_kim(world: World, notices: MessageNotices, *, reminders: bool = False) -> str:
    meeting, kim = await world.meeting(), await world.participant(KIM.name)
    async with world.engine.begin() as connection:
        (message_id,) = await notices.enqueue_invitation(
            connection, meeting, kim, world.link(KIM.name), ORGANISATION, reminders=reminders
        )
    return message_id


async def row_of(engine: AsyncEngine, message_id: str):  # type: ignore[no-untyped-def]
    (row,) = await outbox_rows(engine, id=message_id)
    return row


def test_backoff_doubles_up_to_the_cap(delivery_settings: DeliverySettings):
    assert [backoff(delivery_settings, n).total_seconds() for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


async def test_a_server_that_refuses_at_first_gets_retries_with_backoff_then_the_message(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer, clock
):
    mail_server.handler.data_replies = [TRY_LATER, TRY_LATER]
    message_id = await invite_kim(world, notices)

    assert await deliverer.run_once() == 1
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, clock() + timedelta(seconds=60))
    assert row.last_error == "SMTP 451 4.3.0: message refused"

    clock.advance(seconds=59)
    assert await deliverer.run_once() == 0
    clock.advance(seconds=1)
    assert await deliverer.run_once() == 1
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 2, clock() + timedelta(seconds=120))

    clock.advance(seconds=119)
    assert await deliverer.run_once() == 0
    clock.advance(seconds=1)
    assert await deliverer.run_once() == 1
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("sent", 3, None, clock())
    (mail,) = mail_server.received
    assert mail.message["Message-ID"] == f"<{message_id}@sip-mote.example.se>"


async def test_a_permanent_refusal_fails_the_message_with_a_reason_and_no_more_tries(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer, clock
):
    mail_server.handler.rcpt_replies = [NO_SUCH_USER]
    message_id = await invite_kim(world, notices)
    assert await deliverer.run_once() == 1
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "SMTP 550 5.1.1: recipient refused"
    # The reason the server gave named the address; what is stored does not.
    assert "kim" not in row.last_error
    assert row.body is None and row.attachment is None
    clock.advance(days=1)
    assert await deliverer.run_once() == 0
    assert mail_server.received == []


async def test_the_last_temporary_failure_fails_the_message(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer, clock, delivery_settings
):
    mail_server.handler.data_replies = [TRY_LATER] * delivery_settings.max_attempts
    message_id = await invite_kim(world, notices)
    for _ in range(delivery_settings.max_attempts):
        assert await deliverer.run_once() == 1
        clock.advance(seconds=delivery_settings.max_retry_seconds)
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts) == ("failed", delivery_settings.max_attempts)
    assert row.last_error == f"gave up after {delivery_settings.max_attempts} attempts: SMTP 451 4.3.0: message refused"
    assert await deliverer.run_once() == 0


async def test_an_unreachable_server_is_a_temporary_failure(
    world: World, notices: MessageNotices, engine: AsyncEngine, clock, delivery_settings
):
    from meetsvc.notify.config import SmtpConfig
    from tests.support.service import free_port

    closed = EmailChannel(
        SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout_seconds=60),
        from_address="no-reply@sip-mote.example.se",
    )
    loop = Deliverer(engine, {ChannelName.EMAIL: closed}, delivery_settings, clock=clock, links=world.links)
    message_id = await invite_kim(world, notices)
    assert await loop.run_once() == 1
    row = await row_of(engine, message_id)
    assert row.status == "pending"
    assert row.last_error.startswith("SMTP server unreachable")


class CrashAfterSending:
    """Sends for real, then never returns: the process "dies" between sending and marking."""

    retains_content = False

    def __init__(self, inner: EmailChannel) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent = asyncio.Event()

    async def deliver(self, message: OutgoingMessage) -> None:
        await self.inner.deliver(message)
        self.sent.set()
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        return None


async def test_a_crash_after_sending_leads_to_one_resend_with_the_same_message_id_after_the_lease(
    world: World,
    notices: MessageNotices,
    engine: AsyncEngine,
    email_channel: EmailChannel,
    mail_server: MailServer,
    clock,
    delivery_settings: DeliverySettings,
):
    message_id = await invite_kim(world, notices)
    crashing = CrashAfterSending(email_channel)
    first = Deliverer(
        engine, {ChannelName.EMAIL: crashing}, delivery_settings, clock=clock, worker="dies", links=world.links
    )
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(crashing.sent.wait(), WAIT_SECONDS)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await row_of(engine, message_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sending", "dies", 1)

    restarted = Deliverer(
        engine,
        {ChannelName.EMAIL: email_channel},
        delivery_settings,
        clock=clock,
        worker="restarted",
        links=world.links,
    )
    assert await restarted.run_once() == 0  # the lease still holds
    clock.advance(seconds=delivery_settings.lease_seconds)
    assert await restarted.run_once() == 1
    row = await row_of(engine, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    first_copy, second_copy = mail_server.received
    assert (
        first_copy.message["Message-ID"] == second_copy.message["Message-ID"] == f"<{message_id}@sip-mote.example.se>"
    )
    assert first_copy.message["Date"] == second_copy.message["Date"]
    clock.advance(days=1)
    assert await restarted.run_once() == 0
    assert len(mail_server.received) == 2


async def test_a_mark_lost_to_the_database_is_not_resent_by_the_same_process(
    world: World,
    notices: MessageNotices,
    deliverer: Deliverer,
    mail_server: MailServer,
    clock,
    delivery_settings,
    monkeypatch: pytest.MonkeyPatch,
):
    message_id = await invite_kim(world, notices)
    real_mark_sent = outbox.mark_sent
    calls = 0

    async def database_away_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("database went away")
        return await real_mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", database_away_once)
    assert await deliverer.run_once() == 1
    assert (await row_of(world.engine, message_id)).status == "sending"
    clock.advance(seconds=delivery_settings.lease_seconds)
    assert await deliverer.run_once() == 1
    row = await row_of(world.engine, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(mail_server.received) == 1


class Counting:
    """A channel that records which messages it was given, taking a moment over each."""

    name = "counting"
    retains_content = False

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def deliver(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(0.01)
        self.delivered.append(message.id)

    async def aclose(self) -> None:
        return None


async def test_two_loops_on_one_database_never_take_the_same_message(
    world: World, notices: MessageNotices, engine: AsyncEngine, database_url: str, clock
):
    meeting = await world.meeting()
    kim = await world.participant(KIM.name)
    async with engine.begin() as connection:
        for n in range(40):
            await notices.enqueue_reminder(
                connection, meeting, kim, world.link(KIM.name), ORGANISATION, timedelta(minutes=100 + n)
            )
    clock.now = meeting.starts_at - timedelta(minutes=10)
    settings = DeliverySettings(batch_size=7, send_timeout_seconds=15, lease_seconds=30, poll_seconds=0.05)
    other_engine = create_engine(database_url)
    try:
        channel = Counting()
        loops = [
            Deliverer(engine, {ChannelName.EMAIL: channel}, settings, clock=clock, worker="a", links=world.links),
            Deliverer(other_engine, {ChannelName.EMAIL: channel}, settings, clock=clock, worker="b", links=world.links),
        ]

        async def drain(loop: Deliverer) -> None:
            while await loop.run_once():
                pass

        await asyncio.gather(*(drain(loop) for loop in loops))
    finally:
        await other_engine.dispose()
    assert len(channel.delivered) == 40
    assert len(set(channel.delivered)) == 40
    assert {row.status for row in await outbox_rows(engine)} == {"sent"}


async def test_a_message_for_a_channel_that_is_switched_off_fails_with_the_reason(
    world: World, notices: MessageNotices, engine: AsyncEngine, clock, delivery_settings
):
    message_id = await invite_kim(world, notices)
    loop = Deliverer(engine, {ChannelName.SMS: OutboxOnlyChannel()}, delivery_settings, clock=clock, links=world.links)
    assert await loop.run_once() == 1
    row = await row_of(engine, message_id)
    assert (row.status, row.last_error) == ("failed", "no email channel is configured (notify.email)")


async def test_the_loop_sends_when_woken_and_stops_cleanly(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer
):
    deliverer.start()
    try:
        await invite_kim(world, notices)
        deliverer.wake()
        async with asyncio.timeout(WAIT_SECONDS):
            while not mail_server.received:
                await asyncio.sleep(0.01)
    finally:
        await deliverer.stop()
    assert len(mail_server.received) == 1
