"""Book → move → cancel, through the outbox and the delivery loop to a real SMTP server, and what
arrived read back: headers, text, and the calendar file with two parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from blockbuster import blockbuster_ctx

from meetsvc.domain.messages import ChannelName
from meetsvc.notify.config import SmtpConfig
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.smtp import EmailChannel
from tests.notify.calendars import both, utc
from tests.notify.mailserver import MailServer, ReceivedMail
from tests.notify.world import FROM_ADDRESS, KIM, LENA, ORGANISATION, World, outbox_rows

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MOVED_TO = datetime(2027, 12, 14, 13, 30, tzinfo=STOCKHOLM)


async def invite_everyone(world: World, notices: MessageNotices) -> None:
    meeting = await world.meeting()
    invited = [(person, await world.participant(person.name)) for person in (KIM, LENA)]
    async with world.engine.begin() as connection:
        for person, participant in invited:
            await notices.enqueue_invitation(connection, meeting, participant, world.link(person.name), ORGANISATION)


async def update_everyone(world: World, notices: MessageNotices) -> None:
    meeting = await world.meeting()
    invited = [(person, await world.participant(person.name)) for person in (KIM, LENA)]
    async with world.engine.begin() as connection:
        for person, participant in invited:
            await notices.enqueue_update(connection, meeting, participant, world.link(person.name), ORGANISATION)


async def cancel_for_everyone(world: World, notices: MessageNotices) -> None:
    meeting = await world.meeting()
    invited = [await world.participant(person.name) for person in (KIM, LENA)]
    async with world.engine.begin() as connection:
        for participant in invited:
            await notices.enqueue_cancellation(connection, meeting, participant, ORGANISATION)


def mail_to(server: MailServer, address: str) -> list[ReceivedMail]:
    return [mail for mail in server.received if mail.rcpt_tos == [address]]


def check_calendar(
    mail: ReceivedMail, world: World, *, method: str, sequence: int, local: datetime, link: str | None
) -> None:
    methods = {content_type: param for content_type, param, _ in mail.calendars()}
    assert methods["text/calendar"] == method
    starts = local.astimezone(UTC)
    assert "\n" not in mail.calendar.replace("\r\n", ""), "calendar lines must end in CRLF"
    for read in both(mail.calendar):
        assert read.method == method
        assert read.uid == f"{world.meeting_id}@sip-mote.example.se"
        assert read.sequence == sequence
        assert read.tzid == "Europe/Stockholm"
        assert read.start.replace(tzinfo=None) == local.replace(tzinfo=None)
        assert utc(read) == (starts, starts + timedelta(hours=1))
        assert read.status == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
        assert read.url == link
        assert read.organizer == f"mailto:{FROM_ADDRESS}"
        assert read.organizer_name == ORGANISATION
        assert read.attendees == (f"mailto:{mail.rcpt_tos[0]}",)


async def test_book_move_cancel_reach_the_mail_server_as_one_calendar_event(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer
):
    first = (await world.meeting()).starts_at.astimezone(STOCKHOLM)

    await invite_everyone(world, notices)
    assert await deliverer.run_once() == 3  # Kim by e-mail; Lena by e-mail and SMS
    invitation = mail_to(mail_server, KIM.email)[-1]
    message = invitation.message
    assert invitation.mail_from == FROM_ADDRESS
    assert message["From"] == f"{ORGANISATION} <{FROM_ADDRESS}>"
    assert message["To"] == KIM.email
    assert message["Subject"] == "Inbjudan: Möte med Exempelstads kommun tisdag 13 juli 2027 kl. 10.00"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "sv"
    (row,) = await outbox_rows(world.engine, participant_id=world.people[KIM.name], kind="invitation")
    assert message["Message-ID"] == f"<{row.id}@sip-mote.example.se>"
    assert "tisdag 13 juli 2027 kl. 10.00–11.00 (svensk tid)" in invitation.text
    assert world.link(KIM.name) in invitation.text
    check_calendar(invitation, world, method="REQUEST", sequence=0, local=first, link=world.link(KIM.name))

    lena = mail_to(mail_server, LENA.email)[-1]
    assert (
        lena.message["Subject"].strip()
        == "Invitation: Meeting with Exempelstads kommun on Tuesday 13 July 2027 at 10:00"
    )
    assert lena.message["Content-Language"] == "en"
    assert "Tuesday 13 July 2027, 10:00–11:00 (Swedish time)" in lena.text

    await world.move(MOVED_TO.astimezone(UTC), MOVED_TO.astimezone(UTC) + timedelta(hours=1))
    await update_everyone(world, notices)
    assert await deliverer.run_once() == 3
    update = mail_to(mail_server, KIM.email)[-1]
    assert update.message["Subject"] == "Ny tid: Möte med Exempelstads kommun tisdag 14 december 2027 kl. 13.30"
    assert update.message["Message-ID"] != message["Message-ID"]
    assert "tisdag 14 december 2027 kl. 13.30–14.30 (svensk tid)" in update.text
    check_calendar(update, world, method="REQUEST", sequence=1, local=MOVED_TO, link=world.link(KIM.name))

    await world.cancel()
    await cancel_for_everyone(world, notices)
    assert await deliverer.run_once() == 3
    cancellation = mail_to(mail_server, KIM.email)[-1]
    assert cancellation.message["Subject"] == "Avbokat: Möte med Exempelstads kommun tisdag 14 december 2027 kl. 13.30"
    assert world.link(KIM.name) not in cancellation.text
    assert "/i/" not in cancellation.raw.decode("utf-8", "replace")
    check_calendar(cancellation, world, method="CANCEL", sequence=2, local=MOVED_TO, link=None)

    assert len(mail_server.received) == 6
    rows = await outbox_rows(world.engine)
    sent = [(r.kind, r.channel) for r in rows if r.status == "sent"]
    assert sorted(sent) == sorted(
        [(kind, channel) for kind in ("invitation", "update", "cancellation") for channel in ("email", "email", "sms")]
    )
    # Every reminder was recorded for a time that later changed, and none went out.
    reminders = [r for r in rows if r.kind == "reminder"]
    assert reminders and all(r.status == "cancelled" for r in reminders)
    # Sent e-mail keeps no text or calendar file: both hold the personal link.
    assert all(r.body is None and r.attachment is None for r in rows if r.channel == "email")
    assert all(r.attempts == 1 and r.last_error is None for r in rows if r.status == "sent")


async def test_a_reminder_goes_out_when_due_and_carries_no_calendar_file(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer, clock
):
    meeting, kim = await world.meeting(), await world.participant(KIM.name)
    async with world.engine.begin() as connection:
        await notices.enqueue_invitation(connection, meeting, kim, world.link(KIM.name), ORGANISATION)
    assert await deliverer.run_once() == 1
    clock.now = meeting.starts_at - timedelta(hours=24, seconds=1)
    assert await deliverer.run_once() == 0
    clock.advance(seconds=1)
    assert await deliverer.run_once() == 1
    reminder = mail_server.received[-1]
    assert reminder.message["Subject"] == "Påminnelse: Möte med Exempelstads kommun tisdag 13 juli 2027 kl. 10.00"
    assert world.link(KIM.name) in reminder.text
    assert reminder.calendars() == []
    clock.now = meeting.starts_at - timedelta(hours=1)
    assert await deliverer.run_once() == 1
    clock.now = meeting.starts_at + timedelta(days=1)
    assert await deliverer.run_once() == 0
    assert len(mail_server.received) == 3


async def test_recording_and_delivering_make_no_blocking_call_on_the_event_loop(
    world: World, notices: MessageNotices, deliverer: Deliverer, mail_server: MailServer
):
    """File, socket or sleep calls made from meetsvc code on the loop raise here."""
    with blockbuster_ctx(["meetsvc"]):
        await invite_everyone(world, notices)
        assert await deliverer.run_once() == 3
        await world.move(MOVED_TO.astimezone(UTC), MOVED_TO.astimezone(UTC) + timedelta(hours=1))
        await update_everyone(world, notices)
        assert await deliverer.run_once() == 3
        await world.cancel()
        await cancel_for_everyone(world, notices)
        assert await deliverer.run_once() == 3
    assert len(mail_server.received) == 6


async def test_finding_15a_the_calendar_keeps_its_crlf_through_a_relay_without_8bitmime(
    world: World, notices: MessageNotices, engine, delivery_settings, clock
):
    """A relay that does not offer 8BITMIME makes the sender re-encode every 8-bit part; the
    calendar file (with Swedish letters in it) must still arrive with CRLF line ends, the same
    inline and attached, and read alike in two parsers."""
    relay = await MailServer(eight_bit_mime=False).start()
    try:
        config = SmtpConfig(host="127.0.0.1", port=relay.port, security="none", timeout_seconds=30)
        channel = EmailChannel(config, from_address=FROM_ADDRESS)
        deliverer = Deliverer(
            engine, {ChannelName.EMAIL: channel}, delivery_settings, clock=clock, worker="relay", links=world.links
        )
        meeting, kim = await world.meeting(), await world.participant(KIM.name)
        async with world.engine.begin() as connection:
            await notices.enqueue_invitation(
                connection, meeting, kim, world.link(KIM.name), ORGANISATION, reminders=False
            )
        assert await deliverer.run_once() == 1
        (mail,) = relay.received
        assert b"8bit" not in mail.raw.lower(), "nothing may go 8-bit to a 7-bit relay"
        calendar = mail.calendar  # the inline part and the attachment, which must agree
        assert "\n" not in calendar.replace("\r\n", ""), "calendar lines must end in CRLF"
        for read in both(calendar):
            assert read.method == "REQUEST"
            assert utc(read)[0] == meeting.starts_at
            assert "Hej!" in read.description and world.link(KIM.name) in read.description
        assert "Hej!" in mail.text and world.link(KIM.name) in mail.text
    finally:
        await relay.close()
