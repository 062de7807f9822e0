"""Figures of the monthly report (convention, art. 5): per startup and in total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    CommitteeDecision,
    Convention,
    Person,
    Quote,
    QuoteStatus,
    ServiceDone,
    ServiceDoneStatus,
    Startup,
)
from storage.reference import current_convention


@dataclass(frozen=True)
class StartupFigures:
    """A startup's money in a month's report, as it stood at the end of the month, step by step of the
    order chain (SPEC "The order chain"): AE réservées then engagées, CP à payer then consommés."""

    startup_id: str
    name: str
    ae_month_cents: int  # AE engagées in the month (orders placed, less what a closing of the year released)
    ae_year_cents: int  # AE engagées of the year at the end of the month
    cp_month_cents: int  # CP consommés in the month (payments)
    cp_year_cents: int  # CP consommés of the year at the end of the month
    pending_count: int
    pending_cents: int
    outstanding_cents: int  # restes à payer at the end of the month: engaged − paid, every year's orders
    phase: str = ""
    ae_reserved_cents: int = 0  # AE réservées of the year at the end of the month: validated, order not placed
    cp_to_pay_cents: int = 0  # CP à payer of the year at the end of the month: certified, not paid


# A quote holds AE from its validation on; pending, refused and withdrawn quotes hold none.
_HOLDS_NO_AE = (QuoteStatus.PENDING.value, QuoteStatus.REFUSED.value, QuoteStatus.WITHDRAWN.value)
# A service done is owed (CP à payer) from its certification on, until its payment.
_CONSUMES_NO_CP = (ServiceDoneStatus.PENDING.value, ServiceDoneStatus.REFUSED.value)


def _sum_by_startup(session: Session, query: sa.Select) -> dict[str, int]:  # type: ignore[type-arg]
    return {sid: int(total or 0) for sid, total in session.exec(query).all()}  # type: ignore[call-overload]


def _validated_before(end: datetime) -> Any:
    return sa.and_(col(Quote.status).not_in(_HOLDS_NO_AE), col(Quote.decided_at).is_not(None),
                   col(Quote.decided_at) < end)


def _ordered_before(end: datetime) -> Any:
    return sa.and_(col(Quote.ordered_at).is_not(None), col(Quote.ordered_at) < end)


def _not_ordered_at(end: datetime) -> Any:
    return sa.or_(col(Quote.ordered_at).is_(None), col(Quote.ordered_at) >= end)


def _closed_between(start: datetime, end: datetime) -> Any:
    return sa.and_(col(Quote.closed_at).is_not(None), col(Quote.closed_at) >= start, col(Quote.closed_at) < end)


def _certified_before(end: datetime) -> Any:
    return sa.and_(col(ServiceDone.status).not_in(_CONSUMES_NO_CP), col(ServiceDone.decided_at).is_not(None),
                   col(ServiceDone.decided_at) < end)


def _paid_before(end: datetime) -> Any:
    """Paid, and recorded before ``end``: a payment recorded later does not change a past month."""
    return sa.and_(col(ServiceDone.paid_at).is_not(None), col(ServiceDone.paid_at) < end)


def _not_paid_at(end: datetime) -> Any:
    return sa.or_(col(ServiceDone.paid_at).is_(None), col(ServiceDone.paid_at) >= end)


def _pending_at(end: datetime) -> Any:
    """Submitted before ``end`` and not decided before it (decided later, or not yet)."""
    return sa.and_(col(Quote.created_at) < end,
                   sa.or_(col(Quote.decided_at).is_(None), col(Quote.decided_at) >= end),
                   col(Quote.status) != QuoteStatus.WITHDRAWN.value)


def _year_bounds(start: datetime, year: int) -> tuple[datetime, datetime]:
    """1 January of ``year`` and of the next one, at midnight in ``start``'s time zone."""
    first = start.replace(year=year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return first, first.replace(year=year + 1)


def month_figures(*, session: Session, year: int, start: datetime, end: datetime) -> list[StartupFigures]:
    """Per startup, **as they stood at** ``end`` (``start``: the month's first instant, in the report's time
    zone): AE engagées and CP consommés in [start, end) and in ``year`` up to ``end``, AE réservées and CP à
    payer at ``end``, quotes pending at ``end``, restes à payer at ``end``. Every figure is read from the dated
    events (validation, order, closing, certification, payment), so the same month gives the same figures
    whatever day it is asked."""
    year_start, year_end = _year_bounds(start, year)
    on_quote = col(Quote.id) == col(ServiceDone.quote_id)
    by_startup = col(Quote.startup_id)

    def quotes_sum(column: Any, *where: Any) -> dict[str, int]:
        return _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(column)).where(*where)
                               .group_by(by_startup))

    def service_done_sum(*where: Any) -> dict[str, int]:
        return _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents))
                               .join(Quote, on_quote).where(*where).group_by(by_startup))

    of_year = Quote.commitment_year == year
    ordered_month = quotes_sum(Quote.amount_cents, _ordered_before(end), col(Quote.ordered_at) >= start, of_year)
    released_month = quotes_sum(Quote.released_cents, _closed_between(start, end), of_year)
    ordered_year = quotes_sum(Quote.amount_cents, _ordered_before(end), of_year)
    # Closed in its order's year, an order's unused AE are free again; closed a later year, they stay engaged.
    released_year = quotes_sum(Quote.released_cents, _closed_between(year_start, min(end, year_end)), of_year)
    reserved = quotes_sum(Quote.amount_cents, _validated_before(end), _not_ordered_at(end),
                          col(Quote.decided_at) >= year_start, col(Quote.decided_at) < year_end)
    paid_month = service_done_sum(_paid_before(end), col(ServiceDone.paid_on) >= start.date(),
                                  col(ServiceDone.paid_on) < end.date())
    paid_year = service_done_sum(_paid_before(end), ServiceDone.payment_year == year)
    to_pay = service_done_sum(_certified_before(end), _not_paid_at(end), ServiceDone.consumption_year == year)
    engaged_all = quotes_sum(Quote.amount_cents, _ordered_before(end))
    released_all = quotes_sum(Quote.released_cents, _ordered_before(end), col(Quote.closed_at).is_not(None),
                              col(Quote.closed_at) < end)
    paid_all = service_done_sum(_paid_before(end))
    pending_n = _sum_by_startup(session, select(Quote.startup_id, sa.func.count()).where(_pending_at(end))
                                .group_by(by_startup))
    pending_cents = quotes_sum(Quote.amount_cents, _pending_at(end))
    return [
        StartupFigures(
            s.id, s.name,
            ae_month_cents=ordered_month.get(s.id, 0) - released_month.get(s.id, 0),
            ae_year_cents=ordered_year.get(s.id, 0) - released_year.get(s.id, 0),
            cp_month_cents=paid_month.get(s.id, 0), cp_year_cents=paid_year.get(s.id, 0),
            pending_count=pending_n.get(s.id, 0), pending_cents=pending_cents.get(s.id, 0),
            outstanding_cents=engaged_all.get(s.id, 0) - released_all.get(s.id, 0) - paid_all.get(s.id, 0),
            phase=s.phase, ae_reserved_cents=reserved.get(s.id, 0), cp_to_pay_cents=to_pay.get(s.id, 0),
        )
        for s in session.exec(select(Startup).order_by(col(Startup.name))).all()
    ]


