"""Applying Alembic migrations from code, so `meetsvc migrate` and start-up share one path."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.storage.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What an upgrade did, told by the revisions the schema was at before and after it."""

    before: frozenset[str]
    after: frozenset[str]

    def describe(self) -> str:
        after = ", ".join(sorted(self.after)) or "none"
        if not self.before:
            return f"created the database schema (revision {after})"
        if self.before == self.after:
            return f"the database schema is already up to date (revision {after})"
        return f"upgraded the database schema from revision {', '.join(sorted(self.before))} to {after}"


async def upgrade(url: str, revision: str = "head") -> Upgrade:
    """Run the migrations in a worker thread (Alembic's API is synchronous), and say what changed."""
    before = await _revisions_at(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    return Upgrade(before, await _revisions_at(url))


async def _revisions_at(url: str) -> frozenset[str]:
    engine = create_engine(url)
    try:
        return await current_revisions(engine)
    finally:
        await engine.dispose()


def head_revisions(url: str) -> frozenset[str]:
    """The revisions a current schema is at (reads the migration files: call it off the loop)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    async with engine.connect() as connection:
        heads = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    return frozenset(heads)
