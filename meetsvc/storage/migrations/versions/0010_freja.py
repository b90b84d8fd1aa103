"""Identifications: the level of assurance each completed one was vouched at (BankID, Freja eID+, Freja eID).

Revision ID: 0010
Revises: 0009

"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('identifications') as batch:
        batch.add_column(sa.Column('level_of_assurance', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identifications') as batch:
        batch.drop_column('level_of_assurance')
