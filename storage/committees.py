"""Committee decisions, startup envelopes and the coaches' inputs (SPEC, "Committees and startup envelopes").

A decision recorded after a committee sets the startup's **envelope** for its period (from the
committee to the decision's « jusqu'au »). Validating one of the startup's quotes reserves its
amount on the envelope in force that day with one guarded statement,
``UPDATE envelope SET reserved = reserved + :a WHERE id = :e AND reserved + :a <= amount``,
in the validation's transaction (:func:`reserve`, called by the ledger): two simultaneous
validations queue on the envelope's row and never pass its amount together; the CHECK
``envelope_ceiling`` is the backstop. A startup without a decision has no envelope, and
nothing is refused for it.

A second decision after the same committee corrects the envelope (guarded too: never below what
it already reserved); a decision after a later committee opens a new envelope.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.errors import LedgerRefusal
from storage.models import (
    AuditEvent,
    Committee,
    CommitteeDecision,
    CommitteeInput,
    DecisionKind,
    Envelope,
    EnvelopeQuote,
    Person,
    Quote,
    Startup,
)

DECISION_RECORDED = "committee.decision"
INPUTS_GIVEN = "committee.inputs"


# --------------------------------------------------------------------------- refusals


@dataclass
class EnvelopeExceeded(LedgerRefusal):
    """The quote does not fit in what the startup's envelope has left."""

    startup_id: str
    startup_name: str
    held_on: date  # the committee that set the envelope
    ends_on: date
    amount_cents: int
    reserved_cents: int
    requested_cents: int

    @property
    def left_cents(self) -> int:
        return self.amount_cents - self.reserved_cents


@dataclass
class EnvelopeEnded(LedgerRefusal):
    """The startup's last envelope ran until a day now past: a committee must decide again."""

    startup_id: str
    startup_name: str
    held_on: date
    ends_on: date


@dataclass
class EnvelopeBelowReserved(LedgerRefusal):
    """A corrected decision would set the envelope below what it has already reserved."""

    startup_id: str
    amount_cents: int
    reserved_cents: int


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DecisionView:
    """A recorded decision with the names a reader needs (``comite``, ``startups``, the exports)."""

    id: int
    startup_id: str
    startup_name: str
    committee_held_on: date
    kind: str
    amount_cents: int
    until: date
    note: str | None
    decided_by: str
    decided_by_name: str
    decided_at: datetime


def _table(model: type[Any]) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


def _decision_query() -> Any:
    d = _table(CommitteeDecision)
    return (sa.select(d, _table(Startup).c.name.label("startup_name"), _table(Committee).c.held_on,
                      _table(Person).c.name.label("person_name"))
            .join(_table(Startup), _table(Startup).c.id == d.c.startup_id)
            .join(_table(Committee), _table(Committee).c.id == d.c.committee_id)
            .join(_table(Person), _table(Person).c.id == d.c.decided_by))


def _view(row: Any) -> DecisionView:
    return DecisionView(id=row.id, startup_id=row.startup_id, startup_name=row.startup_name,
                        committee_held_on=row.held_on, kind=row.kind, amount_cents=int(row.amount_cents),
                        until=row.until, note=row.note, decided_by=row.decided_by,
                        decided_by_name=row.person_name, decided_at=_aware(row.decided_at))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def decisions(*, session: Session, startup_ids: Iterable[str] | None = None, since: datetime | None = None,
              before: datetime | None = None, limit: int | None = None) -> list[DecisionView]:
    """Recorded decisions, newest first (``since`` / ``before``: recorded in that span) — for
    ``comite``, ``startups``, the reports and the exports."""
    d = _table(CommitteeDecision)
    query = _decision_query().order_by(d.c.decided_at.desc(), d.c.id.desc())
    if startup_ids is not None:
        query = query.where(d.c.startup_id.in_(list(startup_ids)))
    if since is not None:
        query = query.where(d.c.decided_at >= since)
    if before is not None:
        query = query.where(d.c.decided_at < before)
    if limit is not None:
        query = query.limit(limit)
    return [_view(row) for row in session.execute(query).all()]


