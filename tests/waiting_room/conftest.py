"""The waiting room is exercised on SQLite here; its multi-process behaviour on PostgreSQL and
Redis is tested with the scale-out tests."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.databases import SqliteTemplate
from tests.support.service import SettableClock, RunningService, make_settings, start_service


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service; its BankID simulator ages orders on the same (the test's) clock."""
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir), clock)
    yield running
    await running.close()