@dataclass(frozen=True)
class PendingQuote:
    reference: str
    startup: str
    supplier: str
    object: str
    amount_cents: int
    created_at: datetime


def pending_quotes_at(*, session: Session, end: datetime, limit: int = 200) -> list[PendingQuote]:
    """The quotes waiting for their intrapreneur at ``end`` (the forecast of the next orders), oldest first."""
    rows = session.exec(
        select(Quote, Startup.name).join(Startup, col(Startup.id) == col(Quote.startup_id)).where(_pending_at(end))
        .order_by(col(Quote.created_at), col(Quote.id)).limit(limit)
    ).all()
    return [PendingQuote(q.reference, name, q.supplier, q.object, q.amount_cents, q.created_at) for q, name in rows]


def dated_consumption(*, session: Session, year: int, end: datetime) -> tuple[list[tuple[datetime, int]],
                                                                              list[tuple[datetime, int]]]:
    """The year's AE engagées (orders, less what a closing of the year released) and CP consommés
    (payments, on the day paid) up to ``end``, each with its date (for the monthly chart)."""
    ordered = session.exec(select(Quote.ordered_at, Quote.amount_cents).where(
        _ordered_before(end), Quote.commitment_year == year)).all()
    released = session.exec(select(Quote.closed_at, Quote.released_cents).where(
        _ordered_before(end), Quote.commitment_year == year, col(Quote.closed_at).is_not(None),
        col(Quote.closed_at) < end)).all()
    paid = session.exec(select(col(ServiceDone.paid_on), ServiceDone.amount_cents).where(
        _paid_before(end), ServiceDone.payment_year == year)).all()
    ae = [(at, int(cents)) for at, cents in ordered if at is not None]
    ae += [(at, -int(cents)) for at, cents in released if at is not None and at.year == year and cents]
    cp = [(datetime.combine(day, time(12), tzinfo=UTC), int(cents)) for day, cents in paid if day is not None]
    return ae, cp


