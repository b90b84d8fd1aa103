"""The outbox table's own promises, on SQLite and PostgreSQL: a key is enqueued once, a claim is
exclusive and leased, expired messages are cancelled, and the retention purge clears personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName, MessageKind, MessageStatus
from meetsvc.notify import outbox
from meetsvc.notify.outbox import NewMessage
from meetsvc.storage.tables import meetings
from tests.notify.world import KIM, World, outbox_rows


def new(world: World, key: str = "invitation:kim:0:email", **changes: object) -> NewMessage:
    values: dict[str, object] = {
        "meeting_id": world.meeting_id,
        "participant_id": world.people[KIM.name],
        "channel": ChannelName.EMAIL,
        "kind": MessageKind.INVITATION,
        "dedupe_key": key,
        "recipient": KIM.email,
        "language": "sv",
        "body": "text",
        "subject": "subject",
        "attachment": "BEGIN:VCALENDAR",
    }
    values.update(changes)
    return NewMessage(**values)  # type: ignore[arg-type]


async def test_the_same_key_is_enqueued_once_and_the_transaction_goes_on(world: World, engine: AsyncEngine, clock):
    async with engine.begin() as connection:
        first = await outbox.enqueue(connection, new(world), now=clock())
        again = await outbox.enqueue(connection, new(world, body="other"), now=clock())
        # On PostgreSQL a failed insert would have aborted the whole transaction by now.
        assert (await connection.execute(select(meetings.c.id))).scalar_one() == world.meeting_id
    async with engine.begin() as connection:
        later = await outbox.enqueue(connection, new(world), now=clock())
    assert first is not None
    assert again is None and later is None
    (row,) = await outbox_rows(engine)
    assert (row.id, row.body, row.status, row.attempts) == (first, "text", "pending", 0)


async def test_a_key_cancelled_before_sending_can_be_enqueued_again_and_a_sent_one_cannot(
    world: World, engine: AsyncEngine, clock, deliverer
):
    async with engine.begin() as connection:
        first = await outbox.enqueue(connection, new(world), now=clock())
        await outbox.cancel_pending(connection, reason="superseded", participant_id=world.people[KIM.name])
    clock.advance(minutes=5)
    async with engine.begin() as connection:
        revived = await outbox.enqueue(connection, new(world, body="new text"), now=clock())
    assert revived == first
    (row,) = await outbox_rows(engine)
    assert (row.status, row.body, row.last_error, row.created_at) == ("pending", "new text", None, clock())

    await deliverer.run_once()
    async with engine.begin() as connection:
        assert await outbox.enqueue(connection, new(world, body="third"), now=clock()) is None
    (row,) = await outbox_rows(engine)
    assert row.status == "sent"


async def test_a_claim_is_exclusive_until_its_lease_runs_out(world: World, engine: AsyncEngine, clock):
    async with engine.begin() as connection:
        message_id = await outbox.enqueue(connection, new(world), now=clock())
    lease = timedelta(seconds=30)
    (claimed,) = await outbox.claim(engine, worker="a", now=clock(), lease=lease, limit=10, max_attempts=3)
    assert (claimed.id, claimed.attempts, claimed.recipient) == (message_id, 1, KIM.email)
    assert (
        await outbox.claim(
            engine, worker="b", now=clock() + lease - timedelta(seconds=1), lease=lease, limit=10, max_attempts=3
        )
        == []
    )
    (again,) = await outbox.claim(engine, worker="b", now=clock() + lease, lease=lease, limit=10, max_attempts=3)
    assert again.attempts == 2
    # The first claimant's outcome no longer counts.
    assert not await outbox.mark_sent(engine, message_id, worker="a", now=clock(), via="smtp", keep_content=False)
    assert await outbox.mark_sent(engine, message_id, worker="b", now=clock(), via="smtp", keep_content=False)


async def test_a_lease_that_ran_out_on_the_last_attempt_fails_the_message(world: World, engine: AsyncEngine, clock):
    async with engine.begin() as connection:
        message_id = await outbox.enqueue(connection, new(world), now=clock())
    lease = timedelta(seconds=30)
    await outbox.claim(engine, worker="a", now=clock(), lease=lease, limit=10, max_attempts=1)
    assert await outbox.claim(engine, worker="b", now=clock() + lease, lease=lease, limit=10, max_attempts=1) == []
    (row,) = await outbox_rows(engine, id=message_id)
    assert row.status == "failed"
    assert row.last_error.startswith("outcome of the last attempt unknown")


async def test_a_message_not_sent_before_it_expires_is_cancelled(world: World, engine: AsyncEngine, clock):
    async with engine.begin() as connection:
        await outbox.enqueue(connection, new(world, expires_at=clock() + timedelta(minutes=1)), now=clock())
    claimed = await outbox.claim(
        engine, worker="a", now=clock() + timedelta(minutes=1), lease=timedelta(seconds=30), limit=10, max_attempts=3
    )
    assert claimed == []
    (row,) = await outbox_rows(engine)
    assert (row.status, row.last_error, row.body) == ("cancelled", "expired before it could be sent", None)


async def test_cancel_pending_names_what_it_cancels(world: World, engine: AsyncEngine, clock):
    async with engine.begin() as connection:
        await outbox.enqueue(connection, new(world, "a"), now=clock())
        await outbox.enqueue(connection, new(world, "b", kind=MessageKind.REMINDER), now=clock())
        await outbox.enqueue(connection, new(world, "c", channel=ChannelName.SMS), now=clock())
        with pytest.raises(ValueError):
            await outbox.cancel_pending(connection, reason="x")
        cancelled = await outbox.cancel_pending(
            connection, reason="superseded", meeting_id=world.meeting_id, kinds=[MessageKind.REMINDER]
        )
    assert cancelled == 1
    assert {(r.dedupe_key, r.status) for r in await outbox_rows(engine)} == {
        ("a", "pending"),
        ("b", "cancelled"),
        ("c", "pending"),
    }


async def test_the_retention_purge_clears_personal_data_and_keeps_the_record(
    world: World, engine: AsyncEngine, clock, deliverer
):
    async with engine.begin() as connection:
        await outbox.enqueue(connection, new(world, "sent"), now=clock())
    await deliverer.run_once()
    async with engine.begin() as connection:
        await outbox.enqueue(connection, new(world, "waiting", send_after=clock() + timedelta(days=1)), now=clock())
        assert await outbox.purge_personal_data(connection, [world.meeting_id]) == 2
    rows = {row.dedupe_key: row for row in await outbox_rows(engine)}
    assert rows["sent"].status == "sent"
    assert rows["waiting"].status == "cancelled"
    for row in rows.values():
        assert (row.recipient, row.subject, row.body, row.attachment, row.sender_name) == (None, None, None, None, None)
    async with engine.connect() as connection:
        records = await outbox.delivery_records(connection, world.meeting_id)
    assert {(r.kind, r.status) for r in records} == {
        (MessageKind.INVITATION, MessageStatus.SENT),
        (MessageKind.INVITATION, MessageStatus.CANCELLED),
    }


async def test_the_development_page_reads_what_the_outbox_channel_kept(
    world: World, engine: AsyncEngine, clock, deliverer
):
    async with engine.begin() as connection:
        await outbox.enqueue(connection, new(world, "email"), now=clock())
        await outbox.enqueue(
            connection,
            new(world, "sms", channel=ChannelName.SMS, subject=None, attachment=None, body="sms text"),
            now=clock(),
        )
    assert await deliverer.run_once() == 2  # e-mail by SMTP, SMS to the development outbox
    async with engine.connect() as connection:
        (kept,) = await outbox.development_messages(connection)
    assert (kept.channel, kept.body, kept.recipient, kept.status) == (
        ChannelName.SMS,
        "sms text",
        KIM.email,
        MessageStatus.SENT,
    )
