"""What the readiness check asks the database: that it answers a statement at all."""

from __future__ import annotations

from sqlalchemy import text

from meetsvc.storage.engine import Connection


async def ping(connection: Connection) -> None:
    """Run the cheapest statement there is; raises when the database does not answer."""
    await connection.execute(text("SELECT 1"))
