"""outbox delivery per platform

One ``outbox_delivery`` row per (message, platform): each platform's worker fans the due
messages out to its own rows, claims, sends and retries them, so a platform that fails
delays only itself. ``outbox.repeats`` counts the grouped repeats of a message (alerts);
``heartbeat`` is the row ``/healthz`` writes to prove the database takes writes.

Existing rows are carried: a message claimed by the old single courier goes back to
pending (its platforms' workers take it from there; ``sent`` and ``failed`` stay). The
downgrade folds the deliveries back into the message: ``undeliverable`` becomes
``failed``, the most attempts and the last error are kept. A message sent on one platform
and still pending on another is pending again after a downgrade (the old courier sends it
everywhere: one platform gets it twice).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox_delivery',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('due_at', storage.models.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', storage.models.UTCDateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('sent_at', storage.models.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', 'platform'),
    )
    op.create_index('outbox_delivery_due', 'outbox_delivery', ['platform', 'status', 'due_at'], unique=False)
    op.create_table(
        'heartbeat',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('at', storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('repeats', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE outbox SET status = 'pending', claimed_at = NULL, claimed_by = NULL WHERE status = 'claimed'")


def downgrade() -> None:
    op.execute(
        "UPDATE outbox SET "
        "attempts = COALESCE((SELECT MAX(d.attempts) FROM outbox_delivery d WHERE d.outbox_id = outbox.id), attempts), "
        "last_error = COALESCE((SELECT MAX(d.last_error) FROM outbox_delivery d "
        "WHERE d.outbox_id = outbox.id AND d.last_error IS NOT NULL), last_error)"
    )
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'undeliverable'")
    op.drop_table('heartbeat')
    op.drop_index('outbox_delivery_due', table_name='outbox_delivery')
    op.drop_table('outbox_delivery')
    with op.batch_alter_table('outbox') as batch:  # SQLite: the table is copied (PLATFORMS.md)
        batch.drop_column('repeats')
