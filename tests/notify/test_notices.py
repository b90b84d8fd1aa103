"""What the notices API records in the caller's transaction: channels, keys, reminders, and how
a newer notice supersedes older ones still waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName
from meetsvc.domain.model import Language, ParticipantRole
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.links import PERSONAL_LINK
from meetsvc.notify.messages import MessageBuilder
from meetsvc.notify.notices import MessageNotices
from tests.notify.world import KIM, LENA, OMAR, ORGANISATION, World, outbox_rows


async def invite(world: World, notices: MessageNotices, name: str, **options: bool) -> list[str]:
    meeting, participant = await world.meeting(), await world.participant(name)
    async with world.engine.begin() as connection:
        return await notices.enqueue_invitation(
            connection, meeting, participant, world.link(name), ORGANISATION, **options
        )


def keyed(rows) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {row.dedupe_key: row.status for row in rows}


async def test_an_invitation_goes_to_each_channel_the_participant_has_with_reminders(
    world: World, notices: MessageNotices, engine: AsyncEngine
):
    recorded = await invite(world, notices, LENA.name)
    lena = world.people[LENA.name]
    meeting = await world.meeting()
    starts = meeting.starts_at.strftime("%Y%m%dT%H%M%SZ")
    rows = await outbox_rows(engine, participant_id=lena)
    assert keyed(rows) == {
        f"invitation:{lena}:0:email": "pending",
        f"invitation:{lena}:0:sms": "pending",
        f"reminder:{lena}:email:1440:{starts}": "pending",
        f"reminder:{lena}:sms:1440:{starts}": "pending",
        f"reminder:{lena}:email:60:{starts}": "pending",
        f"reminder:{lena}:sms:60:{starts}": "pending",
    }
    assert sorted(recorded) == sorted(row.id for row in rows)
    by_key = {row.dedupe_key: row for row in rows}
    email = by_key[f"invitation:{lena}:0:email"]
    assert (email.recipient, email.language, email.sender_name) == (LENA.email, "en", ORGANISATION)
    assert email.subject and email.attachment and "METHOD:REQUEST" in email.attachment
    sms = by_key[f"invitation:{lena}:0:sms"]
    assert (sms.recipient, sms.subject, sms.attachment) == (LENA.mobile, None, None)
    # The link is written in only as the message is sent: the outbox holds a placeholder.
    assert PERSONAL_LINK in sms.body and world.link(LENA.name) not in sms.body
    reminder = by_key[f"reminder:{lena}:email:60:{starts}"]
    assert (reminder.next_attempt_at, reminder.expires_at) == (
        meeting.starts_at - timedelta(hours=1),
        meeting.starts_at,
    )
    assert by_key[f"invitation:{lena}:0:email"].expires_at == meeting.ends_at


async def test_recording_the_same_invitation_again_records_nothing(
    world: World, notices: MessageNotices, engine: AsyncEngine
):
    assert len(await invite(world, notices, OMAR.name)) == 3
    assert await invite(world, notices, OMAR.name) == []
    assert len(await outbox_rows(engine)) == 3


async def test_only_switched_on_channels_are_used(world: World, builder: MessageBuilder, engine: AsyncEngine, clock):
    email_only = MessageNotices(builder, channels=frozenset({ChannelName.EMAIL}), reminders_before=(), clock=clock)
    assert len(await invite(world, email_only, LENA.name)) == 1
    assert await invite(world, email_only, OMAR.name) == []  # Omar has only a mobile number
    assert {row.channel for row in await outbox_rows(engine)} == {"email"}


async def test_reminders_already_past_are_left_out(world: World, notices: MessageNotices, engine: AsyncEngine, clock):
    meeting = await world.meeting()
    clock.now = meeting.starts_at - timedelta(hours=5)
    await invite(world, notices, KIM.name)
    assert sorted(row.kind for row in await outbox_rows(engine)) == ["invitation", "reminder"]


async def test_a_reminder_recorded_late_goes_at_once_and_none_after_the_start(
    world: World, notices: MessageNotices, engine: AsyncEngine, clock
):
    meeting, kim = await world.meeting(), await world.participant(KIM.name)
    clock.now = meeting.starts_at - timedelta(minutes=30)
    async with engine.begin() as connection:
        (late,) = await notices.enqueue_reminder(
            connection, meeting, kim, world.link(KIM.name), ORGANISATION, timedelta(hours=1)
        )
        # The same reminder after a restart: the key holds it back.
        assert (
            await notices.enqueue_reminder(
                connection, meeting, kim, world.link(KIM.name), ORGANISATION, timedelta(hours=1)
            )
            == []
        )
    (row,) = await outbox_rows(engine, id=late)
    assert row.next_attempt_at < clock()
    clock.now = meeting.starts_at
    async with engine.begin() as connection:
        assert (
            await notices.enqueue_reminder(
                connection, meeting, kim, world.link(KIM.name), ORGANISATION, timedelta(minutes=10)
            )
            == []
        )


async def test_an_update_supersedes_what_is_still_waiting(world: World, notices: MessageNotices, engine: AsyncEngine):
    await invite(world, notices, KIM.name)
    meeting = await world.meeting()
    await world.move(meeting.starts_at + timedelta(days=1), meeting.ends_at + timedelta(days=1))
    moved, kim = await world.meeting(), await world.participant(KIM.name)
    async with engine.begin() as connection:
        await notices.enqueue_update(connection, moved, kim, world.link(KIM.name), ORGANISATION)
    rows = await outbox_rows(engine)
    assert sorted((row.kind, row.status) for row in rows) == sorted(
        [
            ("invitation", "cancelled"),
            ("reminder", "cancelled"),
            ("reminder", "cancelled"),
            ("update", "pending"),
            ("reminder", "pending"),
            ("reminder", "pending"),
        ]
    )
    assert all(row.next_attempt_at < moved.starts_at for row in rows if row.status == "pending")
    assert {row.last_error for row in rows if row.status == "cancelled"} == {"superseded by update 1"}
    assert all(row.body is None for row in rows if row.status == "cancelled")


async def test_an_update_without_a_new_time_brings_back_the_same_reminders(
    world: World, notices: MessageNotices, engine: AsyncEngine
):
    await invite(world, notices, KIM.name)
    reminder_ids = {row.id for row in await outbox_rows(engine, kind="reminder")}
    await world.move((await world.meeting()).starts_at, (await world.meeting()).ends_at)
    meeting, kim = await world.meeting(), await world.participant(KIM.name)
    async with engine.begin() as connection:
        await notices.enqueue_update(connection, meeting, kim, world.link(KIM.name), ORGANISATION)
    reminders = await outbox_rows(engine, kind="reminder")
    assert {row.id for row in reminders} == reminder_ids
    assert {row.status for row in reminders} == {"pending"}


async def test_no_cancellation_for_an_invitation_that_never_went_out(
    world: World, notices: MessageNotices, engine: AsyncEngine
):
    await invite(world, notices, KIM.name)
    await world.cancel()
    meeting, kim = await world.meeting(), await world.participant(KIM.name)
    async with engine.begin() as connection:
        assert await notices.enqueue_cancellation(connection, meeting, kim, ORGANISATION) == []
    assert {row.status for row in await outbox_rows(engine)} == {"cancelled"}


async def test_a_cancellation_goes_only_where_the_invitation_went(
    world: World, notices: MessageNotices, engine: AsyncEngine, deliverer: Deliverer
):
    await invite(world, notices, LENA.name, reminders=False)
    # The e-mail went out; the SMS is still waiting when the meeting is cancelled.
    (sms,) = await outbox_rows(engine, channel="sms")
    async with engine.begin() as connection:
        from meetsvc.notify import outbox

        await outbox.cancel_pending(
            connection, reason="held back by the test", participant_id=world.people[LENA.name], channel=ChannelName.SMS
        )
    await deliverer.run_once()
    async with engine.begin() as connection:
        from sqlalchemy import update

        from meetsvc.storage.tables import outbox_messages

        await connection.execute(update(outbox_messages).where(outbox_messages.c.id == sms.id).values(status="pending"))
    await world.cancel()
    meeting, lena = await world.meeting(), await world.participant(LENA.name)
    async with engine.begin() as connection:
        (cancellation,) = await notices.enqueue_cancellation(connection, meeting, lena, ORGANISATION)
    rows = {(row.kind, row.channel): row for row in await outbox_rows(engine)}
    assert rows[("cancellation", "email")].id == cancellation
    assert "METHOD:CANCEL" in rows[("cancellation", "email")].attachment
    assert rows[("invitation", "sms")].status == "cancelled"
    assert ("cancellation", "sms") not in rows


@dataclass(frozen=True)
class DomainParticipant:
    """The domain's Participant carries ``language`` as an enum; rows carry text."""

    id: str
    email: str | None
    mobile: str | None
    language: Language
    role: ParticipantRole = ParticipantRole.INDIVIDUAL


