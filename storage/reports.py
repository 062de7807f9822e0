"""Figures of the monthly report (convention, art. 5): per startup and in total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

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
    StartupMonthMove,
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


# A service done is owed (CP à payer) from its certification on, until its payment.
_CONSUMES_NO_CP = (ServiceDoneStatus.PENDING.value, ServiceDoneStatus.REFUSED.value)


def _sum_by_startup(session: Session, query: sa.Select) -> dict[str, int]:  # type: ignore[type-arg]
    return {sid: int(total or 0) for sid, total in session.exec(query).all()}  # type: ignore[call-overload]


def _moves_until(session: Session, month: int) -> Sequence[StartupMonthMove]:
    """Every month's moves up to ``month`` (YYYYMM) included: a few rows per startup, whatever the orders."""
    return session.exec(select(StartupMonthMove).where(StartupMonthMove.month <= month)).all()


def month_figures(*, session: Session, year: int, month: int) -> list[StartupFigures]:
    """Per startup, **as they stood at the end of** ``month`` (1…12) of ``year``: AE engagées and CP
    consommés in the month and in ``year`` up to its end, AE réservées and CP à payer at its end, quotes
    pending at its end, restes à payer at its end.

    Added up from ``startup_month_move`` (the moves each step made, in the month it made them, migration
    0012): the same month gives the same figures whatever day it is asked, in a time that does not grow
    with the number of orders."""
    month = year * 100 + month  # as startup_month_move keeps it
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for move in _moves_until(session, month):
        f = figures[move.startup_id]
        f["outstanding"] += move.restes_cents
        f["pending_count"] += move.pending_quotes
        f["pending_cents"] += move.pending_cents
        if move.year != year:
            continue
        f["reserved"] += move.reserved_cents
        f["engaged"] += move.engaged_cents
        f["to_pay"] += move.to_pay_cents
        f["paid"] += move.paid_cents
        if move.month == month:
            f["engaged_month"] += move.engaged_cents
            f["paid_month"] += move.paid_cents
    return [
        StartupFigures(
            s.id, s.name, ae_month_cents=(f := figures[s.id])["engaged_month"], ae_year_cents=f["engaged"],
            cp_month_cents=f["paid_month"], cp_year_cents=f["paid"], pending_count=f["pending_count"],
            pending_cents=f["pending_cents"], outstanding_cents=f["outstanding"], phase=s.phase,
            ae_reserved_cents=f["reserved"], cp_to_pay_cents=f["to_pay"],
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
    """The quotes waiting for their intrapreneur at ``end`` (the forecast of the next orders), oldest first:
    those still pending, and those decided after ``end`` — two indexed reads, not a pass over every quote."""
    still = select(Quote).where(Quote.status == QuoteStatus.PENDING.value, col(Quote.created_at) < end) \
        .order_by(col(Quote.created_at), col(Quote.id)).limit(limit)
    # Decided — or withdrawn — after ``end``: still waiting at ``end``, as the month's pending count says.
    later = select(Quote).where(col(Quote.decided_at) >= end, col(Quote.created_at) < end) \
        .order_by(col(Quote.created_at), col(Quote.id)).limit(limit)
    # Disjoint: a quote still pending has no decision date.
    waiting = sorted([*session.exec(still).all(), *session.exec(later).all()],
                     key=lambda q: (q.created_at, q.id or 0))[:limit]
    names = {s.id: s.name for s in session.exec(select(Startup)).all()}
    return [PendingQuote(q.reference, names.get(q.startup_id, q.startup_id), q.supplier, q.object, q.amount_cents,
                         q.created_at) for q in waiting]


def monthly_consumption(*, session: Session, year: int, until_month: int) -> tuple[dict[int, int], dict[int, int]]:
    """The year's AE engagées and CP consommés moved in each month (1…12) up to ``until_month`` of ``year``,
    from ``startup_month_move`` (for the monthly chart)."""
    ae: dict[int, int] = defaultdict(int)
    cp: dict[int, int] = defaultdict(int)
    for move in _moves_until(session, year * 100 + until_month):
        if move.year == year:
            # A step of the year's credits made before the year began (a December reservation) counts in January.
            at = move.month % 100 if move.month // 100 == year else (1 if move.month // 100 < year else 12)
            ae[at] += move.engaged_cents
            cp[at] += move.paid_cents
    return dict(ae), dict(cp)


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
