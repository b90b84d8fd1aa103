"""The waiting room is exercised on SQLite here; its multi-process behaviour on PostgreSQL and
Redis is tested with the scale-out tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.support.databases import SqliteTemplate
from tests.support.service import RunningService, SettableClock, make_settings, start_service


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service; its BankID simulator ages orders on the same (the test's) clock."""
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir), clock)
    yield running
    await running.close()
