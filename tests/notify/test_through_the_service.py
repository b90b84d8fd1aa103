"""Booking through the organiser API reaches people: invitations, an updated invitation when the
meeting moves, a cancellation for someone removed and for everyone when it is cancelled, each
read back from a real SMTP server (and the development outbox for SMS), on both databases.

The link in each message is the one the API handed out, and it works until the participant is
removed or the meeting cancelled. Nothing any message says names the meeting's subject, its
area of care, another participant or a personal identity number.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.notify.links import PERSONAL_LINK
from meetsvc.storage.tables import metadata, outbox_messages
from tests.api.helpers import Api, TestNumber, build_world, deliveries_settled, local_time, rfc3339, token_of
from tests.notify.calendars import both, utc
from tests.notify.mailserver import MailServer, ReceivedMail
from tests.notify.test_privacy import leaks
from tests.support.service import RunningService, SettableClock, make_settings, start_service

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FROM = "no-reply@sip-mote.example.se"
TITLE = "Samordning kring skolgång och BUP-kontakt"
KIM_NUMBER = TestNumber.make("20100314")


@pytest_asyncio.fixture
async def api(database_url: str, keys_dir: Path, clock: SettableClock, mail_server: MailServer) -> AsyncIterator[Api]:
    settings = make_settings(
        database_url,
        keys_dir,
        notify=mail_server.notify_settings(sms="outbox", from_address=FROM, first_retry_seconds=60),
    )
    service = await start_service(settings, clock)
    try:
        yield Api(await build_world(service))
    finally:
        await service.close()


def mail_to(server: MailServer, address: str) -> list[ReceivedMail]:
    return [mail for mail in server.received if mail.rcpt_tos == [address]]


async def opens(service: RunningService, link: str) -> bool:
    path = link.split("://", 1)[1].split("/", 1)[1]
    # The link page's button, as the person presses it.
    async with service.http.post("/" + path, allow_redirects=False) as answer:
        return answer.status == 303


async def sms_bodies(service: RunningService) -> list[str]:
    async with service.app[ENGINE].connect() as connection:
        rows = (await connection.execute(select(outbox_messages).where(outbox_messages.c.channel == "sms"))).all()
    return [row.body for row in rows if row.body]


async def test_book_move_remove_cancel_reach_each_participant_once_with_their_own_link(
    api: Api, mail_server: MailServer
):
    service = api.service
    starts = local_time(service.clock(), days=9, hour=9)
    meeting = await api.create_meeting(title=TITLE, care_area="vald_i_nara_relationer", starts_at=starts)
    kim = await api.add_participant(
        meeting["id"],
        display_name="Kim Exempel",
        email="kim@example.se",
        mobile="+46701234567",
        personal_number=KIM_NUMBER.normal,
    )
    lena = await api.add_participant(
        meeting["id"],
        display_name="Lena Prov",
        email="lena@example.se",
        language="en",
        role="guardian",
    )
    await deliveries_settled(service)

    (kim_invitation,) = mail_to(mail_server, "kim@example.se")
    (lena_invitation,) = mail_to(mail_server, "lena@example.se")
    assert kim["invitation_url"] in kim_invitation.text
    assert lena["invitation_url"] in lena_invitation.text
    assert kim_invitation.message["Subject"].startswith("Inbjudan: SIP-möte")
    assert lena_invitation.message["Subject"].startswith("Invitation: SIP meeting")
    uid = f"{meeting['id']}@{urlsplit(service.settings.server.base_url).hostname}"
    for read in both(kim_invitation.calendar):
        assert (read.method, read.uid, read.sequence, read.tzid) == ("REQUEST", uid, 0, "Europe/Stockholm")
        assert read.url == kim["invitation_url"]
        assert utc(read)[0] == starts.astimezone(UTC)
    assert await opens(service, kim["invitation_url"])

    moved = starts + timedelta(days=1, hours=4)
    answer = await api.post(
        f"/api/v1/meetings/{meeting['id']}/reschedule",
        json={"starts_at": rfc3339(moved), "ends_at": rfc3339(moved + timedelta(hours=1))},
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    kim_update = mail_to(mail_server, "kim@example.se")[-1]
    assert kim_update.message["Subject"].startswith("Ny tid: SIP-möte")
    for read in both(kim_update.calendar):
        assert (read.method, read.uid, read.sequence) == ("REQUEST", uid, 1)
        assert utc(read)[0] == moved.astimezone(UTC)
        # The same personal link as before: a move changes the time, not the way in.
        assert read.url == kim["invitation_url"]
    assert len(mail_to(mail_server, "lena@example.se")) == 2

    answer = await api.delete(f"/api/v1/meetings/{meeting['id']}/participants/{lena['id']}")
    assert answer.status == 204, answer
    await deliveries_settled(service)
    lena_cancellation = mail_to(mail_server, "lena@example.se")[-1]
    assert lena_cancellation.message["Subject"].startswith("Cancelled: SIP meeting")
    for read in both(lena_cancellation.calendar):
        assert (read.method, read.uid, read.sequence, read.status) == ("CANCEL", uid, 1, "CANCELLED")
    assert lena["invitation_url"] not in lena_cancellation.raw.decode()
    assert not await opens(service, lena["invitation_url"])
    assert await opens(service, kim["invitation_url"])
    assert len(mail_to(mail_server, "kim@example.se")) == 2, "Lena's removal is nothing Kim hears of"

    answer = await api.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={})
    assert answer.status == 200, answer
    await deliveries_settled(service)
    kim_cancellation = mail_to(mail_server, "kim@example.se")[-1]
    for read in both(kim_cancellation.calendar):
        assert (read.method, read.uid, read.sequence) == ("CANCEL", uid, 2)
    assert not await opens(service, kim["invitation_url"])
    assert len(mail_to(mail_server, "lena@example.se")) == 3, "someone removed hears nothing more"

    # Kim's phone: invitation, new time, cancellation, each a short text, the link only while it
    # works. The outbox keeps a placeholder where the link goes: it is written in as a text is sent.
    texts = await sms_bodies(service)
    assert len(texts) == 3
    assert PERSONAL_LINK in texts[0] and PERSONAL_LINK in texts[1]
    assert PERSONAL_LINK not in texts[2]
    assert not any(token_of(kim["invitation_url"]) in text for text in texts)

    for mail in mail_server.received:
        own = mail.rcpt_tos[0]
        assert leaks(mail.raw.decode("utf-8"), own) == [], mail.message["Subject"]
        assert TITLE not in mail.raw.decode("utf-8")
        assert KIM_NUMBER.normal not in mail.raw.decode("utf-8") and KIM_NUMBER.ten not in mail.raw.decode("utf-8")
    for text in texts:
        assert leaks(text) == []


async def test_a_reissued_link_is_sent_and_the_old_one_stops(api: Api, mail_server: MailServer):
    service = api.service
    meeting = await api.create_meeting()
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)

    answer = await api.post(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}/invitation", json={})
    assert answer.status in (200, 201), answer
    new_link = answer.json["invitation_url"]
    await deliveries_settled(service)

    first, second = mail_to(mail_server, "kim@example.se")
    assert kim["invitation_url"] in first.text
    assert new_link in second.text and kim["invitation_url"] not in second.text
    assert not await opens(service, kim["invitation_url"])
    assert await opens(service, new_link)


async def test_a_new_address_gets_the_invitation_and_the_old_one_nothing_more(api: Api, mail_server: MailServer):
    service = api.service
    meeting = await api.create_meeting()
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)

    answer = await api.patch(
        f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"email": "kim.exempel@example.org"}
    )
    assert answer.status == 200, answer
    answer = await api.patch(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"language": "en"})
    assert answer.status == 200, answer
    await deliveries_settled(service)

    assert len(mail_to(mail_server, "kim@example.se")) == 1
    (again,) = mail_to(mail_server, "kim.exempel@example.org")
    assert kim["invitation_url"] in again.text


async def test_a_revoked_link_cancels_messages_still_waiting(api: Api, mail_server: MailServer):
    service = api.service
    meeting = await api.create_meeting()
    mail_server.handler.data_replies[:] = ["451 4.3.0 Try again later"]
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)  # the first try failed; the retry waits its back-off

    answer = await api.delete(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}/invitation")
    assert answer.status in (200, 204), answer
    async with service.app[ENGINE].connect() as connection:
        (row,) = (await connection.execute(select(outbox_messages))).all()
    assert (row.status, row.body) == ("cancelled", None)
    assert mail_server.received == []


async def test_the_api_says_where_each_participants_messages_stand_and_nothing_they_say(
    api: Api, mail_server: MailServer
):
    """An integrating system sees what the organiser page shows: per channel, the newest
    message, its state and a failure's reason, never its text or link."""
    mail_server.handler.rcpt_replies[:] = ["550 5.1.1 Mailbox unavailable"]  # the first address, Lena's
    meeting = await api.create_meeting(title=TITLE, care_area="vald_i_nara_relationer")
    lena = await api.add_participant(meeting["id"], display_name="Lena Prov", email="lena@example.se", role="guardian")
    await deliveries_settled(api.service)
    kim = await api.add_participant(
        meeting["id"], display_name="Kim Exempel", email="kim@example.se", mobile="+46701234567"
    )
    # Recorded with the participant; already on its way, perhaps.
    assert [(d["channel"], d["kind"]) for d in kim["deliveries"]] == [("email", "invitation"), ("sms", "invitation")]
    await deliveries_settled(api.service)

    listed = (await api.get(f"/api/v1/meetings/{meeting['id']}/participants")).json["items"]
    seen = {p["id"]: [(d["channel"], d["kind"], d["state"]) for d in p["deliveries"]] for p in listed}
    assert seen == {
        kim["id"]: [("email", "invitation", "sent"), ("sms", "invitation", "sent")],
        lena["id"]: [("email", "invitation", "failed")],
    }
    one = (await api.get(f"/api/v1/meetings/{meeting['id']}/participants/{lena['id']}")).json
    (failed,) = one["deliveries"]
    assert "550" in failed["reason"] and failed["at"] is not None
    sent_at = next(
        d["at"]
        for d in (await api.get(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}")).json["deliveries"]
    )
    assert sent_at is not None

    # A move, a minute later, supersedes the invitations: the newest message per channel is the update.
    api.service.clock.advance(minutes=1)
    moved = local_time(api.service.clock(), days=8, hour=13)
    answer = await api.post(
        f"/api/v1/meetings/{meeting['id']}/reschedule",
        json={"starts_at": rfc3339(moved), "ends_at": rfc3339(moved + timedelta(hours=1))},
    )
    assert answer.status == 200, answer
    await deliveries_settled(api.service)
    kim_now = (await api.get(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}")).json
    assert [(d["channel"], d["kind"], d["state"]) for d in kim_now["deliveries"]] == [
        ("email", "update", "sent"),
        ("sms", "update", "sent"),
    ]
    for answer in api.answers:
        if answer.method == "GET":
            assert "/j/" not in answer.text, "no link is ever shown again"


TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_-]{40,100}")


async def database_copy(service: RunningService) -> list[str]:
    """Every value of every column of every row, of every table (the outbox among them), as a
    copy of the database would hold it."""
    values: list[str] = []
    async with service.app[ENGINE].connect() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                values += [value.decode("latin-1") if isinstance(value, bytes) else str(value) for value in row]
    return values


async def test_finding_9_a_copy_of_the_outbox_during_an_smtp_outage_holds_no_working_link(
    api: Api, mail_server: MailServer
):
    service = api.service
    mail_server.handler.data_replies[:] = ["451 4.3.0 Try again later"] * 3  # the mail server is away
    meeting = await api.create_meeting(starts_at=local_time(service.clock(), days=9, hour=9))
    kim = await api.add_participant(
        meeting["id"], display_name="Kim Exempel", email="kim@example.se", mobile="+46701234567"
    )
    await deliveries_settled(service)
    assert mail_server.received == []

    async with service.app[ENGINE].connect() as connection:
        waiting = (await connection.execute(select(outbox_messages).where(outbox_messages.c.channel == "email"))).one()
    assert (waiting.status, waiting.attempts) == ("pending", 1), "the invitation waits for the mail server"
    assert waiting.body and waiting.attachment, "with its text and calendar file"

    copy = await database_copy(service)
    outbox_copy = [str(value) for value in waiting]
    assert not any(token_of(kim["invitation_url"]) in value for value in copy + outbox_copy)
    # Nothing in the copy that looks like a token opens anything.
    candidates = {match for value in copy for match in TOKEN_SHAPED.findall(value)}
    for candidate in candidates:
        async with service.http.post(f"/j/{candidate}", allow_redirects=False) as answer:
            assert answer.status == 404, "a working link in a copy of the database"

    # The mail server is back: the message that goes out carries the working link.
    mail_server.handler.data_replies.clear()
    service.clock.advance(minutes=2)
    await deliveries_settled(service)
    (invitation,) = mail_to(mail_server, "kim@example.se")
    assert kim["invitation_url"] in invitation.text
    for read in both(invitation.calendar):
        assert read.url == kim["invitation_url"]
    assert await opens(service, kim["invitation_url"])