# --------------------------------------------------------------------------- waiting requests (daily digest)


@dataclass(frozen=True)
class WaitingRequest:
    """A quote or a service done still waiting for its intrapreneur."""

    reference: str
    quote_reference: str | None  # the order, for a service done
    startup_id: str
    amount_cents: int
    created_at: datetime


def waiting_counts(*, session: Session, created_before: datetime) -> dict[str, int]:
    """Per startup: how many quotes and service done submitted before ``created_before`` still wait."""
    counts = _sum_by_startup(session, select(Quote.startup_id, sa.func.count()).where(
        Quote.status == QuoteStatus.PENDING.value, col(Quote.created_at) < created_before).group_by(Quote.startup_id))
    services = _sum_by_startup(session, select(Quote.startup_id, sa.func.count()).select_from(ServiceDone).join(
        Quote, Quote.id == ServiceDone.quote_id).where(  # type: ignore[arg-type]
        ServiceDone.status == ServiceDoneStatus.PENDING.value, col(ServiceDone.created_at) < created_before)
        .group_by(Quote.startup_id))
    for sid, n in services.items():
        counts[sid] = counts.get(sid, 0) + n
    return counts


def waiting_requests(*, session: Session, startup_id: str, created_before: datetime,
                     limit: int = 20) -> list[WaitingRequest]:
    """The oldest requests of ``startup_id`` submitted before ``created_before`` and still waiting."""
    quotes = session.exec(
        select(Quote.reference, Quote.amount_cents, Quote.created_at)
        .where(Quote.startup_id == startup_id, Quote.status == QuoteStatus.PENDING.value,
               col(Quote.created_at) < created_before)
        .order_by(col(Quote.created_at)).limit(limit)
    ).all()
    services = session.exec(
        select(ServiceDone.reference, Quote.reference, ServiceDone.amount_cents, ServiceDone.created_at)
        .select_from(ServiceDone).join(Quote, Quote.id == ServiceDone.quote_id)  # type: ignore[arg-type]
        .where(Quote.startup_id == startup_id, ServiceDone.status == ServiceDoneStatus.PENDING.value,
               col(ServiceDone.created_at) < created_before)
        .order_by(col(ServiceDone.created_at)).limit(limit)
    ).all()
    found = [WaitingRequest(ref, None, startup_id, amount, at) for ref, amount, at in quotes]
    found += [WaitingRequest(ref, quote_ref, startup_id, amount, at) for ref, quote_ref, amount, at in services]
    return sorted(found, key=lambda w: w.created_at)[:limit]


