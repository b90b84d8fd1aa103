"""What the schedule puts in the log: nothing for a routine run, and no request id of a booking.

APScheduler logged "Running job …" and "… executed successfully" at INFO for each run of the
sync job, every few seconds, and those records carried the request id of whichever request had
last booked a meeting: the wake-ups it scheduled from that request inherited its context.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from datetime import timedelta

from meetsvc.core.logs import request_id_var
from meetsvc.schedule.runner import Schedule
from tests.support.timing import WAIT_SECONDS

PROBE = "booking-request-probe"


class Heard(logging.Handler):
    """Each record with the request id of the context it was logged from."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.getMessage(), request_id_var.get()))


async def test_the_schedules_runs_carry_no_request_id_of_the_booking_that_planned_them(world, schedule: Schedule):
    heard = Heard()
    apscheduler = logging.getLogger("apscheduler")
    level = apscheduler.level
    apscheduler.setLevel(logging.DEBUG)  # to see every run here, whatever the service logs
    apscheduler.addHandler(heard)
    try:
        starts = world.service.clock() + timedelta(hours=2)
        body = {
            "partner_organisation_id": world.region.id,
            "title": "SIP-möte",
            "care_area": "barn_och_unga",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "host_ids": [world.hosts[world.municipality.id]],
        }
        headers = {**world.auth(world.municipality), "X-Request-Id": PROBE}
        async with world.service.http.post("/api/v1/meetings", json=body, headers=headers) as response:
            assert response.status == 201, await response.text()
            meeting_id = (await response.json())["id"]
        async with asyncio.timeout(WAIT_SECONDS):  # booking planned the meeting's jobs at once
            while not any(event.meeting_id == meeting_id for event in schedule.planned()):
                await asyncio.sleep(0.02)
        mark = len(heard.records)
        async with asyncio.timeout(WAIT_SECONDS):  # and the sync job has run three times since
            while sum("executed successfully" in message for message, _ in heard.records[mark:]) < 3:
                await asyncio.sleep(0.05)
    finally:
        apscheduler.removeHandler(heard)
        apscheduler.setLevel(level)
    carried = [message for message, request_id in heard.records if request_id == PROBE]
    assert carried == [], f"the schedule logged with the booking's request id: {carried[:3]}"


def test_libraries_log_once_each_as_json_and_apscheduler_holds_back_routine_runs():
    """In a process of its own, as ``meetsvc serve`` sets logging up: a socket.io server is
    built, APScheduler runs a job three times, and each library logs a warning."""
    program = """
import asyncio, logging, warnings
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from meetsvc.core.logs import configure_logging
from meetsvc.realtime.server import create_server

configure_logging("INFO", "json")
create_server(allowed_origins=["http://127.0.0.1"], max_message_bytes=1000, compression=False)

async def main():
    runs = asyncio.Queue()
    scheduler = AsyncIOScheduler()
    async def job():
        await runs.put(1)
    scheduler.add_job(job, "interval", seconds=0.05)
    scheduler.start()
    for _ in range(3):
        await runs.get()
    scheduler.shutdown(wait=False)

asyncio.run(main())
for name in ("socketio.server", "engineio.server", "apscheduler.scheduler", "aiohttp.server", "asyncpg"):
    logging.getLogger(name).warning("a warning from %s", name)
warnings.warn("a Python warning")
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=WAIT_SECONDS, check=True
    )
    lines = done.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # every line one JSON object
    messages = [record["message"] for record in records]
    for name in ("socketio.server", "engineio.server", "apscheduler.scheduler", "aiohttp.server", "asyncpg"):
        assert messages.count(f"a warning from {name}") == 1, lines
    assert any("a Python warning" in message for message in messages), lines
    assert not [m for m in messages if "Running job" in m or "executed successfully" in m], lines
