"""Roles inside an organisation, deactivated staff, and the partner organisation's part.

Staff get ``roles`` and ``active``; meetings record who booked them; participants which of the
meeting's organisations invited them. Existing staff who could organise become organisers and
hosts (what ``can_organise`` allowed); who booked an existing meeting is read from its audit
entry; existing participants were invited by the booking organisation (the only one that could).

Revision ID: 0008
Revises: 0006

"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_members') as batch:
        batch.add_column(sa.Column('roles', sa.String(length=200), server_default='', nullable=False))
        batch.add_column(sa.Column('active', sa.Boolean(), server_default='1', nullable=False))
        batch.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('booked_by', sa.String(length=80), nullable=True))
    op.create_index('ix_meetings_partner_starts', 'meetings', ['partner_organisation_id', 'starts_at'], unique=False)
    with op.batch_alter_table('participants') as batch:
        batch.add_column(sa.Column('invited_by_organisation_id', sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            'fk_participants_invited_by_organisation_id_organisations',
            'organisations',
            ['invited_by_organisation_id'],
            ['id'],
        )
    op.execute("UPDATE staff_members SET roles = 'host,organiser' WHERE can_organise")
    op.execute(
        "UPDATE meetings SET booked_by = (SELECT audit_log.actor FROM audit_log"
        " WHERE audit_log.action = 'meeting.created' AND audit_log.subject_id = meetings.id"
        " ORDER BY audit_log.seq LIMIT 1)"
    )
    op.execute(
        "UPDATE participants SET invited_by_organisation_id ="
        " (SELECT meetings.organisation_id FROM meetings WHERE meetings.id = participants.meeting_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('participants') as batch:
        batch.drop_constraint('fk_participants_invited_by_organisation_id_organisations', type_='foreignkey')
        batch.drop_column('invited_by_organisation_id')
    op.drop_index('ix_meetings_partner_starts', table_name='meetings')
    with op.batch_alter_table('meetings') as batch:
        batch.drop_column('booked_by')
    with op.batch_alter_table('staff_members') as batch:
        batch.drop_column('deactivated_at')
        batch.drop_column('active')
        batch.drop_column('roles')
