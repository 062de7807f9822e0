"""the order chain: AE réservées / engagées, CP à payer / consommés, restes à payer, EJ and BC

Today's data is carried into the new states (SPEC, "The order chain"):

* a **validated** quote stays ``validated``: its AE become *réservées* (``ae_committed`` keeps
  them, ``ae_engaged`` starts at 0) — unless the operator says it was already ordered:
  ``alembic -x engaged=all upgrade head`` (every validated quote) or
  ``-x engaged=D-2022-0001:2100123456,D-2022-0004`` (these, with their EJ when known), or the
  same value in ``INCUBOT_MIGRATE_ENGAGED`` for ``incubot db upgrade``. Those become ``ordered``
  in their validation year (ordered by whoever validated them, when they did), their AE
  *engagées*, their amount in the restes à payer; an EJ left out is completed later with
  ``commande REF; EJ …`` (README, "Upgrading to the order chain").
* a **certified** service done stays ``certified``: what the year counted as CP consumed
  becomes CP *à payer* (nothing is paid until a payment is recorded: ``paiement`` or
  ``incubot import-payments``).
* ``startup_year_total`` is filled from the quotes and service done, so ``budget STARTUP``
  and the breakdown read one row per startup from then on.

Downgrade: ordered and closed quotes become validated again, paid service done certified,
withdrawn quotes refused (motif « retiré »); CP consumed are what was certified again (capped
at the year's CP); the new columns and table go.

SQLite: the batch migration recreates ``quote``, which drops the ``pending_total`` triggers of
0002: they are created again after it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:40:00
"""
import os
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import storage.models

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_QUOTE = "status IN ('pending', 'validated', 'ordered', 'closed', 'refused', 'withdrawn')"
_OLD_QUOTE = "status IN ('pending', 'validated', 'refused')"
_NEW_SD = "status IN ('pending', 'certified', 'paid', 'refused')"
_OLD_SD = "status IN ('pending', 'certified', 'refused')"

# The triggers of 0002, recreated after SQLite's batch copy of ``quote``.
_ADD = ("INSERT INTO pending_total (startup_id, quotes, cents) SELECT NEW.startup_id, 1, NEW.amount_cents "
        "WHERE NEW.status = 'pending' "
        "ON CONFLICT (startup_id) DO UPDATE SET quotes = pending_total.quotes + 1, "
        "cents = pending_total.cents + excluded.cents")
_SUB = ("UPDATE pending_total SET quotes = quotes - 1, cents = cents - OLD.amount_cents "
        "WHERE startup_id = OLD.startup_id AND OLD.status = 'pending'")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _recreate_sqlite_triggers() -> None:
    if not _sqlite():
        return
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS quote_pending_{name}")
    op.execute(f"CREATE TRIGGER quote_pending_insert AFTER INSERT ON quote BEGIN {_ADD}; END")
    op.execute("CREATE TRIGGER quote_pending_update AFTER UPDATE OF status, amount_cents, startup_id ON quote "
               f"BEGIN {_SUB}; {_ADD}; END")
    op.execute(f"CREATE TRIGGER quote_pending_delete AFTER DELETE ON quote BEGIN {_SUB}; END")


def engaged_option() -> str:
    """What the operator said was already ordered: ``-x engaged=…`` or ``INCUBOT_MIGRATE_ENGAGED``."""
    given = context.get_x_argument(as_dictionary=True).get("engaged")
    return (given if given is not None else os.environ.get("INCUBOT_MIGRATE_ENGAGED", "")).strip()


