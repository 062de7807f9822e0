"""What the chain's counters say: a year's balance, per startup, what waits for whom.

Every figure here is read from counters moved in the same transaction as each step
(``allocation``, ``startup_year_total``, ``pending_total``): one row a year or a startup,
however many quotes there are (bench/scaling.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    OPEN_ORDER_STATUSES,
    Allocation,
    PendingTotal,
    Quote,
    QuoteStatus,
    ServiceDone,
    ServiceDoneStatus,
    Startup,
    StartupYearTotal,
)


@dataclass(frozen=True)
class YearBalance:
    """A year's credits. ``ae_committed`` = réservées + engagées (what the ceiling is on);
    ``cp_consumed`` = paid that year; ``restes`` = restes à payer of the orders of that year;
    ``restes_all_years``: of every open order, whatever its year (what ``budget`` shows)."""

    year: int
    exists: bool
    ae_cents: int
    ae_committed_cents: int
    cp_cents: int
    cp_consumed_cents: int
    ae_engaged_cents: int = 0
    cp_to_pay_cents: int = 0
    restes_cents: int = 0
    restes_all_years_cents: int = 0

    @property
    def ae_reserved_cents(self) -> int:
        return self.ae_committed_cents - self.ae_engaged_cents

    @property
    def ae_available_cents(self) -> int:
        return self.ae_cents - self.ae_committed_cents

    @property
    def cp_available_cents(self) -> int:
        return self.cp_cents - self.cp_consumed_cents

    @property
    def cp_free_cents(self) -> int:
        """CP neither paid nor owed for certified service done (negative: the year cannot pay them)."""
        return self.cp_cents - self.cp_consumed_cents - self.cp_to_pay_cents

    @property
    def cp_used_cents(self) -> int:
        """CP consumed (paid) plus CP à payer (certified, owed): what the year's CP must cover."""
        return self.cp_consumed_cents + self.cp_to_pay_cents

    @property
    def cp_short_cents(self) -> int:
        """How much of what is certified and unpaid the year's CP cannot pay (0: they can)."""
        return max(self.cp_to_pay_cents - self.cp_available_cents, 0)


def year_balance(*, session: Session, year: int) -> YearBalance:
    """The year's allocation and counters, and the restes à payer of every year (one small SELECT)."""
    rows = session.exec(select(Allocation)).all()  # one row a year
    restes_all = sum(a.restes_cents for a in rows)
    allocation = next((a for a in rows if a.year == year), None)
    if allocation is None:
        return YearBalance(year, False, 0, 0, 0, 0, restes_all_years_cents=restes_all)
    return YearBalance(
        year,
        True,
        allocation.ae_cents,
        allocation.ae_committed_cents,
        allocation.cp_cents,
        allocation.cp_consumed_cents,
        allocation.ae_engaged_cents,
        allocation.cp_to_pay_cents,
        allocation.restes_cents,
        restes_all,
    )


def allocation_years(*, session: Session) -> list[int]:
    return list(session.exec(select(Allocation.year).order_by(col(Allocation.year))).all())


@dataclass(frozen=True)
class StartupUsage:
    """One startup in ``year``: AE réservées / engagées held in that year, CP à payer (certified
    that year) and consumed (paid that year), restes à payer of all its orders, quotes waiting.
    ``committed`` = réservées + engagées; ``consumed`` = paid."""

    startup_id: str
    name: str
    committed_cents: int
    consumed_cents: int
    pending_count: int
    pending_cents: int
    reserved_cents: int = 0
    engaged_cents: int = 0
    to_pay_cents: int = 0
    restes_cents: int = 0


