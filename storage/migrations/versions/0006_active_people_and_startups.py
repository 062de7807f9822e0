"""people and startups left out of the reference file are deactivated, never deleted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table is recreated (the triggers on quote stay).
    op.add_column('person', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('startup', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; a batch copy would drop `person`, which quotes reference.
    op.drop_column('startup', 'active')
    op.drop_column('person', 'active')
