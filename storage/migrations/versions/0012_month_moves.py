"""the monthly report's moves: what each step of the order chain moved, per startup, credit year and month

``startup_month_move`` (startup, credit year, YYYYMM in Europe/Paris time) holds signed sums: AE
réservées / engagées, CP à payer / payés, restes à payer, quotes waiting — written by each step
with ``startup_year_total``'s upsert. A month's report adds up the months up to its own, so it
reads a few rows per startup however many orders there are, as they stood at the month's end.

The upgrade carries today's data: every dated step already recorded (submission, decision,
order, closing, certification, payment) becomes its move in its month, so past months' reports
give the figures they gave. An index on ``quote.decided_at`` lists the quotes waiting at a past
month's end without reading every quote.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:50:00
"""
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ('reserved_cents', 'engaged_cents', 'to_pay_cents', 'paid_cents', 'restes_cents', 'pending_quotes',
            'pending_cents')
PARIS = ZoneInfo('Europe/Paris')
_DT = storage.models.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        'startup_month_move',
        sa.Column('startup_id', sa.String(length=100), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('month', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer() if name == 'pending_quotes' else sa.BigInteger(), nullable=False)
          for name in COUNTERS),
        sa.ForeignKeyConstraint(['startup_id'], ['startup.id']),
        sa.PrimaryKeyConstraint('startup_id', 'year', 'month'),
    )
    op.create_index('ix_quote_decided_at', 'quote', ['decided_at'])
    _carry_data()


def _month(at: datetime) -> int:
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(PARIS)
    return local.year * 100 + local.month


def _carry_data() -> None:
    bind = op.get_bind()
    quote = sa.table('quote', *(sa.column(n) for n in (
        'id', 'startup_id', 'year', 'amount_cents', 'status', 'commitment_year', 'released_cents')),
        *(sa.column(n, _DT) for n in ('created_at', 'decided_at', 'ordered_at', 'closed_at')))
    done = sa.table('service_done', *(sa.column(n) for n in (
        'quote_id', 'amount_cents', 'status', 'consumption_year', 'payment_year')),
        *(sa.column(n, _DT) for n in ('decided_at', 'paid_at')))
    moves: dict[tuple[str, int, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    quotes = {}
    for q in bind.execute(sa.select(quote)).all():
        quotes[q.id] = q
        moves[(q.startup_id, q.year, _month(q.created_at))]['pending_quotes'] += 1
        moves[(q.startup_id, q.year, _month(q.created_at))]['pending_cents'] += q.amount_cents
        if q.status == 'pending' or q.decided_at is None:
            continue
        moves[(q.startup_id, q.year, _month(q.decided_at))]['pending_quotes'] -= 1
        moves[(q.startup_id, q.year, _month(q.decided_at))]['pending_cents'] -= q.amount_cents
        if q.status not in ('validated', 'ordered', 'closed'):
            continue
        reserved_in = q.decided_at.astimezone(PARIS).year if q.ordered_at is not None else q.commitment_year
        moves[(q.startup_id, reserved_in, _month(q.decided_at))]['reserved_cents'] += q.amount_cents
        if q.ordered_at is None:
            continue
        ordered = moves[(q.startup_id, q.commitment_year, _month(q.ordered_at))]
        moves[(q.startup_id, reserved_in, _month(q.ordered_at))]['reserved_cents'] -= q.amount_cents
        ordered['engaged_cents'] += q.amount_cents
        ordered['restes_cents'] += q.amount_cents
        if q.status == 'closed' and q.closed_at is not None and q.released_cents:
            closed = moves[(q.startup_id, q.commitment_year, _month(q.closed_at))]
            if q.closed_at.astimezone(PARIS).year == q.commitment_year:
                closed['engaged_cents'] -= q.released_cents
            closed['restes_cents'] -= q.released_cents
    for s in bind.execute(sa.select(done).where(done.c.status.in_(('certified', 'paid')))).all():
        order = quotes.get(s.quote_id)
        if order is None or s.decided_at is None:
            continue
        moves[(order.startup_id, s.consumption_year, _month(s.decided_at))]['to_pay_cents'] += s.amount_cents
        if s.status == 'paid' and s.paid_at is not None:
            moves[(order.startup_id, s.consumption_year, _month(s.paid_at))]['to_pay_cents'] -= s.amount_cents
            moves[(order.startup_id, s.payment_year, _month(s.paid_at))]['paid_cents'] += s.amount_cents
            moves[(order.startup_id, order.commitment_year, _month(s.paid_at))]['restes_cents'] -= s.amount_cents
    rows = [{'startup_id': sid, 'year': year, 'month': month, **cols}
            for (sid, year, month), cols in moves.items() if year is not None and any(cols.values())]
    if rows:
        op.bulk_insert(sa.table('startup_month_move', *(sa.column(n) for n in (
            'startup_id', 'year', 'month', *COUNTERS))), rows)


def downgrade() -> None:
    op.drop_index('ix_quote_decided_at', 'quote')
    op.drop_table('startup_month_move')