def startup_usage(*, session: Session, year: int, startup_ids: Iterable[str] | None = None) -> list[StartupUsage]:
    """Per startup, from ``startup_year_total`` (one row per startup and year) and ``pending_total``."""
    totals = session.exec(select(StartupYearTotal).where(StartupYearTotal.year == year)).all()
    of_year = {row.startup_id: row for row in totals}
    restes = dict(session.exec(  # type: ignore[call-overload]
        select(StartupYearTotal.startup_id, sa.func.sum(StartupYearTotal.restes_cents))
        .group_by(StartupYearTotal.startup_id)).all())
    pending = pending_by_startup(session=session)
    query = select(Startup).order_by(col(Startup.name))
    if startup_ids is not None:
        query = query.where(col(Startup.id).in_(list(startup_ids)))
    usages = []
    for s in session.exec(query).all():
        row = of_year.get(s.id) or StartupYearTotal(startup_id=s.id, year=year)
        usages.append(StartupUsage(
            s.id, s.name, row.reserved_cents + row.engaged_cents, row.paid_cents,
            pending.get(s.id, (0, 0))[0], pending.get(s.id, (0, 0))[1],
            row.reserved_cents, row.engaged_cents, row.to_pay_cents, int(restes.get(s.id, 0) or 0),
        ))
    return usages


def pending_by_startup(*, session: Session) -> dict[str, tuple[int, int]]:
    """``{startup_id: (pending quotes, their amount in cents)}``, any year.

    Read from ``pending_total`` (kept by triggers on ``quote``): one row per startup,
    however many quotes wait.
    """
    return {row.startup_id: (row.quotes, row.cents) for row in session.exec(select(PendingTotal)).all()}


def pending_quotes(
    *, session: Session, startup_ids: Iterable[str] | None = None, limit: int | None = None
) -> Sequence[Quote]:
    """Pending quotes, oldest first; ``limit`` keeps a summary cheap (index quote_status_created)."""
    query = select(Quote).where(Quote.status == QuoteStatus.PENDING.value).order_by(col(Quote.created_at))
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()


def orders_to_place(
    *, session: Session, startup_ids: Iterable[str] | None = None, limit: int | None = None
) -> Sequence[Quote]:
    """Validated quotes whose bon de commande is not recorded yet, oldest validation first."""
    query = select(Quote).where(Quote.status == QuoteStatus.VALIDATED.value).order_by(col(Quote.decided_at))
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()


def pending_service_done(
    *, session: Session, startup_ids: Iterable[str] | None = None
) -> Sequence[tuple[ServiceDone, Quote]]:
    return _service_done_in(session, ServiceDoneStatus.PENDING.value, startup_ids, None)


def payments_due(
    *, session: Session, startup_ids: Iterable[str] | None = None, limit: int | None = None
) -> Sequence[tuple[ServiceDone, Quote]]:
    """Service done certified and not paid yet (CP à payer), oldest first."""
    return _service_done_in(session, ServiceDoneStatus.CERTIFIED.value, startup_ids, limit)


def _service_done_in(session: Session, status: str, startup_ids: Iterable[str] | None,
                     limit: int | None) -> Sequence[tuple[ServiceDone, Quote]]:
    query = (
        select(ServiceDone, Quote)
        .join(Quote, Quote.id == ServiceDone.quote_id)  # type: ignore[arg-type]
        .where(ServiceDone.status == status)
        .order_by(col(ServiceDone.created_at))
    )
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    if limit is not None:
        query = query.limit(limit)
    return [(sd, q) for sd, q in session.exec(query).all()]


def open_orders(*, session: Session, startup_ids: Iterable[str] | None = None) -> Sequence[Quote]:
    """Validated or ordered quotes that still have something left to certify."""
    query = (
        select(Quote)
        .where(col(Quote.status).in_(OPEN_ORDER_STATUSES), Quote.certified_cents < Quote.amount_cents)
        .order_by(col(Quote.created_at))
    )
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    return session.exec(query).all()


def all_quotes(*, session: Session) -> Sequence[Quote]:
    return session.exec(select(Quote).order_by(col(Quote.year), col(Quote.seq))).all()