def latest_decisions(*, session: Session) -> dict[str, DecisionView]:
    """Each startup's last recorded decision (startups without one are absent)."""
    return latest_of(decisions(session=session))


def latest_of(newest_first: Iterable[DecisionView]) -> dict[str, DecisionView]:
    """Each startup's first decision in ``newest_first`` (as :func:`decisions` gives them): its last."""
    latest: dict[str, DecisionView] = {}
    for view in newest_first:
        latest.setdefault(view.startup_id, view)
    return latest


def current_envelope(*, session: Session, startup_id: str, on: date) -> Envelope | None:
    """The envelope in force for ``startup_id`` on ``on``: the one of its latest committee held by
    then (perhaps ended: see ``ends_on``); None when no decision was ever recorded for it."""
    return session.exec(
        select(Envelope).where(Envelope.startup_id == startup_id, Envelope.starts_on <= on)
        .order_by(col(Envelope.starts_on).desc(), col(Envelope.id).desc())
    ).first()


def envelopes_in_force(*, session: Session, on: date) -> list[Envelope]:
    """Every startup's envelope running on ``on`` (not ended), by startup."""
    latest: dict[str, Envelope] = {}
    for env in session.exec(select(Envelope).where(Envelope.starts_on <= on)
                            .order_by(col(Envelope.starts_on).desc(), col(Envelope.id).desc())).all():
        latest.setdefault(env.startup_id, env)
    return [env for _sid, env in sorted(latest.items()) if env.ends_on >= on]


def is_stopped(*, session: Session, startup_id: str, on: date) -> DecisionView | None:
    """The ``arret`` decision that ended the startup's new quotes, if its last decision is one."""
    last = decisions(session=session, startup_ids=[startup_id], limit=1)
    if last and last[0].kind == DecisionKind.ARRET and last[0].committee_held_on <= on:
        return last[0]
    return None


@dataclass(frozen=True)
class EnvelopeUse:
    """An envelope and what its quotes became: reserved (validated), engaged (ordered), paid."""

    envelope: Envelope
    held_on: date
    reserved_cents: int
    engaged_cents: int
    paid_cents: int

    @property
    def left_cents(self) -> int:
        return self.envelope.amount_cents - self.reserved_cents


def envelope_use(*, session: Session, envelope: Envelope) -> EnvelopeUse:
    """What the envelope's validated quotes reserved, engaged and paid.

    Engaged and paid come from the quotes' own figures: a validated quote's AE are engaged, its
    certified service done is paid."""
    committee = session.get(Committee, envelope.committee_id)
    assert committee is not None
    quotes = session.exec(
        select(Quote).join(EnvelopeQuote, EnvelopeQuote.quote_id == Quote.id)  # type: ignore[arg-type]
        .where(EnvelopeQuote.envelope_id == envelope.id)
    ).all()
    engaged = sum(q.amount_cents for q in quotes if q.status == "validated")
    paid = sum(q.certified_cents for q in quotes)
    return EnvelopeUse(envelope, committee.held_on, int(envelope.reserved_cents), engaged, paid)


def reserved_since(*, session: Session, startup_id: str, since: datetime) -> int:
    """The amounts of the startup's quotes validated since ``since`` (its burn over that span)."""
    q = _table(Quote)
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(q.c.amount_cents), 0))
        .where(q.c.startup_id == startup_id, q.c.decided_at >= since, q.c.commitment_year.is_not(None))
    ).scalar_one()
    return int(total)


# --------------------------------------------------------------------------- recording a decision


@functools.cache
def _correct_envelope() -> sa.Update:
    e = _table(Envelope)
    return (sa.update(e)
            .where(e.c.id == sa.bindparam("p_id"), e.c.reserved_cents <= sa.bindparam("p_amount"))
            .values(kind=sa.bindparam("p_kind"), ends_on=sa.bindparam("p_until"),
                    amount_cents=sa.bindparam("p_amount")))


