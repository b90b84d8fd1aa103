"""A meeting is in progress from its first admission, in the statement that admits.

The first time anyone was let into a meeting, the waiting room marked the meeting in progress
with an ``UPDATE`` of its own after the admission's writes: one statement more in that
admission, on every path that admits (a host, the admission policy, admitting all who match).
This trigger does it inside the statement that moves an attendance to ``admitted``, on SQLite and
PostgreSQL alike, so no path can admit someone and leave the meeting looking as if it never
started (a scheduled meeting can still be moved, and one never started is later marked not held).
The meeting takes the entry's ``updated_at``: the service's clock at the admission.

Revision ID: 0015
Revises: 0014

"""

from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_START = (
    "UPDATE meetings SET status = 'in_progress', updated_at = NEW.updated_at "
    "WHERE id = NEW.meeting_id AND status = 'scheduled'"
)
_WHEN = "NEW.state = 'admitted' AND OLD.state <> 'admitted'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER attendances_admission_starts_meeting AFTER UPDATE OF state ON attendances "
            f"FOR EACH ROW WHEN {_WHEN} BEGIN {_START}; END"
        )
        return
    op.execute(
        "CREATE FUNCTION admission_starts_meeting() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_START}; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER attendances_admission_starts_meeting AFTER UPDATE OF state ON attendances "
        f"FOR EACH ROW WHEN ({_WHEN}) EXECUTE FUNCTION admission_starts_meeting()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS attendances_admission_starts_meeting")
        return
    # PostgreSQL names a trigger within its table.
    op.execute("DROP TRIGGER IF EXISTS attendances_admission_starts_meeting ON attendances")
    op.execute("DROP FUNCTION IF EXISTS admission_starts_meeting()")
