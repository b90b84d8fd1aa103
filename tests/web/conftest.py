"""Page tests exercise pages and eID, not storage: they run on SQLite only (storage itself is
tested on SQLite and PostgreSQL elsewhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.databases import SqliteTemplate
from tests.support.service import RunningService, SettableClock, make_settings, start_service


@pytest.fixture
def service_overrides() -> dict[str, Any]:
    """Settings a test module changes for its service (by defining this fixture itself)."""
    return {}


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate,
    keys_dir: Path,
    clock: SettableClock,
    service_overrides: dict[str, Any],
) -> AsyncIterator[RunningService]:
    """The service; its BankID simulator ages orders on the same (the test's) clock."""
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir, **service_overrides), clock)
    yield running
    await running.close()
