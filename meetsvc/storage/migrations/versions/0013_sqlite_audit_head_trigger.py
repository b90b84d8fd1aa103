"""On SQLite, the audit log's newest entry moves the head's hash itself.

An append takes the head (moving its sequence number on), writes its entries, then makes the
last entry's hash the head's. PostgreSQL does the last step in the INSERT's own statement (a
data-modifying WITH); SQLite has none, so it took a statement of its own in every transaction
that writes to the audit log. This trigger does it inside the INSERT instead: when the entry
written is the one the head now points at, the head takes its hash.

Revision ID: 0013
Revises: 0012

"""

from alembic import op


revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER audit_log_moves_head_hash AFTER INSERT ON audit_log "
        "FOR EACH ROW WHEN NEW.seq = (SELECT seq FROM audit_head WHERE id = 1) "
        "BEGIN UPDATE audit_head SET hash = NEW.hash WHERE id = 1; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_moves_head_hash")
