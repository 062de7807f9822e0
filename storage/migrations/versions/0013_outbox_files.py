"""files sent with outbox messages: their bytes in ``outbox_file``, beside the payload

A message's payload names its files (name, MIME type, key); the bytes live here, keyed by
``sha256:<hex>`` (given when the message was enqueued) or ``outbox:<id>:<n>`` (a document the
courier made when the message first went out). Nothing to carry: no message had files before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox_file',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('outbox_file')
