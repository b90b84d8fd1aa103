"""The outbox never holds a participant's link: a placeholder stands in for it, and the deliverer
writes the working link in as the message is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName
from meetsvc.notify.calendar import CalendarEvent, calendar_file
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.links import PERSONAL_LINK, calendar_with_link
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.smtp import EmailChannel
from tests.notify.mailserver import MailServer
from tests.notify.test_delivery import invite_kim, row_of
from tests.notify.world import World

LINK = "https://sip-mote.example.se/j/" + "Ab3_-9xZ" * 5 + "q7K"


def event(description: str, url: str) -> str:
    moment = datetime(2027, 7, 13, 8, 0, tzinfo=UTC)
    return calendar_file(
        CalendarEvent(
            uid="meeting@sip-mote.example.se",
            sequence=0,
            method="REQUEST",
            starts_at=moment,
            ends_at=moment + timedelta(hours=1),
            summary="SIP-möte",
            description=description,
            organizer_name="Exempelstads kommun",
            organizer_address="no-reply@sip-mote.example.se",
            stamp=moment,
            url=url,
        )
    )


@pytest.mark.parametrize("before", range(0, 80, 7))
def test_finding_9_the_calendar_file_sent_is_the_one_written_with_the_link(before: int):
    # The placeholder lands anywhere on a line folded at 75 octets, among characters of two octets.
    text = "å" * before + "Din personliga länk: {}\nDela den inte, med någon; aldrig."
    stored = event(text.format(PERSONAL_LINK), PERSONAL_LINK)
    assert LINK not in stored.replace("\r\n ", "")
    assert calendar_with_link(stored, LINK) == event(text.format(LINK), LINK)


async def test_finding_9_a_message_whose_link_was_revoked_before_sending_is_not_sent(
    world: World,
    notices: MessageNotices,
    email_channel: EmailChannel,
    delivery_settings,
    engine: AsyncEngine,
    mail_server: MailServer,
    clock,
):
    class Revoked:
        async def current(self, connection: object, participant_id: str) -> str | None:
            return None

    message_id = await invite_kim(world, notices)
    loop = Deliverer(engine, {ChannelName.EMAIL: email_channel}, delivery_settings, clock=clock, links=Revoked())
    assert await loop.run_once() == 1
    row = await row_of(engine, message_id)
    assert (row.status, row.last_error) == ("failed", "the personal link was revoked before sending")
    assert mail_server.received == []
