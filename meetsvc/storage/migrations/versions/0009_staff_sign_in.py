"""Staff sign-in through OpenID Connect: staff members' HSA-id, and the sign-ins in flight.

Revision ID: 0009
Revises: 0008

"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_members') as batch:
        batch.add_column(sa.Column('hsa_id', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_staff_members_hsa_id', ['hsa_id'])
    op.create_table(
        'oidc_sign_ins',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('nonce', sa.String(length=100), nullable=False),
        sa.Column('code_verifier', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['session_id'], ['browser_sessions.id'],
            name='fk_oidc_sign_ins_session_id_browser_sessions', ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name='pk_oidc_sign_ins'),
        sa.UniqueConstraint('state_hash', name='uq_oidc_sign_ins_state_hash'),
    )
    op.create_index('ix_oidc_sign_ins_session_id', 'oidc_sign_ins', ['session_id'])


def downgrade() -> None:
    op.drop_index('ix_oidc_sign_ins_session_id', table_name='oidc_sign_ins')
    op.drop_table('oidc_sign_ins')
    with op.batch_alter_table('staff_members') as batch:
        batch.drop_constraint('uq_staff_members_hsa_id', type_='unique')
        batch.drop_column('hsa_id')
