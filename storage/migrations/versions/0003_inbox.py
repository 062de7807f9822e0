"""durable inbox of acknowledged requests

Every request a platform sees acknowledged before its work is done (a Slack command,
event or click) is written here first, keyed so that a replay is a no-op, then
processed by workers and marked done; unprocessed rows are resumed at start.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('received_at', storage.models.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', storage.models.UTCDateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('done_at', storage.models.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform', 'key', name='inbox_once'),
    )
    op.create_index('inbox_status_received', 'inbox', ['status', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('inbox_status_received', table_name='inbox')
    op.drop_table('inbox')