def recent_references(*, session: Session, startup_id: str, limit: int = 5) -> list[str]:
    """The references of a startup's latest quotes and service done, newest first."""
    quotes = (select(Quote.reference, Quote.created_at).where(Quote.startup_id == startup_id)
              .order_by(col(Quote.created_at).desc()).limit(limit))
    services = (select(ServiceDone.reference, ServiceDone.created_at).join(Quote, col(Quote.id) == ServiceDone.quote_id)
                .where(Quote.startup_id == startup_id).order_by(col(ServiceDone.created_at).desc()).limit(limit))
    rows = [*session.exec(quotes).all(), *session.exec(services).all()]
    return [ref for ref, _at in sorted(rows, key=lambda row: row[1], reverse=True)[:limit]]


def similar_quote(*, session: Session, quote: Quote, since: datetime) -> Quote | None:
    """The latest other quote of the same startup, supplier (case aside) and amount submitted since ``since``."""
    return session.exec(
        select(Quote).where(
            Quote.startup_id == quote.startup_id,
            Quote.amount_cents == quote.amount_cents,
            sa.func.lower(Quote.supplier) == quote.supplier.lower(),
            col(Quote.created_at) >= since,
            Quote.id != quote.id,
        ).order_by(col(Quote.created_at).desc()).limit(1)
    ).first()


# --------------------------------------------------------------------------- PV de service fait


@dataclass(frozen=True)
class ServiceDoneRecord:
    """Everything a PV de service fait shows: the service done, its order, the startup, the convention,
    who certified it, and what was certified on the order before it and with it."""

    service_done: ServiceDone
    quote: Quote
    startup: Startup
    convention: Convention | None
    certifier: Person | None
    submitter: Person | None
    certified_before_cents: int  # on the same order, certified before this one
    certified_through_cents: int  # the same, this one included


def service_done_record(*, session: Session, reference: str) -> ServiceDoneRecord | None:
    """The PV's facts for ``SF-…`` (None when no such service done exists)."""
    found = session.exec(
        select(ServiceDone, Quote, Startup).join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
        .join(Startup, col(Startup.id) == col(Quote.startup_id))
        .where(ServiceDone.reference == reference.strip().upper())
    ).first()
    if found is None:
        return None
    row, quote, startup = found
    before = 0
    if row.decided_at is not None:
        earlier = sa.or_(col(ServiceDone.decided_at) < row.decided_at,
                         sa.and_(col(ServiceDone.decided_at) == row.decided_at, col(ServiceDone.id) < row.id))
        before = int(session.exec(
            select(sa.func.coalesce(sa.func.sum(ServiceDone.amount_cents), 0)).where(
                ServiceDone.quote_id == quote.id, col(ServiceDone.status).not_in(_CONSUMES_NO_CP),
                col(ServiceDone.decided_at).is_not(None), earlier)
        ).one())
    people = {p.id: p for p in session.exec(
        select(Person).where(col(Person.id).in_([i for i in (row.decided_by, row.submitted_by) if i]))).all()}
    return ServiceDoneRecord(
        row, quote, startup, current_convention(session=session),
        people.get(row.decided_by) if row.decided_by else None, people.get(row.submitted_by),
        before, before + (row.amount_cents if row.status not in _CONSUMES_NO_CP else 0),
    )


# --------------------------------------------------------------------------- committee decisions, as they stood


@dataclass(frozen=True)
class DecisionAsOf:
    kind: str
    amount_cents: int
    until: date
    decided_at: datetime
    in_month: int  # decisions recorded for the startup in the report's month


def decisions_as_of(*, session: Session, start: datetime, end: datetime) -> dict[str, DecisionAsOf]:
    """Per startup, its last committee decision recorded before ``end``, and how many were recorded in
    [start, end)."""
    rows = session.exec(select(CommitteeDecision).where(col(CommitteeDecision.decided_at) < end)
                        .order_by(col(CommitteeDecision.decided_at), col(CommitteeDecision.id))).all()
    found: dict[str, DecisionAsOf] = {}
    for d in rows:
        earlier = found.get(d.startup_id)
        count = (earlier.in_month if earlier else 0) + (1 if d.decided_at >= start else 0)
        found[d.startup_id] = DecisionAsOf(d.kind, d.amount_cents, d.until, d.decided_at, count)
    return found