def record_decision(*, session: Session, startup_id: str, committee: Committee, kind: str, amount_cents: int,
                    until: date, note: str | None, actor_id: str, platform: str, now: datetime) -> CommitteeDecision:
    """Record a decision after ``committee`` and set the startup's envelope for its period, with its
    audit row. A second decision after the same committee corrects the envelope (refused, with
    :class:`EnvelopeBelowReserved`, below what it has already reserved)."""
    assert committee.id is not None
    envelope = session.exec(select(Envelope).where(Envelope.startup_id == startup_id,
                                                   Envelope.committee_id == committee.id)).first()
    before = None
    if envelope is None:
        envelope = Envelope(startup_id=startup_id, committee_id=committee.id, kind=kind, starts_on=committee.held_on,
                            ends_on=until, amount_cents=amount_cents, reserved_cents=0)
        session.add(envelope)
        session.flush()
    else:
        before = _envelope_state(envelope)
        done = session.execute(_correct_envelope(), {"p_id": envelope.id, "p_kind": kind, "p_until": until,
                                                     "p_amount": amount_cents})
        if done.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(envelope)
            raise EnvelopeBelowReserved(startup_id, amount_cents, int(envelope.reserved_cents))
        session.refresh(envelope)
    assert envelope.id is not None
    decision = CommitteeDecision(envelope_id=envelope.id, startup_id=startup_id, committee_id=committee.id, kind=kind,
                                 amount_cents=amount_cents, until=until, note=note, decided_by=actor_id,
                                 decided_at=now, platform=platform)
    session.add(decision)
    session.add(AuditEvent(at=now, actor_id=actor_id, platform=platform, action=DECISION_RECORDED,
                           subject=startup_id, before=json.dumps(before, sort_keys=True) if before else None,
                           after=json.dumps({**_envelope_state(envelope), "committee": committee.held_on.isoformat(),
                                             "note": note}, ensure_ascii=False, sort_keys=True)))
    session.flush()
    return decision


def _envelope_state(envelope: Envelope) -> dict[str, Any]:
    return {"kind": envelope.kind, "amount_cents": int(envelope.amount_cents), "until": envelope.ends_on.isoformat(),
            "reserved_cents": int(envelope.reserved_cents)}


# --------------------------------------------------------------------------- the guard of a validation


@functools.cache
def _reserve() -> sa.Update:
    e = _table(Envelope)
    amount = sa.bindparam("p_amount", type_=sa.BigInteger)
    return (sa.update(e).where(e.c.id == sa.bindparam("p_id"), e.c.reserved_cents + amount <= e.c.amount_cents)
            .values(reserved_cents=e.c.reserved_cents + amount))


@functools.cache
def _envelope_of_day() -> sa.Select[Any]:
    e, c, s = _table(Envelope), _table(Committee), _table(Startup)
    return (sa.select(e.c.id, e.c.ends_on, e.c.amount_cents, e.c.reserved_cents, c.c.held_on, s.c.name)
            .join(c, c.c.id == e.c.committee_id).join(s, s.c.id == e.c.startup_id)
            .where(e.c.startup_id == sa.bindparam("p_startup"), e.c.starts_on <= sa.bindparam("p_on"))
            .order_by(e.c.starts_on.desc(), e.c.id.desc()).limit(1))


def reserve(*, session: Session, startup_id: str, quote_id: int, amount_cents: int, now: datetime) -> None:
    """Reserve a validated quote's amount on its startup's envelope of the day, or refuse.

    One SELECT (the envelope of the day) and, when there is one, one guarded UPDATE and one INSERT.
    No envelope (no decision yet): nothing to check. Raises :class:`EnvelopeExceeded` when the
    amount does not fit, :class:`EnvelopeEnded` when the envelope's period is over. Called by the
    ledger inside the validation's savepoint, so a refusal (this one or the year's AE) undoes it."""
    on = now.date()
    found = session.execute(_envelope_of_day(), {"p_startup": startup_id, "p_on": on}).first()
    if found is None:
        return
    envelope_id, ends_on, amount, reserved, held_on, name = found
    if ends_on < on:
        raise EnvelopeEnded(startup_id, name, held_on, ends_on)
    done = session.execute(_reserve(), {"p_id": envelope_id, "p_amount": amount_cents})
    if done.rowcount != 1:  # type: ignore[attr-defined]
        now_reserved = session.execute(sa.select(_table(Envelope).c.reserved_cents)
                                       .where(_table(Envelope).c.id == envelope_id)).scalar_one()
        raise EnvelopeExceeded(startup_id, name, held_on, ends_on, int(amount), int(now_reserved), amount_cents)
    session.execute(sa.insert(_table(EnvelopeQuote)), {"quote_id": quote_id, "envelope_id": envelope_id,
                                                       "amount_cents": amount_cents, "reserved_at": now})


