"""Schedule: when a meeting's personal data was erased, and indexes for loading what falls due.

Revision ID: 0005
Revises: 0004

"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_meetings_unpurged_starts', 'meetings', ['purged_at', 'starts_at'], unique=False)
    op.create_index('ix_meetings_updated', 'meetings', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meetings_updated', table_name='meetings')
    op.drop_index('ix_meetings_unpurged_starts', table_name='meetings')
    with op.batch_alter_table('meetings') as batch:
        batch.drop_column('purged_at')
