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
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlalchemy import select

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import OrganisationKind
from meetsvc.http.appkeys import DIRECTORY, ENGINE
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
    return [body for _, body in await sms_by_kind(service)]


async def sms_by_kind(service: RunningService) -> list[tuple[str, str]]:
    """(kind, stored text) of every text message, sorted by kind: a table has no order of its own
    (PostgreSQL moves an updated row), and the test clock may stamp them all alike."""
    async with service.app[ENGINE].connect() as connection:
        rows = (await connection.execute(select(outbox_messages).where(outbox_messages.c.channel == "sms"))).all()
    return sorted((row.kind, row.body) for row in rows if row.body)


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
    assert str(kim_invitation.message["Subject"]).strip().startswith("Inbjudan: Möte med Exempelstads kommun ")
    assert str(lena_invitation.message["Subject"]).strip().startswith("Invitation: Meeting with Exempelstads kommun ")
    uid = f"{meeting['id']}@{urlsplit(service.settings.server.base_url).hostname}"
    invited_at = both(kim_invitation.calendar)[0].sequence
    for read in both(kim_invitation.calendar):
        assert (read.method, read.uid, read.sequence, read.tzid) == ("REQUEST", uid, invited_at, "Europe/Stockholm")
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
    assert str(kim_update.message["Subject"]).strip().startswith("Ny tid: Möte med Exempelstads kommun ")
    moved_at = both(kim_update.calendar)[0].sequence
    assert moved_at > invited_at
    for read in both(kim_update.calendar):
        assert (read.method, read.uid, read.sequence) == ("REQUEST", uid, moved_at)
        assert utc(read)[0] == moved.astimezone(UTC)
        # The same personal link as before: a move changes the time, not the way in.
        assert read.url == kim["invitation_url"]
    assert len(mail_to(mail_server, "lena@example.se")) == 2

    answer = await api.delete(f"/api/v1/meetings/{meeting['id']}/participants/{lena['id']}")
    assert answer.status == 204, answer
    await deliveries_settled(service)
    lena_cancellation = mail_to(mail_server, "lena@example.se")[-1]
    assert str(lena_cancellation.message["Subject"]).strip().startswith("Cancelled: Meeting with Exempelstads kommun ")
    for read in both(lena_cancellation.calendar):
        assert (read.method, read.uid, read.status) == ("CANCEL", uid, "CANCELLED")
        assert read.sequence > moved_at
    assert lena["invitation_url"] not in lena_cancellation.raw.decode()
    assert not await opens(service, lena["invitation_url"])
    assert await opens(service, kim["invitation_url"])
    assert len(mail_to(mail_server, "kim@example.se")) == 2, "Lena's removal is nothing Kim hears of"

    answer = await api.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={})
    assert answer.status == 200, answer
    await deliveries_settled(service)
    kim_cancellation = mail_to(mail_server, "kim@example.se")[-1]
    for read in both(kim_cancellation.calendar):
        assert (read.method, read.uid) == ("CANCEL", uid)
        assert read.sequence > moved_at
    assert not await opens(service, kim["invitation_url"])
    assert len(mail_to(mail_server, "lena@example.se")) == 3, "someone removed hears nothing more"

    # Kim's phone: invitation, new time, cancellation, each a short text, the link only while it
    # works. The outbox keeps a placeholder where the link goes: it is written in as a text is sent.
    texts = await sms_by_kind(service)
    assert [kind for kind, _ in texts] == ["cancellation", "invitation", "update"]
    for kind, text in texts:
        assert (PERSONAL_LINK in text) == (kind != "cancellation"), kind
    assert not any(token_of(kim["invitation_url"]) in text for _, text in texts)

    for mail in mail_server.received:
        own = mail.rcpt_tos[0]
        assert leaks(mail.raw.decode("utf-8"), own) == [], mail.message["Subject"]
        assert TITLE not in mail.raw.decode("utf-8")
        assert KIM_NUMBER.normal not in mail.raw.decode("utf-8") and KIM_NUMBER.ten not in mail.raw.decode("utf-8")
    for _, text in texts:
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


def calendars_to(server: MailServer, address: str) -> list[tuple[str, int]]:
    """(METHOD, SEQUENCE) of each calendar file an address received, in order, as every parser
    reads it (they must agree)."""
    found = []
    for mail in mail_to(server, address):
        readings = {(read.method, read.sequence) for read in both(mail.calendar)}
        assert len(readings) == 1, readings
        found.append(readings.pop())
    return found


def rising(sequences: list[int]) -> bool:
    return all(earlier < later for earlier, later in pairwise(sequences))


