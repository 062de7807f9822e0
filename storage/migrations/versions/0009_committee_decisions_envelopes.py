"""committee decisions, startup envelopes, the coaches' inputs, a committee's president and startups

``envelope`` is a startup's money for the period a committee's last decision set, with the
counter of what its validated quotes reserved (guarded, with a CHECK, like the year's AE);
``committee_decision`` every decision as recorded; ``envelope_quote`` which envelope each
validated quote was reserved on; ``committee_input`` what a coach gave before a committee.
``committee`` gains ``president_id`` and ``startups`` (from the reference file).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('poursuite', 'relais', 'acceleration', 'arret')"


def upgrade() -> None:
    op.add_column('committee', sa.Column('president_id', sa.String(length=100), nullable=True))
    op.add_column('committee', sa.Column('startups', sa.Text(), nullable=True))
    op.create_table(
        'envelope',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('committee_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('reserved_cents', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('reserved_cents >= 0 AND reserved_cents <= amount_cents', name='envelope_ceiling'),
        sa.CheckConstraint('starts_on < ends_on', name='envelope_period'),
        sa.CheckConstraint(KINDS, name='envelope_kind_known'),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id']),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('startup_id', 'committee_id', name='envelope_one_per_committee'),
    )
    op.create_index('ix_envelope_startup_id', 'envelope', ['startup_id'])
    op.create_table(
        'committee_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('envelope_id', sa.Integer(), nullable=False),
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('committee_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=False),
        sa.Column('decided_at', storage.models.UTCDateTime(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.CheckConstraint('amount_cents >= 0', name='committee_decision_amount_non_negative'),
        sa.CheckConstraint(KINDS, name='committee_decision_kind_known'),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['person.id']),
        sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id']),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_committee_decision_envelope_id', 'committee_decision', ['envelope_id'])
    op.create_index('committee_decision_startup_at', 'committee_decision', ['startup_id', 'decided_at'])
    op.create_table(
        'envelope_quote',
        sa.Column('quote_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('envelope_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('reserved_at', storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id']),
        sa.ForeignKeyConstraint(['quote_id'], ['quote.id']),
        sa.PrimaryKeyConstraint('quote_id'),
    )
    op.create_index('ix_envelope_quote_envelope_id', 'envelope_quote', ['envelope_id'])
    op.create_table(
        'committee_input',
        sa.Column('committee_id', sa.Integer(), nullable=False),
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('usable', sa.String(length=500), nullable=False),
        sa.Column('used', sa.String(length=500), nullable=False),
        sa.Column('useful', sa.String(length=500), nullable=False),
        sa.Column('impactful', sa.String(length=500), nullable=False),
        sa.Column('stats_url', sa.String(length=500), nullable=False),
        sa.Column('objectives', sa.Text(), nullable=False),
        sa.Column('budget_requested_cents', sa.BigInteger(), nullable=False),
        sa.Column('given_by', sa.String(length=100), nullable=False),
        sa.Column('given_at', storage.models.UTCDateTime(), nullable=False),
        sa.CheckConstraint('budget_requested_cents >= 0', name='committee_input_budget_non_negative'),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id']),
        sa.ForeignKeyConstraint(['given_by'], ['person.id']),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('committee_id', 'startup_id'),
    )


def downgrade() -> None:
    op.drop_table('committee_input')
    op.drop_index('ix_envelope_quote_envelope_id', table_name='envelope_quote')
    op.drop_table('envelope_quote')
    op.drop_index('committee_decision_startup_at', table_name='committee_decision')
    op.drop_index('ix_committee_decision_envelope_id', table_name='committee_decision')
    op.drop_table('committee_decision')
    op.drop_index('ix_envelope_startup_id', table_name='envelope')
    op.drop_table('envelope')
    # SQLite >= 3.35 drops a column in place (as 0006 does).
    op.drop_column('committee', 'startups')
    op.drop_column('committee', 'president_id')