def parse_engaged(text: str) -> tuple[bool, dict[str, str | None]]:
    """``all`` → (True, {}); ``D-2022-0001:2100123456,D-2022-0004`` → (False, {ref: ej or None})."""
    if text.lower() == "all":
        return True, {}
    chosen: dict[str, str | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        ref, _, ej = item.partition(":")
        ej = re.sub(r"\s", "", ej)
        if ej and not re.fullmatch(r"\d{10}", ej):
            raise ValueError(f"engaged: the EJ of {ref} must be ten digits, not {ej!r}")
        chosen[ref.strip().upper()] = ej or None
    return False, chosen


def upgrade() -> None:
    with op.batch_alter_table('allocation') as batch:
        for name in ('ae_engaged_cents', 'cp_to_pay_cents', 'restes_cents'):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default='0'))
        batch.create_check_constraint('allocation_ae_engaged',
                                      'ae_engaged_cents >= 0 AND ae_engaged_cents <= ae_committed_cents')
        batch.create_check_constraint('allocation_chain_non_negative', 'cp_to_pay_cents >= 0 AND restes_cents >= 0')
    with op.batch_alter_table('quote') as batch:
        batch.add_column(sa.Column('paid_cents', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('ej', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('bc', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('ordered_at', storage.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('ordered_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('closed_at', storage.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('closed_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('close_reason', sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column('released_cents', sa.BigInteger(), nullable=False, server_default='0'))
        batch.create_foreign_key('quote_ordered_by_fkey', 'person', ['ordered_by'], ['id'])
        batch.create_foreign_key('quote_closed_by_fkey', 'person', ['closed_by'], ['id'])
        batch.create_index('ix_quote_ej', ['ej'], unique=True)
        batch.drop_constraint('quote_status_known', type_='check')
        batch.create_check_constraint('quote_status_known', _NEW_QUOTE)
        batch.create_check_constraint('quote_paid_ceiling', 'paid_cents >= 0 AND paid_cents <= certified_cents')
        batch.create_check_constraint('quote_released_ceiling',
                                      'released_cents >= 0 AND released_cents + certified_cents <= amount_cents')
    _recreate_sqlite_triggers()
    with op.batch_alter_table('service_done') as batch:
        batch.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('payment_year', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('paid_at', storage.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('paid_by', sa.String(length=100), nullable=True))
        batch.create_foreign_key('service_done_paid_by_fkey', 'person', ['paid_by'], ['id'])
        batch.drop_constraint('service_done_status_known', type_='check')
        batch.create_check_constraint('service_done_status_known', _NEW_SD)
    op.create_table(
        'startup_year_total',
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('reserved_cents', sa.BigInteger(), nullable=False),
        sa.Column('engaged_cents', sa.BigInteger(), nullable=False),
        sa.Column('to_pay_cents', sa.BigInteger(), nullable=False),
        sa.Column('paid_cents', sa.BigInteger(), nullable=False),
        sa.Column('restes_cents', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('reserved_cents >= 0 AND engaged_cents >= 0 AND to_pay_cents >= 0 '
                           'AND paid_cents >= 0 AND restes_cents >= 0', name='startup_year_total_non_negative'),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('startup_id', 'year'),
    )
    _carry_data()


def _carry_data() -> None:
    every, chosen = parse_engaged(engaged_option())
    bind = op.get_bind()
    if every:
        bind.execute(sa.text("UPDATE quote SET status = 'ordered', ordered_at = decided_at, ordered_by = decided_by "
                             "WHERE status = 'validated'"))
    for ref, ej in chosen.items():
        done = bind.execute(sa.text("UPDATE quote SET status = 'ordered', ordered_at = decided_at, "
                                    "ordered_by = decided_by, ej = :ej WHERE reference = :ref "
                                    "AND status = 'validated'"), {"ref": ref, "ej": ej})
        if done.rowcount != 1:
            raise ValueError(f"engaged: {ref} is not a validated quote")
    # Certified service done: what was counted as consumed is now to pay, in the same year.
    bind.execute(sa.text("UPDATE allocation SET cp_to_pay_cents = cp_consumed_cents, cp_consumed_cents = 0"))
    bind.execute(sa.text(
        "UPDATE allocation SET ae_engaged_cents = (SELECT coalesce(sum(q.amount_cents), 0) FROM quote q "
        "WHERE q.status = 'ordered' AND q.commitment_year = allocation.year)"))
    bind.execute(sa.text("UPDATE allocation SET restes_cents = ae_engaged_cents"))
    bind.execute(sa.text(
        "INSERT INTO startup_year_total (startup_id, year, reserved_cents, engaged_cents, to_pay_cents, paid_cents, "
        "restes_cents) "
        "SELECT startup_id, year, sum(reserved), sum(engaged), sum(to_pay), 0, sum(engaged) FROM ("
        "  SELECT startup_id, commitment_year AS year, "
        "         CASE WHEN status = 'validated' THEN amount_cents ELSE 0 END AS reserved, "
        "         CASE WHEN status = 'ordered' THEN amount_cents ELSE 0 END AS engaged, 0 AS to_pay "
        "  FROM quote WHERE status IN ('validated', 'ordered') AND commitment_year IS NOT NULL "
        "  UNION ALL "
        "  SELECT q.startup_id, s.consumption_year, 0, 0, s.amount_cents "
        "  FROM service_done s JOIN quote q ON q.id = s.quote_id "
        "  WHERE s.status = 'certified' AND s.consumption_year IS NOT NULL"
        ") moves GROUP BY startup_id, year"))


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE quote SET status = 'validated' WHERE status IN ('ordered', 'closed')"))
    bind.execute(sa.text("UPDATE quote SET status = 'refused', refusal_reason = coalesce(refusal_reason, 'retiré') "
                         "WHERE status = 'withdrawn'"))
    bind.execute(sa.text("UPDATE service_done SET status = 'certified' WHERE status = 'paid'"))
    bind.execute(sa.text(
        "UPDATE allocation SET cp_consumed_cents = (SELECT CASE WHEN coalesce(sum(s.amount_cents), 0) > "
        "allocation.cp_cents THEN allocation.cp_cents ELSE coalesce(sum(s.amount_cents), 0) END "
        "FROM service_done s WHERE s.status = 'certified' AND s.consumption_year = allocation.year)"))
    op.drop_table('startup_year_total')
    with op.batch_alter_table('service_done') as batch:
        batch.drop_constraint('service_done_status_known', type_='check')
        batch.create_check_constraint('service_done_status_known', _OLD_SD)
        batch.drop_constraint('service_done_paid_by_fkey', type_='foreignkey')
        for name in ('paid_on', 'payment_year', 'paid_at', 'paid_by'):
            batch.drop_column(name)
    with op.batch_alter_table('quote') as batch:
        batch.drop_constraint('quote_released_ceiling', type_='check')
        batch.drop_constraint('quote_paid_ceiling', type_='check')
        batch.drop_constraint('quote_status_known', type_='check')
        batch.create_check_constraint('quote_status_known', _OLD_QUOTE)
        batch.drop_index('ix_quote_ej')
        batch.drop_constraint('quote_closed_by_fkey', type_='foreignkey')
        batch.drop_constraint('quote_ordered_by_fkey', type_='foreignkey')
        for name in ('paid_cents', 'ej', 'bc', 'ordered_at', 'ordered_by', 'closed_at', 'closed_by', 'close_reason',
                     'released_cents'):
            batch.drop_column(name)
    _recreate_sqlite_triggers()
    with op.batch_alter_table('allocation') as batch:
        batch.drop_constraint('allocation_chain_non_negative', type_='check')
        batch.drop_constraint('allocation_ae_engaged', type_='check')
        for name in ('ae_engaged_cents', 'cp_to_pay_cents', 'restes_cents'):
            batch.drop_column(name)
