"""Organisations: the name citizens' messages use, so no unit is named on a lock screen.

Revision ID: 0006
Revises: 0005

"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('public_name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('public_name')