async def test_finding_12_sequence_rises_on_remove_and_readd_and_reissue(api: Api, mail_server: MailServer):
    """RFC 5546: a calendar applies a message about an event only if its SEQUENCE is higher than
    the last it holds. Someone removed and added back must see the meeting again, and a new link
    must replace the entry, so every calendar file one address receives has a higher SEQUENCE."""
    service = api.service
    meeting = await api.create_meeting()
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await api.add_participant(meeting["id"], display_name="Lena Prov", email="lena@example.se", role="guardian")
    await deliveries_settled(service)
    answer = await api.post(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}/invitation", json={})
    assert answer.status in (200, 201), answer
    reissued_link = answer.json["invitation_url"]
    await deliveries_settled(service)
    answer = await api.delete(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}")
    assert answer.status == 204, answer
    await deliveries_settled(service)
    again = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)

    received = calendars_to(mail_server, "kim@example.se")
    assert [method for method, _ in received] == ["REQUEST", "REQUEST", "CANCEL", "REQUEST"]
    assert rising([sequence for _, sequence in received]), received
    reissue, readd = mail_to(mail_server, "kim@example.se")[1], mail_to(mail_server, "kim@example.se")[3]
    assert reissued_link in reissue.text and again["invitation_url"] in readd.text
    assert await opens(service, again["invitation_url"])
    # Lena heard of none of it, and a move still reaches her above anything she holds.
    moved = local_time(service.clock(), days=12, hour=10)
    answer = await api.post(
        f"/api/v1/meetings/{meeting['id']}/reschedule",
        json={"starts_at": rfc3339(moved), "ends_at": rfc3339(moved + timedelta(hours=1))},
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    assert [method for method, _ in calendars_to(mail_server, "lena@example.se")] == ["REQUEST", "REQUEST"]
    assert rising([sequence for _, sequence in calendars_to(mail_server, "lena@example.se")])
    assert rising([sequence for _, sequence in calendars_to(mail_server, "kim@example.se")])


async def test_finding_13_the_old_address_gets_a_cancellation_when_the_email_changes(api: Api, mail_server: MailServer):
    """A changed e-mail address (often: the first was wrong) gets the invitation; the old one a
    neutral cancellation that takes the meeting out of its calendar, and nothing after it, not
    even when the meeting is cancelled."""
    service = api.service
    meeting = await api.create_meeting()
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)

    answer = await api.patch(
        f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"email": "kim.exempel@example.org"}
    )
    assert answer.status == 200, answer
    # Where Kim's messages stand is where Kim is now: the invitation to the new address.
    assert [(d["channel"], d["kind"]) for d in answer.json["deliveries"]] == [("email", "invitation")]
    answer = await api.patch(f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"language": "en"})
    assert answer.status == 200, answer
    await deliveries_settled(service)

    first, withdrawal = mail_to(mail_server, "kim@example.se")
    (again,) = mail_to(mail_server, "kim.exempel@example.org")
    assert kim["invitation_url"] in again.text
    assert kim["invitation_url"] not in withdrawal.raw.decode()
    assert "avbokat" not in withdrawal.text and "gäller inte längre" in withdrawal.text
    assert leaks(withdrawal.raw.decode("utf-8"), "kim@example.se") == []
    (old,) = both(first.calendar)[:1]
    for read in both(withdrawal.calendar):
        assert (read.method, read.status, read.uid) == ("CANCEL", "CANCELLED", old.uid)
        assert read.sequence > old.sequence
        assert read.attendees == ("mailto:kim@example.se",)
    for read in both(again.calendar):
        assert read.method == "REQUEST" and read.sequence > both(withdrawal.calendar)[0].sequence

    answer = await api.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={})
    assert answer.status == 200, answer
    await deliveries_settled(service)
    assert len(mail_to(mail_server, "kim@example.se")) == 2, "the old address already had its cancellation"
    assert [method for method, _ in calendars_to(mail_server, "kim.exempel@example.org")] == ["REQUEST", "CANCEL"]
    assert rising([sequence for _, sequence in calendars_to(mail_server, "kim.exempel@example.org")])


async def test_finding_13_an_address_nothing_reached_gets_no_cancellation(api: Api, mail_server: MailServer):
    """Nobody hears of a meeting first through its cancellation: an invitation still waiting for
    the old address is simply not sent."""
    service = api.service
    meeting = await api.create_meeting()
    mail_server.handler.data_replies[:] = ["451 4.3.0 Try again later"]
    kim = await api.add_participant(meeting["id"], display_name="Kim Exempel", email="kim@example.se")
    await deliveries_settled(service)  # the first try failed; the retry waits its back-off
    answer = await api.patch(
        f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"email": "kim.exempel@example.org"}
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    service.clock.advance(hours=2)
    await deliveries_settled(service)
    assert mail_to(mail_server, "kim@example.se") == []
    assert len(mail_to(mail_server, "kim.exempel@example.org")) == 1


