"""open_notify wires texts, channels, the notices API and the loop, and takes them down again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName
from meetsvc.notify.channels import OutboxOnlyChannel, SmsChannel
from meetsvc.notify.config import NotifySettings
from meetsvc.notify.runtime import open_notify
from meetsvc.notify.smtp import EmailChannel
from tests.notify.mailserver import MailServer
from tests.notify.world import LENA, ORGANISATION, PUBLIC_URL, World, outbox_rows
from tests.support.timing import WAIT_SECONDS


def delivery_loops() -> set[asyncio.Task[object]]:
    """The outbox delivery loops running in this event loop, known by their task's name."""
    return {task for task in asyncio.all_tasks() if task.get_name() == "meetsvc-outbox-deliverer"}


async def wait_until_sent(engine: AsyncEngine, count: int) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while len(await outbox_rows(engine, status="sent")) < count:
            await asyncio.sleep(0.02)


async def test_development_messages_land_in_the_outbox_for_the_page(
    world: World, engine: AsyncEngine, clock, tmp_path: Path
):
    (tmp_path / "sv").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "invitation.sms").write_text("{{ organisation }} - {{ meeting }} - {{ when }} - {{ link }}")
    settings = NotifySettings(templates_dir=tmp_path, reminders_minutes_before=(), delivery={"poll_seconds": 0.05})
    meeting, lena = await world.meeting(), await world.participant(LENA.name)
    async with open_notify(settings, engine, public_url=PUBLIC_URL, clock=clock, links=world.links) as notify:
        assert all(isinstance(channel, OutboxOnlyChannel) for channel in notify.channels.values())
        async with engine.begin() as connection:
            await notify.notices.enqueue_invitation(connection, meeting, lena, world.link(LENA.name), ORGANISATION)
        notify.deliverer.wake()
        await wait_until_sent(engine, 2)
        # What the development outbox page shows: the participant's link is written in as it is read.
        kept = {message.channel: message for message in await notify.deliveries.development_messages()}
    assert (
        kept[ChannelName.SMS].body
        == f"{ORGANISATION} - meeting - Tuesday 13 July 2027, 10:00-11:00 - {world.link(LENA.name)}"
    )
    assert kept[ChannelName.EMAIL].attachment.startswith("BEGIN:VCALENDAR")
    assert kept[ChannelName.EMAIL].subject == (
        "Invitation: Meeting with Exempelstads kommun on Tuesday 13 July 2027 at 10:00"
    )


async def test_smtp_configured_sends_by_smtp_and_sms_off_records_no_sms(
    world: World, engine: AsyncEngine, clock, mail_server: MailServer
):
    settings = NotifySettings.model_validate(
        {
            "email": "smtp",
            "sms": "off",
            "from_address": "no-reply@kommun.example.se",
            "smtp": {"host": "127.0.0.1", "port": mail_server.port, "security": "none", "timeout_seconds": 5},
            "reminders_minutes_before": [],
            "delivery": {"poll_seconds": 0.05},
        }
    )
    meeting, lena = await world.meeting(), await world.participant(LENA.name)
    async with open_notify(settings, engine, public_url=PUBLIC_URL, clock=clock, links=world.links) as notify:
        assert set(notify.channels) == {ChannelName.EMAIL}
        assert isinstance(notify.channels[ChannelName.EMAIL], EmailChannel)
        async with engine.begin() as connection:
            await notify.notices.enqueue_invitation(connection, meeting, lena, world.link(LENA.name), ORGANISATION)
        notify.deliverer.wake()
        await wait_until_sent(engine, 1)
    (mail,) = mail_server.received
    assert mail.mail_from == "no-reply@kommun.example.se"
    assert 'ORGANIZER;CN="Exempelstads kommun":mailto:no-reply@kommun.example.se' in mail.calendar
    assert [row.channel for row in await outbox_rows(engine)] == ["email"]


async def test_without_delivery_the_loop_does_not_run(world: World, engine: AsyncEngine, clock):
    settings = NotifySettings(
        sms="http", sms_http={"url": "https://sms.example.se", "token": "t", "sender": "X"}, reminders_minutes_before=()
    )
    meeting, lena = await world.meeting(), await world.participant(LENA.name)
    loops_before = delivery_loops()
    async with open_notify(
        settings, engine, public_url=PUBLIC_URL, clock=clock, deliver=False, links=world.links
    ) as notify:
        assert isinstance(notify.channels[ChannelName.SMS], SmsChannel)
        async with engine.begin() as connection:
            await notify.notices.enqueue_invitation(connection, meeting, lena, world.link(LENA.name), ORGANISATION)
        notify.deliverer.wake()
        # No loop was started to hear the wake-up, so nothing can send, however long one waited.
        assert delivery_loops() == loops_before
    assert {row.status for row in await outbox_rows(engine)} == {"pending"}
