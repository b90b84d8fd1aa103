"""Applying Alembic migrations from code, so `meetsvc migrate` and start-up share one path."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations in a worker thread: Alembic's API is synchronous."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


def head_revisions(url: str) -> frozenset[str]:
    """The revisions a current schema is at (reads the migration files: call it off the loop)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    async with engine.connect() as connection:
        heads = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    return frozenset(heads)
