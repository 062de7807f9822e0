"""Figures of the final report (*bilan final*): the délégataire reports « au terme de la convention » on the
expenses made (art. 5), so the bilan gives, **as they stood at an instant** (the end of the convention's last
day), per credit year and per startup, what the order chain moved, the orders whose restes à payer are still
owed, and the reservations that never became orders.

The counters come from ``startup_month_move`` (the moves each step wrote in its month, migration 0012): the
months before the instant's own are added up as they are, a few rows per startup whatever the number of orders.
When the instant falls inside a month (a termination on the 15th), the steps of that month made before it
are taken from their dates — a quote's validation, order and closing, a service done's certification and
payment — the way migration 0012 rebuilt the moves: what happens after the end (a payment of the restes à
payer, a closing) never changes the bilan. A convention ending on a month's last day reads no step at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.ledger.writes import MONTH_COUNTERS, REPORT_TZ, month_of
from storage.models import (
    Allocation,
    Quote,
    QuoteStatus,
    ServiceDone,
    ServiceDoneStatus,
    Startup,
    StartupMonthMove,
)

Counters = dict[str, int]
_HELD = (QuoteStatus.VALIDATED.value, QuoteStatus.ORDERED.value, QuoteStatus.CLOSED.value)
_CERTIFIED = (ServiceDoneStatus.CERTIFIED.value, ServiceDoneStatus.PAID.value)


def month_start(at: datetime) -> datetime:
    """The first instant of ``at``'s month in the convention's time (the months ``startup_month_move`` keeps)."""
    month = month_of(at)
    return datetime(month // 100, month % 100, 1, tzinfo=REPORT_TZ)


def _local_year(at: datetime) -> int:
    return at.astimezone(REPORT_TZ).year


def _steps_between(session: Session, since: datetime, until: datetime) -> dict[tuple[str, int], Counters]:
    """The moves of the steps made in ``[since, until)``, per (startup, credit year), from their dates: what
    each step of :mod:`storage.ledger` wrote in ``startup_month_move`` (the same rules as migration 0012)."""
    moves: dict[tuple[str, int], Counters] = defaultdict(lambda: dict.fromkeys(MONTH_COUNTERS, 0))

    def within(at: datetime | None) -> bool:
        return at is not None and since <= at < until

    def span(column: object) -> sa.ColumnElement[bool]:
        return sa.and_(col(column) >= since, col(column) < until)  # type: ignore[arg-type]

    quotes = session.exec(select(Quote).where(sa.or_(
        span(Quote.created_at), span(Quote.decided_at), span(Quote.ordered_at), span(Quote.closed_at)))).all()
    for q in quotes:
        if within(q.created_at):
            moves[(q.startup_id, q.year)]["pending_quotes"] += 1
            moves[(q.startup_id, q.year)]["pending_cents"] += q.amount_cents
        if within(q.decided_at) and q.status != QuoteStatus.PENDING.value:
            moves[(q.startup_id, q.year)]["pending_quotes"] -= 1
            moves[(q.startup_id, q.year)]["pending_cents"] -= q.amount_cents
        if q.status not in _HELD or q.decided_at is None:
            continue
        # Validated in one year and ordered in the next, the reservation was made in the validation's year.
        reserved_in = _local_year(q.decided_at) if q.ordered_at is not None else q.commitment_year
        if within(q.decided_at) and reserved_in is not None:
            moves[(q.startup_id, reserved_in)]["reserved_cents"] += q.amount_cents
        if q.ordered_at is None or q.commitment_year is None:
            continue
        if within(q.ordered_at) and reserved_in is not None:
            moves[(q.startup_id, reserved_in)]["reserved_cents"] -= q.amount_cents
            moves[(q.startup_id, q.commitment_year)]["engaged_cents"] += q.amount_cents
            moves[(q.startup_id, q.commitment_year)]["restes_cents"] += q.amount_cents
        if q.status == QuoteStatus.CLOSED.value and q.closed_at is not None and within(q.closed_at):
            closed = moves[(q.startup_id, q.commitment_year)]
            if _local_year(q.closed_at) == q.commitment_year:  # closed in its year: the AE are free again
                closed["engaged_cents"] -= q.released_cents
            closed["restes_cents"] -= q.released_cents

    done = session.exec(select(ServiceDone, Quote).join(Quote, col(Quote.id) == col(ServiceDone.quote_id)).where(
        col(ServiceDone.status).in_(_CERTIFIED), sa.or_(span(ServiceDone.decided_at), span(ServiceDone.paid_at)))
    ).all()
    for s, order in done:
        if within(s.decided_at) and s.consumption_year is not None:
            moves[(order.startup_id, s.consumption_year)]["to_pay_cents"] += s.amount_cents
        if s.status == ServiceDoneStatus.PAID.value and within(s.paid_at) and s.payment_year is not None:
            if s.consumption_year is not None:
                moves[(order.startup_id, s.consumption_year)]["to_pay_cents"] -= s.amount_cents
            moves[(order.startup_id, s.payment_year)]["paid_cents"] += s.amount_cents
            if order.commitment_year is not None:
                moves[(order.startup_id, order.commitment_year)]["restes_cents"] -= s.amount_cents
    return moves


def counters_at(*, session: Session, at: datetime) -> dict[tuple[str, int], Counters]:
    """Per (startup, credit year): AE réservées / engagées, CP à payer / payés, restes à payer and quotes
    waiting, as they stood at ``at`` — the months before ``at``'s from ``startup_month_move``, ``at``'s own
    month up to ``at`` from the dated steps (none read when ``at`` is a month's first instant)."""
    first = month_start(at)
    totals: dict[tuple[str, int], Counters] = defaultdict(lambda: dict.fromkeys(MONTH_COUNTERS, 0))
    for move in session.exec(select(StartupMonthMove).where(StartupMonthMove.month < month_of(first))).all():
        row = totals[(move.startup_id, move.year)]
        for name in MONTH_COUNTERS:
            row[name] += getattr(move, name)
    if at > first:
        for key, moved in _steps_between(session, first, at).items():
            for name, cents in moved.items():
                totals[key][name] += cents
    return totals


# --------------------------------------------------------------------------- the bilan's figures


@dataclass(frozen=True)
class YearFigures:
    """A credit year at the end: its allocation (as recorded, amendments included) and what the chain did
    with it. Unspent (art. 5): AE not engaged (reservations left without an order included), CP not paid."""

    year: int
    ae_cents: int
    cp_cents: int
    reserved_cents: int  # AE réservées at the end: validated, no order placed
    engaged_cents: int  # AE engagées (orders, less what a closing in the order's year released)
    to_pay_cents: int  # CP à payer: certified that year, unpaid at the end
    paid_cents: int  # CP consommés (payments recorded that year)
    restes_cents: int  # restes à payer at the end of the orders engaged that year

    @property
    def ae_unspent_cents(self) -> int:
        return self.ae_cents - self.engaged_cents

    @property
    def cp_unspent_cents(self) -> int:
        return self.cp_cents - self.paid_cents


@dataclass(frozen=True)
class StartupPeriod:
    """A startup over the whole period: what its orders engaged and its payments consumed, every year."""

    startup_id: str
    name: str
    phase: str
    reserved_cents: int
    engaged_cents: int
    to_pay_cents: int
    paid_cents: int
    restes_cents: int


@dataclass(frozen=True)
class OrderAtEnd:
    """An order whose restes à payer are still owed at the end, or that was not closed (soldée) by then."""

    reference: str
    ej: str | None
    bc: str | None
    startup: str
    supplier: str
    object: str
    year: int  # the year its AE were engaged in
    ordered_on: date
    amount_cents: int
    certified_cents: int  # certified by the end
    paid_cents: int  # paid by the end
    released_cents: int  # released by a closing before the end
    closed_on: date | None  # closed before the end

    @property
    def restes_cents(self) -> int:
        return self.amount_cents - self.paid_cents - self.released_cents


@dataclass(frozen=True)
class ReservationAtEnd:
    """A quote validated before the end whose order was never placed: AE réservées that were never engaged."""

    reference: str
    startup: str
    supplier: str
    object: str
    year: int
    validated_on: date
    amount_cents: int


@dataclass(frozen=True)
class FinalFigures:
    at: datetime
    years: list[YearFigures]
    startups: list[StartupPeriod]
    orders: list[OrderAtEnd]
    reservations: list[ReservationAtEnd]
    pending_quotes: int  # quotes still waiting for their intrapreneur at the end (never decided in time)

    def total(self, name: str) -> int:
        return sum(getattr(y, name) for y in self.years)


def _local_date(at: datetime) -> date:
    return at.astimezone(REPORT_TZ).date()


def orders_at(*, session: Session, at: datetime) -> list[OrderAtEnd]:
    """The orders placed before ``at`` that were still open then, or closed with certified service done
    still unpaid then: what they had certified and paid by ``at``, oldest order first. Orders closed before
    ``at`` with everything paid by then are left out (one indexed read of the service done of the rest)."""
    paid_later = select(ServiceDone.quote_id).where(col(ServiceDone.paid_at) >= at)
    listed = sa.and_(col(Quote.ordered_at) < at, sa.or_(
        col(Quote.closed_at).is_(None), col(Quote.closed_at) >= at, col(Quote.paid_cents) < col(Quote.certified_cents),
        col(Quote.id).in_(paid_later)))
    quotes = session.exec(select(Quote).where(listed).order_by(col(Quote.ordered_at), col(Quote.id))).all()
    if not quotes:
        return []
    certified: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    of_listed = select(Quote.id).where(listed)  # a subquery, not thousands of bound ids
    for s in session.exec(select(ServiceDone).where(col(ServiceDone.quote_id).in_(of_listed),
                                                    col(ServiceDone.status).in_(_CERTIFIED))).all():
        if s.decided_at is not None and s.decided_at < at:
            certified[s.quote_id] += s.amount_cents
        if s.paid_at is not None and s.paid_at < at:
            paid[s.quote_id] += s.amount_cents
    names = {s.id: s.name for s in session.exec(select(Startup)).all()}
    found = []
    for q in quotes:
        closed = q.closed_at is not None and q.closed_at < at
        order = OrderAtEnd(q.reference, q.ej, q.bc, names.get(q.startup_id, q.startup_id), q.supplier, q.object,
                           q.commitment_year or _local_date(q.ordered_at or at).year,
                           _local_date(q.ordered_at or at), q.amount_cents, certified[q.id or 0], paid[q.id or 0],
                           q.released_cents if closed else 0, _local_date(q.closed_at) if closed and q.closed_at
                           else None)
        if order.closed_on is None or order.restes_cents > 0:
            found.append(order)
    return found


def reservations_at(*, session: Session, at: datetime) -> list[ReservationAtEnd]:
    """The quotes validated before ``at`` whose order was not placed by then, oldest validation first."""
    quotes = session.exec(select(Quote).where(
        col(Quote.decided_at) < at, col(Quote.status).in_(_HELD),
        sa.or_(col(Quote.ordered_at).is_(None), col(Quote.ordered_at) >= at))
        .order_by(col(Quote.decided_at), col(Quote.id))).all()
    names = {s.id: s.name for s in session.exec(select(Startup)).all()}
    return [ReservationAtEnd(q.reference, names.get(q.startup_id, q.startup_id), q.supplier, q.object,
                             _local_date(q.decided_at).year if q.decided_at else q.year,
                             _local_date(q.decided_at) if q.decided_at else q.created_at.date(), q.amount_cents)
            for q in quotes]


def final_figures(*, session: Session, at: datetime, years: Iterable[int]) -> FinalFigures:
    """The bilan at ``at``: each of ``years`` (and any other year the chain moved) with its allocation, every
    startup over the period, the orders still owed, the reservations left, the quotes still waiting."""
    counters = counters_at(session=session, at=at)
    allocations = {a.year: a for a in session.exec(select(Allocation)).all()}
    wanted = sorted(set(years) | {year for (_sid, year), row in counters.items() if any(row.values())})
    per_year: dict[int, Counters] = defaultdict(lambda: dict.fromkeys(MONTH_COUNTERS, 0))
    per_startup: dict[str, Counters] = defaultdict(lambda: dict.fromkeys(MONTH_COUNTERS, 0))
    for (startup_id, year), row in counters.items():
        for name, cents in row.items():
            per_year[year][name] += cents
            per_startup[startup_id][name] += cents
    year_rows = []
    for year in wanted:
        allocation, row = allocations.get(year), per_year[year]
        year_rows.append(YearFigures(
            year, allocation.ae_cents if allocation else 0, allocation.cp_cents if allocation else 0,
            row["reserved_cents"], row["engaged_cents"], row["to_pay_cents"], row["paid_cents"], row["restes_cents"]))
    startups = [
        StartupPeriod(s.id, s.name, s.phase, (r := per_startup[s.id])["reserved_cents"], r["engaged_cents"],
                      r["to_pay_cents"], r["paid_cents"], r["restes_cents"])
        for s in session.exec(select(Startup).order_by(col(Startup.name))).all()
    ]
    return FinalFigures(at, year_rows, startups, orders_at(session=session, at=at),
                        reservations_at(session=session, at=at),
                        sum(r["pending_quotes"] for r in per_startup.values()))
