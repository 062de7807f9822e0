"""Figures of the public /stats page (convention, art. 4): aggregates only, no personal data.

No person's name, id or e-mail ever leaves this module: only counts, sums, a
median and the startups' public names and phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    Allocation,
    CommitteeDecision,
    OutboxMessage,
    OutboxStatus,
    Phase,
    Quote,
    QuoteStatus,
    ServiceDone,
    Startup,
)
from storage.reference import current_convention

# Pending, refused and withdrawn quotes hold no AE; every other state (validated, then ordered, closed) does.
HOLD_NO_AE = (QuoteStatus.PENDING.value, QuoteStatus.REFUSED.value, "withdrawn")


@dataclass(frozen=True)
class YearFigures:
    year: int
    ae_cents: int
    ae_committed_cents: int
    cp_cents: int
    cp_consumed_cents: int
    quotes_validated: int  # validated quotes committed on this year


@dataclass(frozen=True)
class PublicConvention:
    """The convention as the public page names it (its parties and reference: public acts)."""

    reference: str
    title: str
    delegant: str
    delegataire: str


@dataclass(frozen=True)
class PublicStartup:
    """What the public page says of a startup: its public name and phase, nothing about its people."""

    id: str
    name: str
    phase: str
    phase_started: date | None
    committee_decisions: int = 0


@dataclass(frozen=True)
class PublicStats:
    years: list[YearFigures]
    quotes: dict[str, int]  # status -> count
    service_done: dict[str, int]  # status -> count
    median_quote_decision_seconds: int | None
    median_service_done_decision_seconds: int | None
    startups_by_phase: dict[str, list[str]]  # phase -> startup names, in the order of the phases
    reminders_sent: dict[str, int] = field(default_factory=dict)  # kind -> count
    startups: list[PublicStartup] = field(default_factory=list)  # by name
    committee_decisions: int = 0  # decisions recorded after investment committees (art. 2)
    convention: PublicConvention | None = None

    @property
    def is_empty(self) -> bool:
        """Nothing imported yet: no allocation and no startup."""
        return not self.years and not self.startups

    @property
    def quotes_validated(self) -> int:
        """Quotes that hold AE: validated, and whatever the order chain makes of them afterwards."""
        return sum(n for status, n in self.quotes.items() if status not in HOLD_NO_AE)

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
            .where(col(Quote.status).not_in(HOLD_NO_AE))
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


def decisions_by_startup(*, session: Session) -> dict[str, int]:
    return {sid: int(n) for sid, n in session.exec(
        select(CommitteeDecision.startup_id, sa.func.count()).group_by(CommitteeDecision.startup_id)).all()}


def public_startups(*, session: Session) -> list[PublicStartup]:
    decisions = decisions_by_startup(session=session)
    return [PublicStartup(s.id, s.name, s.phase, s.phase_started, decisions.get(s.id, 0))
            for s in session.exec(select(Startup).order_by(col(Startup.name))).all()]


def public_convention(*, session: Session) -> PublicConvention | None:
    c = current_convention(session=session)
    return PublicConvention(c.reference, c.title, c.delegant, c.delegataire) if c is not None else None


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
        startups=(startups := public_startups(session=session)),
        committee_decisions=sum(s.committee_decisions for s in startups),
        convention=public_convention(session=session),
    )


# --------------------------------------------------------------------------- one startup's page


@dataclass(frozen=True)
class StartupYear:
    year: int
    ae_committed_cents: int  # its validated quotes committed on that year's AE
    cp_consumed_cents: int  # its certified service done on that year's CP
    quotes_validated: int


@dataclass(frozen=True)
class LastDecision:
    kind: str
    amount_cents: int
    until: date
    decided_at: datetime


@dataclass(frozen=True)
class StartupStats:
    startup: PublicStartup
    years: list[StartupYear]
    quotes: dict[str, int]  # status -> count
    service_done: dict[str, int]
    median_quote_decision_seconds: int | None
    last_decision: LastDecision | None
    convention: PublicConvention | None = None

    @property
    def quotes_validated(self) -> int:
        return sum(y.quotes_validated for y in self.years)


def startup_stats(*, session: Session, startup_id: str) -> StartupStats | None:
    """One startup's public figures (None when there is no such startup): money per year, decisions."""
    startup = session.get(Startup, startup_id)
    if startup is None:
        return None
    held = col(Quote.status).not_in(HOLD_NO_AE)
    ae: dict[int, tuple[int, int]] = {int(y or 0): (int(c or 0), int(n)) for y, c, n in session.exec(
        select(Quote.commitment_year, sa.func.sum(Quote.amount_cents), sa.func.count())
        .where(Quote.startup_id == startup_id, held, col(Quote.commitment_year).is_not(None))
        .group_by(col(Quote.commitment_year))).all()}
    cp: dict[int, int] = {int(y or 0): int(c or 0) for y, c in session.exec(
        select(ServiceDone.consumption_year, sa.func.sum(ServiceDone.amount_cents))
        .join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
        .where(Quote.startup_id == startup_id, col(ServiceDone.consumption_year).is_not(None),
               col(ServiceDone.status).not_in(("pending", "refused")))
        .group_by(col(ServiceDone.consumption_year))).all()}
    years = [StartupYear(y, ae.get(y, (0, 0))[0], cp.get(y, 0), ae.get(y, (0, 0))[1])
             for y in sorted({*ae, *cp})]
    quotes = {st: int(n) for st, n in session.exec(
        select(Quote.status, sa.func.count()).where(Quote.startup_id == startup_id).group_by(Quote.status)).all()}
    services = {st: int(n) for st, n in session.exec(
        select(ServiceDone.status, sa.func.count()).join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
        .where(Quote.startup_id == startup_id).group_by(ServiceDone.status)).all()}
    pairs = session.exec(select(Quote.created_at, Quote.decided_at).where(
        Quote.startup_id == startup_id, col(Quote.decided_at).is_not(None))).all()
    last = session.exec(select(CommitteeDecision).where(CommitteeDecision.startup_id == startup_id)
                        .order_by(col(CommitteeDecision.decided_at).desc(), col(CommitteeDecision.id).desc())
                        .limit(1)).first()
    decisions = decisions_by_startup(session=session).get(startup_id, 0)
    return StartupStats(
        PublicStartup(startup.id, startup.name, startup.phase, startup.phase_started, decisions), years, quotes,
        services, _median_seconds([(c, d) for c, d in pairs if d is not None]),
        LastDecision(last.kind, last.amount_cents, last.until, last.decided_at) if last is not None else None,
        public_convention(session=session))
