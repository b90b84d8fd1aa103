"""Alembic environment: runs migrations over the service's own async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import metadata

config = context.config


def _pragma(connection: Connection, statement: str) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # connected by now
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a SQLite table by copying it and dropping the old one; with foreign
        # keys on, that drop deletes every row that cascades from it (a meeting's participants,
        # invitations, attendances). SQLite's own advice for schema changes is to switch the
        # checks off for the change and verify afterwards. The pragma only takes effect outside a
        # transaction, so it goes to the driver's connection before SQLAlchemy begins one.
        _pragma(connection, "PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migrated database breaks {len(broken)} foreign keys; nothing was committed")


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # migrate.alembic_config always sets it; a hand-made config might not
        raise RuntimeError("the Alembic configuration names no sqlalchemy.url")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
