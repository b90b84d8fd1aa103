"""On SQLite, the audit log's newest entry moves the whole head: its sequence number and hash.

Migration 0013 let an INSERT move the head's hash once the appender had moved its sequence
number in a statement of its own. An appender that already read the head under SQLite's write
lock (a host's decision reads it in the statement that locks the meeting, after ``BEGIN
IMMEDIATE``) needs no such statement: the entries it writes carry their sequence numbers, and
this trigger moves the head to each as it is written. An appender that moved the sequence number
first (the head already at the last entry's number) is served as before.

Revision ID: 0014
Revises: 0013

"""

from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_moves_head_hash")
    op.execute(
        "CREATE TRIGGER audit_log_moves_head AFTER INSERT ON audit_log "
        "FOR EACH ROW WHEN NEW.seq >= (SELECT seq FROM audit_head WHERE id = 1) "
        "BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_moves_head")
    op.execute(
        "CREATE TRIGGER audit_log_moves_head_hash AFTER INSERT ON audit_log "
        "FOR EACH ROW WHEN NEW.seq = (SELECT seq FROM audit_head WHERE id = 1) "
        "BEGIN UPDATE audit_head SET hash = NEW.hash WHERE id = 1; END"
    )