async def test_domain_objects_work_as_well_as_rows(world: World, notices: MessageNotices, engine: AsyncEngine):
    meeting = await world.meeting()
    participant = DomainParticipant(world.people[KIM.name], "kim@example.se", None, Language.EN)
    async with engine.begin() as connection:
        await notices.enqueue_invitation(
            connection, meeting, participant, world.link(KIM.name), ORGANISATION, reminders=False
        )
    (row,) = await outbox_rows(engine)
    assert row.language == "en"
    assert row.subject.startswith("Invitation: Meeting with Exempelstads kommun on")
    assert isinstance(meeting.starts_at, datetime)


async def test_moving_back_to_the_first_time_brings_back_its_reminders(
    world: World, notices: MessageNotices, engine: AsyncEngine
):
    await invite(world, notices, KIM.name)
    first = await world.meeting()
    first_reminders = {row.id for row in await outbox_rows(engine, kind="reminder")}
    for starts_at, ends_at in (
        (first.starts_at + timedelta(days=3), first.ends_at + timedelta(days=3)),
        (first.starts_at, first.ends_at),
    ):
        await world.move(starts_at, ends_at)
        meeting, kim = await world.meeting(), await world.participant(KIM.name)
        async with engine.begin() as connection:
            await notices.enqueue_update(connection, meeting, kim, world.link(KIM.name), ORGANISATION)
    pending = {row.id for row in await outbox_rows(engine, kind="reminder", status="pending")}
    assert pending == first_reminders
    assert len(await outbox_rows(engine, kind="reminder")) == 4
