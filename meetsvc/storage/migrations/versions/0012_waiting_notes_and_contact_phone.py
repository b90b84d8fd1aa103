"""Notes from the waiting room to the hosts; an organisation's contact number for citizens.

Revision ID: 0012
Revises: 0006

"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'waiting_notes',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('meeting_id', sa.String(length=36), nullable=False),
        sa.Column('participant_id', sa.String(length=36), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_waiting_notes_meeting_id_meetings'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_waiting_notes_participant_id_participants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_notes')),
    )
    op.create_index(op.f('ix_waiting_notes_participant_id'), 'waiting_notes', ['participant_id'], unique=False)
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('contact_phone', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('contact_phone')
    op.drop_index(op.f('ix_waiting_notes_participant_id'), table_name='waiting_notes')
    op.drop_table('waiting_notes')
