"""Fixtures for the organiser API tests: an :class:`Api` client on the ``world``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.api.helpers import Api, build_world
from tests.conftest import World
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.service import SettableClock, make_settings, start_service


@pytest_asyncio.fixture
async def api(world: World) -> Api:
    return Api(world)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_template(request: pytest.FixtureRequest) -> SqliteTemplate | PostgresTemplate:
    return request.getfixturevalue("sqlite_template" if request.param == "sqlite" else "postgres_template")


@pytest_asyncio.fixture(scope="module")
async def module_world(
    module_database_template: SqliteTemplate | PostgresTemplate, keys_dir: Path
) -> AsyncIterator[World]:
    """One world for a whole module, on each database: for tests that each change nothing."""
    template = module_database_template
    url = template.clone() if isinstance(template, SqliteTemplate) else await template.clone()
    service = await start_service(make_settings(url, keys_dir), SettableClock())
    try:
        yield await build_world(service)
    finally:
        await service.close()
        if isinstance(template, PostgresTemplate):
            await template.drop(url.rsplit("/", 1)[1])
