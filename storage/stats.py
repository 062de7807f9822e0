"""Figures of the public /stats page (convention, art. 4): aggregates only, no personal data.

No person's name, id or e-mail ever leaves this module: only counts, sums, a
median and the startups' public names and phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    Allocation,
    OutboxMessage,
    OutboxStatus,
    Phase,
    Quote,
    QuoteStatus,
    ServiceDone,
    Startup,
)


@dataclass(frozen=True)
class YearFigures:
    year: int
    ae_cents: int
    ae_committed_cents: int
    cp_cents: int
    cp_consumed_cents: int
    quotes_validated: int  # validated quotes committed on this year


@dataclass(frozen=True)
class PublicStats:
    years: list[YearFigures]
    quotes: dict[str, int]  # status -> count
    service_done: dict[str, int]  # status -> count
    median_quote_decision_seconds: int | None
    median_service_done_decision_seconds: int | None
    startups_by_phase: dict[str, list[str]]  # phase -> startup names, in the order of the phases
    reminders_sent: dict[str, int] = field(default_factory=dict)  # kind -> count

    @property
    def quotes_validated(self) -> int:
        return self.quotes.get(QuoteStatus.VALIDATED.value, 0)

    @property
    def reminders_sent_total(self) -> int:
        return sum(self.reminders_sent.values())


def _median_seconds(pairs: list[tuple[datetime, datetime]]) -> int | None:
    durations = sorted(int((decided - created).total_seconds()) for created, decided in pairs)
    if not durations:
        return None
    mid = len(durations) // 2
    if len(durations) % 2:
        return durations[mid]
    return (durations[mid - 1] + durations[mid]) // 2


def year_figures(*, session: Session) -> list[YearFigures]:
    validated = dict(
        session.exec(
            select(Quote.commitment_year, sa.func.count())
            .where(Quote.status == QuoteStatus.VALIDATED.value)
            .group_by(col(Quote.commitment_year))
        ).all()
    )
    return [
        YearFigures(a.year, a.ae_cents, a.ae_committed_cents, a.cp_cents, a.cp_consumed_cents,
                    int(validated.get(a.year, 0)))
        for a in session.exec(select(Allocation).order_by(col(Allocation.year))).all()
    ]


def startups_by_phase(*, session: Session) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {p.value: [] for p in Phase}
    for startup in session.exec(select(Startup).order_by(col(Startup.name))).all():
        result.setdefault(startup.phase, []).append(startup.name)
    return result


def reminders_sent(*, session: Session, kind_prefix: str = "reminder.") -> dict[str, int]:
    return {
        kind: int(n)
        for kind, n in session.exec(
            select(OutboxMessage.kind, sa.func.count())
            .where(col(OutboxMessage.kind).startswith(kind_prefix), OutboxMessage.status == OutboxStatus.SENT.value)
            .group_by(OutboxMessage.kind)
            .order_by(OutboxMessage.kind)
        ).all()
    }


def public_stats(*, session: Session) -> PublicStats:
    """Everything the public page shows, in one read."""
    quotes = {s: int(n) for s, n in session.exec(select(Quote.status, sa.func.count()).group_by(Quote.status)).all()}
    services = {
        s: int(n) for s, n in session.exec(select(ServiceDone.status, sa.func.count()).group_by(ServiceDone.status))
    }
    quote_pairs = session.exec(
        select(Quote.created_at, Quote.decided_at).where(col(Quote.decided_at).is_not(None))
    ).all()
    service_pairs = session.exec(
        select(ServiceDone.created_at, ServiceDone.decided_at).where(col(ServiceDone.decided_at).is_not(None))
    ).all()
    return PublicStats(
        years=year_figures(session=session),
        quotes=quotes,
        service_done=services,
        median_quote_decision_seconds=_median_seconds([(c, d) for c, d in quote_pairs if d is not None]),
        median_service_done_decision_seconds=_median_seconds([(c, d) for c, d in service_pairs if d is not None]),
        startups_by_phase=startups_by_phase(session=session),
        reminders_sent=reminders_sent(session=session),
    )
