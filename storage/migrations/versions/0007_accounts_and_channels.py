"""platform accounts and channels as rows, not one column per platform

``platform_account(platform, external_id, person_id)`` replaces ``person.slack_id`` and
``person.mattermost_id``; ``channel(platform, external_id, startup_id | convention_id)``
replaces ``startup.channel_slack``, ``startup.channel_mattermost`` and
``convention.managers_channel_slack`` / ``_mattermost``. A new platform (Matrix) is then
rows, not columns. Today's values are moved over (empty strings are nobody).

The downgrade puts the Slack and Mattermost values back in their columns. Accounts and
channels of other platforms (Matrix) have no column to go back to and are dropped — they
come back by importing the reference file again after the next upgrade.

On SQLite the ``person``, ``startup`` and ``convention`` tables are copied (a UNIQUE column
cannot be dropped in place); ``storage/migrations/env.py`` turns foreign keys off for the
migration and checks them before it commits, as SQLite's ALTER TABLE procedure asks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:30:00
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column of the old schema, platform)
PERSON_COLUMNS = (('slack_id', 'slack'), ('mattermost_id', 'mattermost'))
STARTUP_COLUMNS = (('channel_slack', 'slack'), ('channel_mattermost', 'mattermost'))
CONVENTION_COLUMNS = (('managers_channel_slack', 'slack'), ('managers_channel_mattermost', 'mattermost'))


def upgrade() -> None:
    op.create_table(
        'platform_account',
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('person_id', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('platform', 'external_id'),
        sa.UniqueConstraint('person_id', 'platform', name='platform_account_one_per_person'),
    )
    op.create_index(op.f('ix_platform_account_person_id'), 'platform_account', ['person_id'], unique=False)
    op.create_table(
        'channel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('startup_id', sa.String(length=100), nullable=True),
        sa.Column('convention_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(startup_id IS NULL) <> (convention_id IS NULL)', name='channel_one_owner'),
        sa.ForeignKeyConstraint(['convention_id'], ['convention.id']),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform', 'convention_id', name='channel_one_per_convention'),
        sa.UniqueConstraint('platform', 'startup_id', name='channel_one_per_startup'),
    )
    for column, platform in PERSON_COLUMNS:
        op.execute(f"INSERT INTO platform_account (platform, external_id, person_id) "
                   f"SELECT '{platform}', {column}, id FROM person WHERE {column} IS NOT NULL AND {column} <> ''")
    for column, platform in STARTUP_COLUMNS:
        op.execute(f"INSERT INTO channel (platform, external_id, startup_id) "
                   f"SELECT '{platform}', {column}, id FROM startup WHERE {column} IS NOT NULL AND {column} <> ''")
    for column, platform in CONVENTION_COLUMNS:
        op.execute(f"INSERT INTO channel (platform, external_id, convention_id) "
                   f"SELECT '{platform}', {column}, id FROM convention WHERE {column} IS NOT NULL AND {column} <> ''")
    for table, columns in (('person', PERSON_COLUMNS), ('startup', STARTUP_COLUMNS),
                           ('convention', CONVENTION_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for column, _platform in columns:
                batch.drop_column(column)


def downgrade() -> None:
    kept = ", ".join(f"'{platform}'" for _column, platform in PERSON_COLUMNS)
    dropped = op.get_bind().execute(sa.text(
        f"SELECT (SELECT COUNT(*) FROM platform_account WHERE platform NOT IN ({kept})) + "
        f"(SELECT COUNT(*) FROM channel WHERE platform NOT IN ({kept}))")).scalar()
    if dropped:
        logging.getLogger("alembic.runtime.migration").warning(
            "%d accounts and channels of platforms without a column before 0007 (Matrix) are dropped; "
            "import the reference file again after upgrading", dropped)
    with op.batch_alter_table('person') as batch:
        for column, _platform in PERSON_COLUMNS:
            batch.add_column(sa.Column(column, sa.String(length=64), nullable=True))
            # PostgreSQL's name for the UNIQUE of 0001, so that 0007 finds the schema it started from.
            batch.create_unique_constraint(f'person_{column}_key', [column])
    for table, columns in (('startup', STARTUP_COLUMNS), ('convention', CONVENTION_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for column, _platform in columns:
                batch.add_column(sa.Column(column, sa.String(length=64), nullable=True))
    for column, platform in PERSON_COLUMNS:
        op.execute(f"UPDATE person SET {column} = (SELECT a.external_id FROM platform_account a "
                   f"WHERE a.person_id = person.id AND a.platform = '{platform}')")
    for column, platform in STARTUP_COLUMNS:
        op.execute(f"UPDATE startup SET {column} = (SELECT c.external_id FROM channel c "
                   f"WHERE c.startup_id = startup.id AND c.platform = '{platform}')")
    for column, platform in CONVENTION_COLUMNS:
        op.execute(f"UPDATE convention SET {column} = (SELECT c.external_id FROM channel c "
                   f"WHERE c.convention_id = convention.id AND c.platform = '{platform}')")
    op.drop_table('channel')
    op.drop_index(op.f('ix_platform_account_person_id'), table_name='platform_account')
    op.drop_table('platform_account')
