"""the convention's rules: termination, suspension, fin de gestion, amendments, people's sides

``convention.terminated_on`` / ``termination_reason`` (art. 7, set by ``incubot convention
end``), ``convention.suspended_at`` / ``suspended_by`` / ``suspension_reason`` (art. 5,
``suspendre`` / ``reprendre``); ``allocation.orders_until`` / ``payments_until`` (fin de
gestion, NULL: the year's default) and ``amendment`` / ``amended_on`` (art. 6);
``person.side`` (``delegant`` / ``delegataire``, NULL: not said). Every column is nullable,
so existing rows keep their meaning: no termination, not suspended, default dates.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[tuple[str, sa.Column[object]], ...] = (
    ('convention', sa.Column('terminated_on', sa.Date(), nullable=True)),
    ('convention', sa.Column('termination_reason', sa.String(length=1000), nullable=True)),
    ('convention', sa.Column('suspended_at', storage.models.UTCDateTime(), nullable=True)),
    ('convention', sa.Column('suspended_by', sa.String(length=100), nullable=True)),
    ('convention', sa.Column('suspension_reason', sa.String(length=1000), nullable=True)),
    ('allocation', sa.Column('orders_until', sa.Date(), nullable=True)),
    ('allocation', sa.Column('payments_until', sa.Date(), nullable=True)),
    ('allocation', sa.Column('amendment', sa.String(length=200), nullable=True)),
    ('allocation', sa.Column('amended_on', sa.Date(), nullable=True)),
    ('person', sa.Column('side', sa.String(length=16), nullable=True)),
)


def upgrade() -> None:
    # Nullable ADD COLUMNs: no table is copied on SQLite (the triggers and foreign keys stay as they are).
    for table, column in COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (as in 0006); a batch copy would drop tables others reference.
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column.name)
