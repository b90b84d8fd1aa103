"""Waiting room: meeting lock, admission policy and queue display; participants' place and messages.

Revision ID: 0003
Revises: 0002

"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('admission_policy', sa.String(length=20), server_default='manual', nullable=False))
        batch_op.add_column(sa.Column('show_queue_position', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unverified', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('host_message', sa.String(length=500), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('host_message')
        batch_op.drop_column('unverified')
        batch_op.drop_column('waiting_since')

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('show_queue_position')
        batch_op.drop_column('admission_policy')
        batch_op.drop_column('locked')


