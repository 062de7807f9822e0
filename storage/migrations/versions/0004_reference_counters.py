"""collision-free reference numbering

``D-YYYY-NNNN`` and ``SF-YYYY-NNNN`` were max(seq) + 1 with a retry on the unique key:
on PostgreSQL simultaneous submissions picked the same number and some gave up after
20 retries. ``reference_counter`` holds the last number per prefix and year; the ledger
moves it with one guarded UPDATE in the transaction that inserts the numbered row, so
submissions queue on that row and never collide. Seeded here from what is already
numbered; a year with no row yet is seeded the same way when it first needs a number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'reference_counter',
        sa.Column('prefix', sa.String(length=8), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.CheckConstraint('last >= 0', name='reference_counter_non_negative'),
        sa.PrimaryKeyConstraint('prefix', 'year'),
    )
    for prefix, table in (("D", "quote"), ("SF", "service_done")):
        op.execute(f"INSERT INTO reference_counter (prefix, year, last) "
                   f"SELECT '{prefix}', year, max(seq) FROM {table} GROUP BY year")


def downgrade() -> None:
    op.drop_table('reference_counter')
