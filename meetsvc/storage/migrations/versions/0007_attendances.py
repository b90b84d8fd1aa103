"""Attendances: admission belongs to one person in one browser session on one invitation.

Revision ID: 0007
Revises: 0006

"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('browser_sessions') as batch:
        batch.add_column(sa.Column('end_reason', sa.String(length=30), nullable=True))
    op.create_table(
        'attendances',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('meeting_id', sa.String(length=36), sa.ForeignKey('meetings.id', ondelete='CASCADE'), nullable=False),
        sa.Column(
            'participant_id', sa.String(length=36), sa.ForeignKey('participants.id', ondelete='CASCADE'), nullable=False
        ),
        sa.Column('session_id', sa.String(length=36), nullable=False, unique=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('unverified', sa.Boolean(), nullable=False, server_default='0'),
        sa.Column('host_message', sa.String(length=500), nullable=True),
        sa.Column('given_name', sa.String(length=200), nullable=True),
        sa.Column('surname', sa.String(length=200), nullable=True),
        sa.Column('personal_number_hash', sa.String(length=64), nullable=True),
        sa.Column('matches_invitation', sa.Boolean(), nullable=True),
        sa.Column('provider', sa.String(length=40), nullable=True),
        sa.Column('level_of_assurance', sa.String(length=20), nullable=True),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('second_person', sa.Boolean(), nullable=False, server_default='0'),
        sa.Column('sent_back', sa.Boolean(), nullable=False, server_default='0'),
        sa.Column('lobby_sockets', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('video_sockets', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('connection_lost_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=30), nullable=True),
    )
    op.create_index('ix_attendances_meeting_id', 'attendances', ['meeting_id'])
    op.create_index('ix_attendances_participant_id', 'attendances', ['participant_id'])


def downgrade() -> None:
    op.drop_index('ix_attendances_participant_id', table_name='attendances')
    op.drop_index('ix_attendances_meeting_id', table_name='attendances')
    op.drop_table('attendances')
    with op.batch_alter_table('browser_sessions') as batch:
        batch.drop_column('end_reason')

