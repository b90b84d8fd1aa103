"""A database error never carries what a statement was given into the log.

SQLAlchemy writes a failed statement's parameters into the error's text, which the service logs
with its traceback: a participant's name, e-mail or mobile would land in the log beside it.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime

import pytest
from sqlalchemy import exc as sa

from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import participants

NAME, EMAIL, MOBILE = "Greta Loggsson", "greta.loggsson@example.se", "+46701239876"


async def test_finding_10_an_integrity_error_names_no_parameter(database_url: str) -> None:
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        with pytest.raises(sa.IntegrityError) as caught:
            async with engine.begin() as connection:
                # A meeting that does not exist: the foreign key refuses the row.
                await connection.execute(
                    participants.insert().values(
                        id="p-orphan",
                        meeting_id="m-none",
                        role="guardian",
                        display_name=NAME,
                        email=EMAIL,
                        mobile=MOBILE,
                        language="sv",
                        state="invited",
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await engine.dispose()
    logged = "".join(traceback.format_exception(caught.value))
    assert "participants" in logged, "the error still says which statement failed"
    for datum in (NAME, EMAIL, MOBILE):
        assert datum not in logged
