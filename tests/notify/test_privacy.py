"""No subject, e-mail text, SMS text or calendar file says more than the time, the inviting
organisation, "möte" ("SIP-möte" to staff) and the recipient's own link: no meeting title, no
area of care, no one's name, no personal identity number. Checked on what the mail server received and on what
the outbox holds for SMS, across every kind of notice and both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import MessageKind
from meetsvc.domain.rules import contains_personal_number
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.messages import MessageBuilder, NoticeView
from meetsvc.notify.notices import MessageNotices
from tests.notify.mailserver import MailServer
from tests.notify.world import (
    CARE_AREA,
    KIM,
    LENA,
    OMAR,
    ORGANISATION,
    PARTNER,
    PERSONAL_NUMBER,
    TITLE,
    World,
    outbox_rows,
)

PEOPLE = (KIM, LENA, OMAR)
FORBIDDEN_WORDS = [
    *TITLE.split(),
    *(part for person in PEOPLE for part in person.name.split()),
    "våld",
    "nära relationer",
    "domestic violence",
    PARTNER,
]
FORBIDDEN_TEXT = [TITLE, CARE_AREA, *(person.name for person in PEOPLE)]
NUMBER_FORMS = [PERSONAL_NUMBER, "19811218-9876", "811218-9876", "8112189876"]


def leaks(text: str, own_address: str | None = None) -> list[str]:
    """What of the forbidden the text holds (calendar lines unfolded first). The recipient's own
    address may appear (To, the calendar's ATTENDEE); anyone else's may not."""
    text = text.replace("\r\n ", "").replace("\r\n\t", "")
    if own_address:
        text = text.replace(own_address, "<own address>")
    found = [word for word in FORBIDDEN_WORDS if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I)]
    found += [value for value in FORBIDDEN_TEXT + NUMBER_FORMS if value.lower() in text.lower()]
    if contains_personal_number(text, among_ids=True):
        found.append("a personal identity number")
    return found


async def notify_everything(world: World, notices: MessageNotices, deliverer: Deliverer, clock) -> None:
    people = [(person, await world.participant(person.name)) for person in PEOPLE]

    async def each(call) -> None:
        meeting = await world.meeting()
        async with world.engine.begin() as connection:
            for person, participant in people:
                await call(connection, meeting, person, participant)
        await deliverer.run_once()

    await each(lambda c, m, person, p: notices.enqueue_invitation(c, m, p, world.link(person.name), ORGANISATION))
    meeting = await world.meeting()
    await world.move(meeting.starts_at + timedelta(days=2), meeting.ends_at + timedelta(days=2))
    await each(lambda c, m, person, p: notices.enqueue_update(c, m, p, world.link(person.name), ORGANISATION))
    meeting = await world.meeting()
    clock.now = meeting.starts_at - timedelta(hours=2)
    await deliverer.run_once()  # the 24-hour reminders
    await world.cancel()
    await each(lambda c, m, person, p: notices.enqueue_cancellation(c, m, p, ORGANISATION))


async def test_nothing_sent_holds_a_title_care_area_name_or_personal_number(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer, engine: AsyncEngine, clock
):
    await notify_everything(world, notices, deliverer, clock)

    kinds_by_mail = set()
    for mail in mail_server.received:
        message, own = mail.message, mail.rcpt_tos[0]
        for header in ("Subject", "From", "To"):
            assert leaks(str(message[header]), own) == [], header
        assert leaks(mail.text, own) == []
        for _, _, calendar in mail.calendars():
            assert leaks(calendar, own) == []
        kinds_by_mail.add(str(message["Subject"]).strip().split(":")[0])
    # Every kind went out by e-mail, in both languages.
    assert kinds_by_mail == {
        "Inbjudan",
        "Ny tid",
        "Påminnelse",
        "Avbokat",
        "Invitation",
        "New time",
        "Reminder",
        "Cancelled",
    }

    sms = await outbox_rows(engine, channel="sms", status="sent")
    assert {row.kind for row in sms} == {"invitation", "update", "reminder", "cancellation"}
    for row in sms:
        assert row.body, "the development outbox keeps SMS texts"
        assert leaks(row.body) == []
    # The recorded rows hold nothing forbidden either, in any column.
    for row in await outbox_rows(engine):
        for column in ("subject", "body", "attachment", "sender_name", "last_error", "dedupe_key"):
            assert leaks(getattr(row, column) or "", row.recipient) == [], column


def test_the_view_has_no_field_for_what_a_notice_must_not_say():
    """No title, area of care, name or number can reach a template: the view has no place for them."""
    assert set(NoticeView.__dataclass_fields__) == {
        "kind",
        "meeting_id",
        "sequence",
        "starts_at",
        "ends_at",
        "organisation_name",
        "language",
        "stamp",
        "join_url",
        "recipient_email",
        "for_staff",
        "contact_phone",  # the organisation's own number for questions, never a person's
    }


def test_a_number_in_the_organisation_name_stops_the_notice(builder: MessageBuilder, clock):
    view = NoticeView(
        kind=MessageKind.INVITATION,
        meeting_id="m",
        sequence=0,
        starts_at=datetime(2027, 7, 13, 8, tzinfo=UTC),
        ends_at=datetime(2027, 7, 13, 9, tzinfo=UTC),
        organisation_name=f"Enskild firma {PERSONAL_NUMBER}",
        language="sv",
        stamp=clock(),
        join_url="https://x.se/i/t",
    )
    with pytest.raises(ValueError, match="personal identity number"):
        builder.build(view)
