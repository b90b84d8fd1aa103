"""Real databases for tests: a migrated SQLite file or PostgreSQL database, cloned per test.

Migrations run once per session into a template; each test gets a copy (a file copy for SQLite,
``CREATE DATABASE … TEMPLATE …`` for PostgreSQL), which is fast and leaves no state behind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import asyncpg

from meetsvc.storage.migrate import upgrade

POSTGRES_ADMIN_DSN = os.environ.get("MEETSVC_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_url(dsn_database: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{dsn_database}"


async def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {exc.__class__.__name__}"
    await connection.close()
    return None


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.sqlite3"

    async def prepare(self) -> None:
        await upgrade(f"sqlite+aiosqlite:///{self.template}")

    def clone(self) -> str:
        target = self.directory / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"


class PostgresTemplate:
    def __init__(self) -> None:
        self.template = f"meetsvc_tmpl_{uuid.uuid4().hex[:12]}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)

    async def prepare(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{self.template}"')
        finally:
            await admin.close()
        await upgrade(postgres_url(self.template))

    async def clone(self) -> str:
        name = f"meetsvc_test_{uuid.uuid4().hex[:12]}"
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()
        return postgres_url(name)

    async def drop(self, name: str) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def cleanup(self) -> None:
        await self.drop(self.template)
