"""a platform's own state, the choices offered on posted messages, forms filled step by step

``platform_state`` keeps what a platform must find again after a restart (the Matrix sync
position, whose direct room is which); ``posted_choice`` what each reaction key on a posted
message does, where a platform has no buttons (Matrix); ``form_dialogue`` a form being
filled question by question, so a restart in the middle of it resumes at the same question.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'platform_state',
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('at', storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'name'),
    )
    op.create_table(
        'posted_choice',
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=255), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=100), nullable=False),
        sa.Column('mark_id', sa.String(length=255), nullable=True),
        sa.Column('at', storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'channel', 'message_id', 'key'),
    )
    op.create_table(
        'form_dialogue',
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('place', sa.String(length=600), nullable=False),
        sa.Column('form', sa.Text(), nullable=False),
        sa.Column('queue', sa.Text(), nullable=False),
        sa.Column('answers', sa.Text(), nullable=False),
        sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'user_id', 'place'),
    )


def downgrade() -> None:
    op.drop_table('form_dialogue')
    op.drop_table('posted_choice')
    op.drop_table('platform_state')
