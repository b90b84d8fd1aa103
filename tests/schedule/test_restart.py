"""Reminders falling due before, during and after a restart each reach their recipient exactly
once, through an SMTP server that refuses the first attempts. Real time: the service runs on
the wall clock, as in production, and the test waits for the moments to come.

Meeting A's reminder falls due while the first process runs, B's while no process runs, C's
after the second process has started. The second process rebuilds its schedule from the
database: B's reminder is past due and goes out at once, A's is not sent again.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from meetsvc.core.clock import utc_now
from meetsvc.http.appkeys import ENGINE, SCHEDULE
from meetsvc.storage.tables import outbox_messages
from tests.api.helpers import Api, build_world
from tests.notify.mailserver import MailServer
from tests.support.databases import SqliteTemplate
from tests.support.service import RunningService, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

FROM = "no-reply@sip-mote.example.se"
LEADS = {"A": 5.0, "B": 12.0, "C": 19.0}  # seconds from booking to each meeting's reminder


def settings_for(database_url: str, keys_dir: Path, mail_server: MailServer):  # type: ignore[no-untyped-def]
    return make_settings(
        database_url,
        keys_dir,
        schedule={"enabled": True, "sync_seconds": 0.5, "leader_retry_seconds": 0.5},
        notify={
            "email": "smtp",
            "sms": "off",
            "from_address": FROM,
            "reminders_minutes_before": [60],
            "smtp": {"host": "127.0.0.1", "port": mail_server.port, "security": "none", "timeout_seconds": 5},
            "delivery": {
                "poll_seconds": 0.2,
                "send_timeout_seconds": 5,
                "lease_seconds": 10,
                "first_retry_seconds": 0.5,
                "max_retry_seconds": 2,
            },
        },
    )


def received(mail_server: MailServer, kind: str) -> list[str]:
    prefix = {"invitation": "Inbjudan:", "reminder": "Påminnelse:"}[kind]
    return [mail.rcpt_tos[0] for mail in mail_server.received if mail.message["Subject"].startswith(prefix)]


async def wait_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def eventually(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.05)


async def all_final(service: RunningService) -> bool:
    async with service.app[ENGINE].connect() as connection:
        statuses = set((await connection.execute(select(outbox_messages.c.status))).scalars())
    return bool(statuses) and statuses <= {"sent", "failed", "cancelled"}


async def test_reminders_due_before_during_and_after_a_restart_go_out_exactly_once(
    sqlite_template: SqliteTemplate, keys_dir: Path, mail_server: MailServer
):
    database_url = sqlite_template.clone()
    first: RunningService | None = await start_service(settings_for(database_url, keys_dir, mail_server), utc_now)  # type: ignore[arg-type]
    assert first is not None
    second: RunningService | None = None
    # The mail server refuses the first two messages: they are retried and then accepted.
    mail_server.handler.data_replies[:] = ["451 4.3.0 Try again later", "421 4.3.2 Service shutting down"]
    try:
        api = Api(await build_world(first))
        booked_at = time.monotonic()
        now = datetime.now(UTC)
        addresses: dict[str, list[str]] = {}
        for name, lead in LEADS.items():
            starts = (now + timedelta(minutes=60, seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
            meeting = await api.create_meeting(starts_at=starts)
            addresses[name] = []
            for index in range(2):
                address = f"{name.lower()}{index}@example.se"
                await api.add_participant(meeting["id"], display_name=f"Deltagare {name}{index}", email=address)
                addresses[name].append(address)
        everyone = sorted(a for group in addresses.values() for a in group)

        await eventually(lambda: sorted(received(mail_server, "invitation")) == everyone, 15)
        await eventually(lambda: sorted(received(mail_server, "reminder")) == addresses["A"], 15)
        await first.close()
        first = None
        stopped_at = time.monotonic()
        assert stopped_at < booked_at + LEADS["B"], "the machine was too slow to stop before B's reminder fell due"

        await wait_until(booked_at + LEADS["B"] + 1.5)
        assert sorted(received(mail_server, "reminder")) == addresses["A"], "nothing is sent while no process runs"
        second = await start_service(settings_for(database_url, keys_dir, mail_server), utc_now)  # type: ignore[arg-type]
        started_at = time.monotonic()
        assert started_at < booked_at + LEADS["C"], "the machine was too slow to restart before C's reminder fell due"
        await second.app[SCHEDULE].leading.wait()

        await eventually(
            lambda: sorted(received(mail_server, "reminder")) == sorted(addresses["A"] + addresses["B"]), 15
        )
        await eventually(lambda: sorted(received(mail_server, "reminder")) == everyone, 20)
        # Once every message is final no process sends it again, and the mail server records a
        # message before it accepts it: what arrived is complete, with no pause for a duplicate.
        async with asyncio.timeout(WAIT_SECONDS):
            while not await all_final(second):
                await asyncio.sleep(0.05)

        assert sorted(received(mail_server, "reminder")) == everyone
        assert sorted(received(mail_server, "invitation")) == everyone
        async with second.app[ENGINE].connect() as connection:
            rows = (await connection.execute(select(outbox_messages))).all()
        assert {row.status for row in rows} == {"sent"}
        assert sorted(row.attempts for row in rows if row.attempts > 1) == [2, 2], (
            "the two refused were tried again once"
        )
        assert len(rows) == 2 * len(everyone)
    finally:
        for service in (first, second):
            if service is not None:
                await service.close()