async def test_finding_15c_changing_only_the_email_does_not_text_the_phone_again(api: Api, mail_server: MailServer):
    service = api.service
    meeting = await api.create_meeting()
    kim = await api.add_participant(
        meeting["id"], display_name="Kim Exempel", email="kim@example.se", mobile="+46701234567"
    )
    await deliveries_settled(service)
    assert len(await sms_bodies(service)) == 1

    answer = await api.patch(
        f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"email": "kim.exempel@example.org"}
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    assert len(await sms_bodies(service)) == 1, "the phone already has the invitation"
    assert len(mail_to(mail_server, "kim.exempel@example.org")) == 1

    answer = await api.patch(
        f"/api/v1/meetings/{meeting['id']}/participants/{kim['id']}", json={"mobile": "+46709999999"}
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    texts = await sms_bodies(service)
    assert len(texts) == 2 and all(PERSONAL_LINK in text for text in texts)  # written in as each is sent
    assert len(mail_to(mail_server, "kim.exempel@example.org")) == 1, "the mailbox already has the invitation"


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


async def test_finding_16_citizens_read_a_neutral_title_and_staff_the_detail(api: Api, mail_server: MailServer):
    """A shared phone's lock screen shows the sender, the subject, the start of an SMS and the
    calendar's title: for the person, their family and others outside the two organisations
    these say "Möte med Exempelstads kommun", never "SIP" nor the convening unit. Staff of the
    organisations keep "SIP-möte" and the unit. The organisation can choose the public name."""
    service = api.service
    directory = service.app[DIRECTORY]
    unit = await directory.create_organisation(
        "Exempelstads kommun, Socialförvaltningen", OrganisationKind.MUNICIPALITY
    )
    _, api.world.keys[unit.id] = await directory.create_api_client(unit.id, "case management")
    host = await directory.add_staff_member(OrganisationCaller(unit.id, "test"), display_name="Ledare")
    api.world.hosts[unit.id] = host.id
    meeting = await api.create_meeting(org=unit)
    await api.add_participant(meeting["id"], org=unit, email="kim@example.se", mobile="+46701234567")
    await api.add_participant(meeting["id"], org=unit, role="guardian", email="lena@example.se", language="en")
    await api.add_participant(
        meeting["id"],
        org=unit,
        role="municipality_staff",
        organisation_id=unit.id,
        display_name="Sara Handläggare",
        email="sara@exempelstad.se",
    )
    await deliveries_settled(service)

    def lock_screen(mail: ReceivedMail) -> list[str]:
        (read, *_) = both(mail.calendar)
        return [str(mail.message["From"]), str(mail.message["Subject"]), mail.text, read.summary, read.organizer_name]

    (kim,) = mail_to(mail_server, "kim@example.se")
    (lena,) = mail_to(mail_server, "lena@example.se")
    (sara,) = mail_to(mail_server, "sara@exempelstad.se")
    (sms,) = await sms_bodies(service)
    assert str(kim.message["Subject"]).strip().startswith("Inbjudan: Möte med Exempelstads kommun ")
    assert str(lena.message["Subject"]).strip().startswith("Invitation: Meeting with Exempelstads kommun ")
    assert kim.message["From"].addresses[0].display_name == "Exempelstads kommun"
    assert {read.summary for read in both(kim.calendar)} == {"Möte med Exempelstads kommun"}
    assert {read.summary for read in both(lena.calendar)} == {"Meeting with Exempelstads kommun"}
    assert sms.startswith("Exempelstads kommun bjuder in dig till ett möte ")
    for shown in [*lock_screen(kim), *lock_screen(lena), sms]:
        assert "SIP" not in shown and "Socialförvaltningen" not in shown, shown
    assert str(sara.message["Subject"]).strip().startswith("Inbjudan: SIP-möte ")
    assert "Exempelstads kommun, Socialförvaltningen bjuder in dig till ett SIP-möte" in sara.text

    # The organisation chooses its public name; the organisations list says what citizens read.
    await directory.set_public_name(unit.id, "Exempelstad")
    moved = local_time(service.clock(), days=9, hour=13)
    answer = await api.post(
        f"/api/v1/meetings/{meeting['id']}/reschedule",
        org=unit,
        json={"starts_at": rfc3339(moved), "ends_at": rfc3339(moved + timedelta(hours=1))},
    )
    assert answer.status == 200, answer
    await deliveries_settled(service)
    update = mail_to(mail_server, "kim@example.se")[-1]
    assert str(update.message["Subject"]).strip().startswith("Ny tid: Möte med Exempelstad ")
    assert {read.summary for read in both(update.calendar)} == {"Möte med Exempelstad"}
    listed = {o["id"]: o for o in (await api.get("/api/v1/organisations", org=unit)).json["items"]}
    assert listed[unit.id]["public_name"] == "Exempelstad"
    assert listed[api.world.municipality.id]["public_name"] == "Exempelstads kommun"


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
