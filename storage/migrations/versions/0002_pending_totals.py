"""pending quotes per startup, kept by the database; oldest-pending index

``budget`` and ``rapport`` show, per startup, how many quotes wait and for how
much, and list the oldest ones. Summing every pending quote made both replies grow
with the table (bench/scaling.py: 0.7 s at 10^5 quotes, 153x the time at 10^2; still
2-3x with a covering index, since a sum over N rows is O(N) whatever the index).
``pending_total`` holds one row per startup, moved by triggers on ``quote`` in the
same transaction as the change, whoever writes the quote (ledger, importer, bench
generator). ``quote_status_created`` hands the oldest pending quotes in order.

SQLite: a batch migration that *recreates* ``quote`` drops these triggers; recreate
them after it (tests/test_storage_scale.py checks the totals after ``upgrade``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD = ("INSERT INTO pending_total (startup_id, quotes, cents) SELECT NEW.startup_id, 1, NEW.amount_cents "
        "WHERE NEW.status = 'pending' "
        "ON CONFLICT (startup_id) DO UPDATE SET quotes = pending_total.quotes + 1, "
        "cents = pending_total.cents + excluded.cents")
_SUB = ("UPDATE pending_total SET quotes = quotes - 1, cents = cents - OLD.amount_cents "
        "WHERE startup_id = OLD.startup_id AND OLD.status = 'pending'")


def upgrade() -> None:
    op.create_table(
        'pending_total',
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('quotes', sa.Integer(), nullable=False),
        sa.Column('cents', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('quotes >= 0 AND cents >= 0', name='pending_total_non_negative'),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id'], ),
        sa.PrimaryKeyConstraint('startup_id'),
    )
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.create_index('quote_status_created', ['status', 'created_at'], unique=False)
    op.execute("INSERT INTO pending_total (startup_id, quotes, cents) "
               "SELECT startup_id, count(*), sum(amount_cents) FROM quote WHERE status = 'pending' "
               "GROUP BY startup_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION incubot_pending_total() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_SUB}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_ADD}; END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        op.execute("CREATE TRIGGER quote_pending_total AFTER INSERT OR DELETE OR UPDATE OF status, amount_cents, "
                   "startup_id ON quote FOR EACH ROW EXECUTE FUNCTION incubot_pending_total()")
    else:
        op.execute(f"CREATE TRIGGER quote_pending_insert AFTER INSERT ON quote BEGIN {_ADD}; END")
        op.execute("CREATE TRIGGER quote_pending_update AFTER UPDATE OF status, amount_cents, startup_id ON quote "
                   f"BEGIN {_SUB}; {_ADD}; END")
        op.execute(f"CREATE TRIGGER quote_pending_delete AFTER DELETE ON quote BEGIN {_SUB}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS quote_pending_total ON quote")
        op.execute("DROP FUNCTION IF EXISTS incubot_pending_total()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS quote_pending_{name}")
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.drop_index('quote_status_created')
    op.drop_table('pending_total')
