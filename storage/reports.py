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
    join = (Quote, Quote.id == ServiceDone.quote_id)
    cp_month = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents)).join(
        *join).where(certified, col(ServiceDone.decided_at) >= start, col(ServiceDone.decided_at) < end)
        .group_by(Quote.startup_id))
    cp_year = _sum_by_startup(session, select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents)).join(
        *join).where(certified, ServiceDone.consumption_year == year, col(ServiceDone.decided_at) < end)
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
