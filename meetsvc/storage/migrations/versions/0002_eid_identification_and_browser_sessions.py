"""eID identification: verified identities, browser sessions, identification orders.

Revision ID: 0002
Revises: 0001

"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('browser_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=True),
    sa.Column('staff_id', sa.String(length=36), nullable=True),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_browser_sessions_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_browser_sessions_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_browser_sessions_token_hash'))
    )
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_browser_sessions_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_browser_sessions_staff_id'), ['staff_id'], unique=False)

    op.create_table('participant_identities',
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('surname', sa.String(length=200), nullable=False),
    sa.Column('personal_number_hash', sa.String(length=64), nullable=False),
    sa.Column('matches_invitation', sa.Boolean(), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('level_of_assurance', sa.String(length=20), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_participant_identities_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_participant_identities'))
    )
    op.create_table('identifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=False),
    sa.Column('auto_start_token', sa.String(length=100), nullable=True),
    sa.Column('qr_start_token', sa.String(length=100), nullable=True),
    sa.Column('qr_start_secret_enc', sa.LargeBinary(), nullable=True),
    sa.Column('provider_state', sa.Text(), nullable=False),
    sa.Column('same_device', sa.Boolean(), nullable=False),
    sa.Column('client_address_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('hint_code', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('staff_id', sa.String(length=36), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_identifications_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['browser_sessions.id'], name=op.f('fk_identifications_session_id_browser_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_identifications_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identifications')),
    sa.UniqueConstraint('order_ref', name=op.f('uq_identifications_order_ref'))
    )
    with op.batch_alter_table('identifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identifications_client_address_hash'), ['client_address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_identifications_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identifications_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identifications_started_at'), ['started_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('identifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identifications_started_at'))
        batch_op.drop_index(batch_op.f('ix_identifications_session_id'))
        batch_op.drop_index(batch_op.f('ix_identifications_participant_id'))
        batch_op.drop_index(batch_op.f('ix_identifications_client_address_hash'))

    op.drop_table('identifications')
    op.drop_table('participant_identities')
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_browser_sessions_staff_id'))
        batch_op.drop_index(batch_op.f('ix_browser_sessions_participant_id'))

    op.drop_table('browser_sessions')