@functools.cache
def _release() -> sa.Update:
    e, eq = _table(Envelope), _table(EnvelopeQuote)
    amount = sa.bindparam("p_amount", type_=sa.BigInteger)
    envelope_of = sa.select(eq.c.envelope_id).where(eq.c.quote_id == sa.bindparam("p_quote")).scalar_subquery()
    return (sa.update(e).where(e.c.id == envelope_of, e.c.reserved_cents >= amount)
            .values(reserved_cents=e.c.reserved_cents - amount))


def release(*, session: Session, quote_id: int, amount_cents: int) -> None:
    """Give back to its envelope what a closed order never used (``solder``): the startup may spend it again
    within the envelope's period. A quote reserved on no envelope: nothing to do."""
    if amount_cents <= 0:
        return
    session.execute(_release(), {"p_quote": quote_id, "p_amount": amount_cents})
    eq = _table(EnvelopeQuote)
    session.execute(sa.update(eq).where(eq.c.quote_id == quote_id)
                    .values(amount_cents=eq.c.amount_cents - amount_cents))


# --------------------------------------------------------------------------- committees and inputs


def reviewed_startups(*, session: Session, committee: Committee) -> list[Startup]:
    """The active startups a committee reviews (its ``startups`` key; all of them without one)."""
    active = session.exec(select(Startup).where(col(Startup.active)).order_by(col(Startup.name))).all()
    if committee.startups is None:
        return list(active)
    wanted = set(json.loads(committee.startups))
    return [s for s in active if s.id in wanted]


def get_input(*, session: Session, committee_id: int, startup_id: str) -> CommitteeInput | None:
    return session.get(CommitteeInput, (committee_id, startup_id))


def inputs(*, session: Session, committee_id: int) -> dict[str, CommitteeInput]:
    rows = session.exec(select(CommitteeInput).where(CommitteeInput.committee_id == committee_id)).all()
    return {row.startup_id: row for row in rows}


def save_input(*, session: Session, committee_id: int, startup_id: str, values: dict[str, Any], actor_id: str,
               platform: str, now: datetime) -> CommitteeInput:
    """Store (or replace) a coach's inputs for a startup before a committee, with its audit row."""
    row = session.get(CommitteeInput, (committee_id, startup_id))
    before = None
    if row is None:
        row = CommitteeInput(committee_id=committee_id, startup_id=startup_id, given_by=actor_id, given_at=now,
                             **values)
    else:
        before = _input_state(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.given_by, row.given_at = actor_id, now
    session.add(row)
    session.add(AuditEvent(at=now, actor_id=actor_id, platform=platform, action=INPUTS_GIVEN, subject=startup_id,
                           before=json.dumps(before, ensure_ascii=False, sort_keys=True) if before else None,
                           after=json.dumps({**_input_state(row), "committee_id": committee_id}, ensure_ascii=False,
                                            sort_keys=True)))
    session.flush()
    return row


def _input_state(row: CommitteeInput) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ("usable", "used", "useful", "impactful", "stats_url",
                                                   "objectives", "budget_requested_cents")}


def committee_by_date(*, session: Session, held_on: date) -> Committee | None:
    return session.exec(select(Committee).where(Committee.held_on == held_on)).first()


def people_names(*, session: Session, ids: Sequence[str]) -> dict[str, str]:
    rows = session.exec(select(Person).where(col(Person.id).in_(list(ids)))).all()
    return {p.id: p.name for p in rows}
