"""Fixtures that build the smallest real world a test needs.

``database_url`` runs each test that asks for it on SQLite *and* on PostgreSQL. PostgreSQL tests
skip with the reason only where no server is reachable (a fresh laptop); in CI (``CI=true``)
an unreachable server fails the run instead, so a broken CI machine cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from meetsvc.domain.model import Organisation, OrganisationKind
from meetsvc.services.directory import Directory
from tests.notify.mailserver import MailServer
from tests.scale.faults import PostgresCut
from tests.support.databases import PostgresTemplate, SqliteTemplate, postgres_available
from tests.support.service import RunningService, SettableClock, make_settings, start_service

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Every record logged during the run is read for the test persons' data (tests/support/logscan.py).
pytest_plugins = ("tests.support.logscan",)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest_asyncio.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    template = SqliteTemplate(tmp_path_factory.mktemp("sqlite"))
    await template.prepare()
    return template


@pytest_asyncio.fixture(scope="session")
async def postgres_template() -> AsyncIterator[PostgresTemplate]:
    reason = await postgres_available()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    template = PostgresTemplate()
    await template.prepare()
    yield template
    await template.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_template(request: pytest.FixtureRequest) -> SqliteTemplate | PostgresTemplate:
    """Which database a test runs on; requested lazily so SQLite-only runs never touch PostgreSQL."""
    return request.getfixturevalue("sqlite_template" if request.param == "sqlite" else "postgres_template")


@pytest_asyncio.fixture
async def database_url(database_template: SqliteTemplate | PostgresTemplate) -> AsyncIterator[str]:
    if isinstance(database_template, SqliteTemplate):
        yield database_template.clone()
        return
    url = await database_template.clone()
    yield url
    await database_template.drop(url.rsplit("/", 1)[1])


@pytest_asyncio.fixture
async def clock() -> SettableClock:
    return SettableClock()


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    running = await start_service(make_settings(database_url, keys_dir), clock)
    yield running
    await running.close()


@dataclass
class World:
    """Three organisations (two municipalities, one region), a key for each, a host each."""

    service: RunningService
    municipality: Organisation
    region: Organisation
    other_municipality: Organisation
    keys: dict[str, str]
    hosts: dict[str, str]

    def auth(self, organisation: Organisation) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[organisation.id]}"}


@pytest_asyncio.fixture
async def world(service: RunningService) -> World:
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.http.appkeys import DIRECTORY

    directory: Directory = service.app[DIRECTORY]
    municipality = await directory.create_organisation("Exempelstads kommun", OrganisationKind.MUNICIPALITY)
    region = await directory.create_organisation("Region Exempel", OrganisationKind.REGION)
    other = await directory.create_organisation("Grannby kommun", OrganisationKind.MUNICIPALITY)
    keys, hosts = {}, {}
    for organisation in (municipality, region, other):
        _, keys[organisation.id] = await directory.create_api_client(organisation.id, "case management")
        caller = OrganisationCaller(organisation.id, "test")
        member = await directory.add_staff_member(caller, display_name=f"Ledare {organisation.name}")
        hosts[organisation.id] = member.id
    return World(service, municipality, region, other, keys, hosts)


@pytest_asyncio.fixture
async def mail_server() -> AsyncIterator[MailServer]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    server = await MailServer().start()
    yield server
    await server.close()


@pytest_asyncio.fixture
async def postgres_cut() -> AsyncIterator[PostgresCut]:
    """A TCP proxy in front of PostgreSQL that a test can cut and restore (the server itself,
    shared by every test, is never touched)."""
    cut = PostgresCut()
    await cut.start()
    yield cut
    await cut.close()
