"""Statistics: each organisation's own areas of care, meetings' outcomes, yearly pseudonyms,
admission waits, closed years' counts and the cases reported as the denominator.

Every existing organisation gets the fixed list meetings used until now as its own areas, and
each meeting is pointed at its organisation's area of the same code.

Revision ID: 0011
Revises: 0006

"""

import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SEED = (
    ("barn_och_unga", "Barn och unga", "Children and young people"),
    ("socialpsykiatri", "Socialpsykiatri", "Social psychiatry"),
    ("missbruk_och_beroende", "Missbruk och beroende", "Substance abuse and addiction"),
    ("vald_i_nara_relationer", "Våld i nära relationer", "Domestic violence"),
    ("aldreomsorg", "Äldreomsorg", "Elderly care"),
    ("funktionsnedsattning", "Funktionsnedsättning", "Disability"),
    ("ekonomiskt_bistand", "Ekonomiskt bistånd", "Financial assistance"),
    ("ovrigt", "Övrigt", "Other"),
)

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    care_areas = op.create_table(
        'care_areas',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organisation_id', sa.String(length=36), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name_sv', sa.String(length=100), nullable=False),
        sa.Column('name_en', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('retired_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_care_areas_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_areas')),
        sa.UniqueConstraint('organisation_id', 'code', name='uq_care_areas_organisation_code'),
    )
    connection = op.get_bind()
    now = datetime.now(UTC)
    organisation_ids = [row[0] for row in connection.execute(sa.text("SELECT id FROM organisations"))]
    rows = [
        {"id": str(uuid.uuid4()), "organisation_id": org, "code": code, "name_sv": sv, "name_en": en,
         "active": True, "created_at": now, "retired_at": None}
        for org in organisation_ids for code, sv, en in SEED
    ]
    if rows:
        op.bulk_insert(care_areas, rows)
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('care_area_id', sa.String(length=36), nullable=True))
        batch.create_foreign_key(op.f('fk_meetings_care_area_id_care_areas'), 'care_areas', ['care_area_id'], ['id'])
    connection.execute(sa.text(
        "UPDATE meetings SET care_area_id = (SELECT care_areas.id FROM care_areas"
        " WHERE care_areas.organisation_id = meetings.organisation_id AND care_areas.code = meetings.care_area)"
    ))

    op.create_table(
        'meeting_statistics',
        sa.Column('meeting_id', sa.String(length=36), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('gender', sa.String(length=10), nullable=True),
        sa.Column('age_band', sa.String(length=10), nullable=True),
        sa.Column('pseudonym', sa.String(length=64), nullable=True),
        sa.Column('derived', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.String(length=30), nullable=True),
        sa.Column('individual_took_part', sa.Boolean(), nullable=True),
        sa.Column('child_took_part', sa.Boolean(), nullable=True),
        sa.Column('recorded_at', TS, nullable=True),
        sa.Column('updated_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_statistics_meeting_id_meetings'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_meeting_statistics')),
    )
    op.create_index('ix_meeting_statistics_year_outcome', 'meeting_statistics', ['year', 'outcome'], unique=False)
    op.create_table(
        'admission_waits',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('meeting_id', sa.String(length=36), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('waited_s', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_admission_waits_meeting_id_meetings'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_waits')),
    )
    op.create_index(op.f('ix_admission_waits_meeting_id'), 'admission_waits', ['meeting_id'], unique=False)
    op.create_index('ix_admission_waits_year', 'admission_waits', ['year'], unique=False)
    op.create_table(
        'statistics_years',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('key_enc', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('closed_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_statistics_years')),
    )
    op.create_table(
        'statistics_individuals',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('organisation_id', sa.String(length=36), nullable=False),
        sa.Column('care_area_id', sa.String(length=36), nullable=False),
        sa.Column('gender', sa.String(length=10), nullable=False),
        sa.Column('age_band', sa.String(length=10), nullable=False),
        sa.Column('individuals', sa.Integer(), nullable=False),
        sa.Column('established', sa.Integer(), nullable=False),
        sa.Column('followed_up', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['care_area_id'], ['care_areas.id'], name=op.f('fk_statistics_individuals_care_area_id_care_areas')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_statistics_individuals_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('year', 'organisation_id', 'care_area_id', 'gender', 'age_band', name=op.f('pk_statistics_individuals')),
    )
    op.create_table(
        'case_counts',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('organisation_id', sa.String(length=36), nullable=False),
        sa.Column('care_area_id', sa.String(length=36), nullable=False),
        sa.Column('gender', sa.String(length=10), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['care_area_id'], ['care_areas.id'], name=op.f('fk_case_counts_care_area_id_care_areas')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_case_counts_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('year', 'organisation_id', 'care_area_id', 'gender', name=op.f('pk_case_counts')),
    )


def downgrade() -> None:
    op.drop_table('case_counts')
    op.drop_table('statistics_individuals')
    op.drop_table('statistics_years')
    op.drop_index('ix_admission_waits_year', table_name='admission_waits')
    op.drop_index(op.f('ix_admission_waits_meeting_id'), table_name='admission_waits')
    op.drop_table('admission_waits')
    op.drop_index('ix_meeting_statistics_year_outcome', table_name='meeting_statistics')
    op.drop_table('meeting_statistics')
    with op.batch_alter_table('meetings') as batch:
        batch.drop_constraint(op.f('fk_meetings_care_area_id_care_areas'), type_='foreignkey')
        batch.drop_column('care_area_id')
    op.drop_table('care_areas')
