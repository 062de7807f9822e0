"""Figures of the monthly report (convention, art. 5): per startup and in total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.ledger import pending_by_startup
from storage.models import Quote, QuoteStatus, ServiceDone, ServiceDoneStatus, Startup


@dataclass(frozen=True)
class StartupFigures:
    startup_id: str
    name: str
    ae_month_cents: int
    ae_year_cents: int
    cp_month_cents: int
    cp_year_cents: int
    pending_count: int
    pending_cents: int
    outstanding_cents: int  # restes à payer: validated but not yet certified, all years


def _sum_by_startup(session: Session, query: sa.Select) -> dict[str, int]:  # type: ignore[type-arg]
    return {sid: int(total or 0) for sid, total in session.exec(query).all()}  # type: ignore[call-overload]


def month_figures(*, session: Session, year: int, start: datetime, end: datetime) -> list[StartupFigures]:
    """Per startup: AE committed and CP consumed in [start, end) and in ``year``, pending, outstanding."""
    validated = Quote.status == QuoteStatus.VALIDATED.value
    ae_month = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(Quote.amount_cents)).where(
        validated, col(Quote.decided_at) >= start, col(Quote.decided_at) < end).group_by(Quote.startup_id))
    ae_year = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(Quote.amount_cents)).where(
        validated, Quote.commitment_year == year, col(Quote.decided_at) < end).group_by(Quote.startup_id))
    certified = ServiceDone.status == ServiceDoneStatus.CERTIFIED.value
    onclause = col(Quote.id) == col(ServiceDone.quote_id)
    cp_month = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents)).join(
        Quote, onclause).where(certified, col(ServiceDone.decided_at) >= start, col(ServiceDone.decided_at) < end)
        .group_by(Quote.startup_id))
    cp_year = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents)).join(
        Quote, onclause).where(certified, ServiceDone.consumption_year == year, col(ServiceDone.decided_at) < end)
        .group_by(Quote.startup_id))
    outstanding = _sum_by_startup(session, select(
        Quote.startup_id, sa.func.sum(Quote.amount_cents - Quote.certified_cents)).where(validated)
        .group_by(Quote.startup_id))
    pending = pending_by_startup(session=session)  # one row per startup (pending_total)
    return [
        StartupFigures(
            s.id, s.name, ae_month.get(s.id, 0), ae_year.get(s.id, 0), cp_month.get(s.id, 0),
            cp_year.get(s.id, 0), pending.get(s.id, (0, 0))[0], pending.get(s.id, (0, 0))[1],
            outstanding.get(s.id, 0),
        )
        for s in session.exec(select(Startup).order_by(col(Startup.name))).all()
    ]


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
