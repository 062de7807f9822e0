"""A request loaded with everything its card shows, and what the year has left, in one SELECT."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from storage.errors import AlreadyDecided, InsufficientCredits, NoAllocation, NotFound, WrongStatus
from storage.ledger.writes import table
from storage.models import Allocation, Envelope, Person, Quote, ServiceDone, Startup


@dataclass(frozen=True)
class Subject:
    """A request to act on, loaded by :func:`load_quote` or :func:`load_service_done` with every
    row its card shows — held here, since a session keeps a loaded row only while it is referred
    to. ``quote`` is the request itself, or the order of a service done. A step updates
    ``row`` and ``quote`` in place.

    Loaded for a ``year``, it also holds what that year's allocation had left, AE and CP, in the
    same SELECT (``left``; None: no allocation that year). Counters only grow within a step's
    reading, so a request that did not fit then does not fit now: it is refused without writing
    anything (no SAVEPOINT, no wait on the allocation row). One that fitted is still decided by
    the guarded UPDATE."""

    row: Quote | ServiceDone
    quote: Quote
    startup: Startup
    submitter: Person
    decider: Person | None
    year: int | None = None
    left: tuple[int, int] | None = None
    has_envelope: bool = True  # the startup has an envelope (a committee decision): a validation checks it

    @property
    def reference(self) -> str:
        return self.row.reference

    @property
    def startup_id(self) -> str:
        return self.quote.startup_id

    @property
    def submitted_by(self) -> str:
        return self.row.submitted_by

    @property
    def status(self) -> str:
        return self.row.status


def _with_what_is_left(query: Any, year: int | None) -> Any:
    if year is None:
        return query
    allocation = table(Allocation)
    return query.add_columns(
        allocation.c.ae_cents - allocation.c.ae_committed_cents, allocation.c.cp_cents - allocation.c.cp_consumed_cents
    ).outerjoin(allocation, allocation.c.year == sa.bindparam("p_year"))


@functools.cache
def _load_quote(with_year: bool) -> Any:
    decider = aliased(Person)
    query = (
        sa.select(Quote, Startup, Person, decider)
        .join(Startup, Startup.id == Quote.startup_id)  # type: ignore[arg-type]
        .join(Person, Person.id == Quote.submitted_by)  # type: ignore[arg-type]
        .outerjoin(decider, decider.id == Quote.decided_by)  # type: ignore[arg-type]
        .where(Quote.reference == sa.bindparam("p_reference"))  # type: ignore[arg-type]
    )
    has_envelope = sa.exists().where(Envelope.startup_id == Quote.startup_id)  # type: ignore[arg-type]
    return _with_what_is_left(query, 0 if with_year else None).add_columns(has_envelope)


@functools.cache
def _load_service_done(with_year: bool) -> Any:
    decider = aliased(Person)
    query = (
        sa.select(ServiceDone, Quote, Startup, Person, decider)
        .join(Quote, Quote.id == ServiceDone.quote_id)  # type: ignore[arg-type]
        .join(Startup, Startup.id == Quote.startup_id)  # type: ignore[arg-type]
        .join(Person, Person.id == ServiceDone.submitted_by)  # type: ignore[arg-type]
        .outerjoin(decider, decider.id == ServiceDone.decided_by)  # type: ignore[arg-type]
        .where(ServiceDone.reference == sa.bindparam("p_reference"))  # type: ignore[arg-type]
    )
    return _with_what_is_left(query, 0 if with_year else None)


def _subject(found: Sequence[Any], entities: int, year: int | None) -> Subject:
    rows = list(found[:entities])
    if len(rows) == 4:  # a quote is its own order
        rows.insert(1, rows[0])
    left = None
    if year is not None and found[entities] is not None:
        left = (int(found[entities]), int(found[entities + 1]))
    return Subject(rows[0], rows[1], rows[2], rows[3], rows[4], year=year, left=left)


def load_quote(*, session: Session, reference: str, year: int | None = None) -> Subject:
    """A quote with its startup, its submitter and its decider (and, for ``year``, what the
    allocation has left), in one SELECT: a step and its cards then read nothing more."""
    found = session.execute(_load_quote(year is not None),
                            {"p_reference": reference.strip().upper(), "p_year": year}).first()
    if found is None:
        raise NotFound("quote", reference)
    return dataclasses.replace(_subject(found, 4, year), has_envelope=bool(found[-1]))


def load_service_done(*, session: Session, reference: str, year: int | None = None) -> Subject:
    """A service done with its order, the order's startup, its submitter and its decider (and,
    for ``year``, what the allocation has left), in one SELECT."""
    found = session.execute(_load_service_done(year is not None),
                            {"p_reference": reference.strip().upper(), "p_year": year}).first()
    if found is None:
        raise NotFound("service_done", reference)
    return _subject(found, 5, year)


def get_quote(*, session: Session, reference: str) -> Quote:
    quote = session.exec(select(Quote).where(Quote.reference == reference.strip().upper())).first()
    if quote is None:
        raise NotFound("quote", reference)
    return quote


def get_service_done(*, session: Session, reference: str) -> ServiceDone:
    row = session.exec(select(ServiceDone).where(ServiceDone.reference == reference.strip().upper())).first()
    if row is None:
        raise NotFound("service_done", reference)
    return row


def already_decided(row: Quote | ServiceDone) -> AlreadyDecided:
    return AlreadyDecided(row.reference, row.status, row.decided_by, row.decided_at)


def require_status(row: Quote | ServiceDone, statuses: tuple[str, ...], step: str) -> None:
    """A step that needs the request in one of ``statuses``; a pending one awaiting a decision
    says so as :class:`WrongStatus` too (the handlers word it)."""
    if row.status not in statuses:
        raise WrongStatus(row.reference, row.status, step)


def refuse_from_what_was_left(subject: Subject, kind: str, year: int, amount_cents: int) -> None:
    """Raise the refusal the guarded UPDATE would give, when the loaded state already says it."""
    if subject.year != year:
        return
    if subject.left is None:
        raise NoAllocation(year)
    left = subject.left[0 if kind == "ae" else 1]
    if amount_cents > left:
        raise InsufficientCredits(kind, year, amount_cents, left)
