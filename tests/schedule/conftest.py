"""A service with its schedule switched on, on both databases, moved by the test's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from meetsvc.http.appkeys import SCHEDULE
from meetsvc.schedule.runner import Schedule
from tests.support.service import RunningService, SettableClock, make_settings, start_service


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    settings = make_settings(
        database_url,
        keys_dir,
        schedule={"enabled": True, "sync_seconds": 0.2, "leader_retry_seconds": 0.2},
        notify={"reminders_minutes_before": [1440, 60]},
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


@pytest_asyncio.fixture
async def schedule(service: RunningService) -> Schedule:
    schedule = service.app[SCHEDULE]
    await schedule.leading.wait()
    return schedule
