"""Quotes, service done and the AE/CP counters: every money rule of the convention.

Each decision is one transaction made of guarded statements:

* the request changes status only if it is still pending (a double click or two
  intrapreneurs at once decide it once);
* the year's counter moves only if it stays under the allocation
  (``UPDATE allocation SET x = x + :a WHERE year = :y AND x + :a <= ceiling``);
* the audit row, and what the caller enqueues (``then``), are written in the same transaction.

A decision runs under a savepoint: when a guard says no, the decision is rolled back to it
(nothing it wrote stays) and the refusal is raised, so the caller's transaction can go on
(the handlers alert the managers in it). The CHECK constraints of :mod:`storage.models`
are the backstop.

A decision costs the floor of statements: the guarded UPDATEs (request, order, allocation),
one multi-row INSERT of audit rows, the caller's INSERT of messages, and a SAVEPOINT — no
re-reading. The rows every decision locks for everyone (``allocation`` of the year, the
startup's ``pending_total`` moved by the trigger on ``quote.status``) are updated last,
so each is held for one statement and the commit.

References ``D-YYYY-NNNN`` / ``SF-YYYY-NNNN`` come from ``reference_counter``, moved by a
guarded UPDATE in the transaction that inserts the numbered row: no two submissions get the
same number, and a rolled-back one gives its number back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.errors import (
    AlreadyDecided,
    ExceedsOrder,
    InsufficientCredits,
    LedgerRefusal,
    NoAllocation,
    NotFound,
    QuoteNotValidated,
)
from storage.models import (
    Allocation,
    AuditEvent,
    PendingTotal,
    Person,
    Quote,
    QuoteStatus,
    ReferenceCounter,
    ServiceDone,
    ServiceDoneStatus,
    Startup,
)

QUOTE_PREFIX = "D"
SERVICE_DONE_PREFIX = "SF"


# --------------------------------------------------------------------------- audit


def record_audit(
    *,
    session: Session,
    at: datetime,
    actor_id: str | None,
    platform: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            actor_id=actor_id,
            platform=platform,
            action=action,
            subject=subject,
            before=json.dumps(before, ensure_ascii=False, sort_keys=True) if before is not None else None,
            after=json.dumps(after, ensure_ascii=False, sort_keys=True) if after is not None else None,
        )
    )


def audit_trail(*, session: Session, subject: str) -> Sequence[AuditEvent]:
    """Every audit row about ``subject`` (a reference), oldest first."""
    return session.exec(
        select(AuditEvent).where(AuditEvent.subject == subject).order_by(col(AuditEvent.id))
    ).all()


# --------------------------------------------------------------------------- numbering


def _table(model: type[Any]) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


# The statements of the hot paths are built once, with bind parameters: building one costs
# more than running it (SQLAlchemy coerces every clause; its cache only spares compiling).

def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


@functools.cache
def _bump_counter() -> sa.Update:
    counter = _table(ReferenceCounter)
    return (
        sa.update(counter)
        .where(counter.c.prefix == sa.bindparam("p_prefix"), counter.c.year == sa.bindparam("p_year"))
        .values(last=counter.c.last + sa.bindparam("p_count", type_=sa.Integer))
        .returning(counter.c.last)
    )


@functools.cache
def _create_counter(dialect: str, prefix: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` of a year's counter row, at what the year already numbers."""
    counter = _table(ReferenceCounter)
    numbered = _table(Quote if prefix == QUOTE_PREFIX else ServiceDone)
    already = sa.select(sa.func.coalesce(sa.func.max(numbered.c.seq), 0)).where(
        numbered.c.year == sa.bindparam("p_year"))
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(counter)
    return insert.values(prefix=prefix, year=sa.bindparam("p_year"), last=already.scalar_subquery()) \
        .on_conflict_do_nothing(index_elements=["prefix", "year"])


def reserve_numbers(*, session: Session, prefix: str, year: int, count: int = 1) -> int:
    """Take ``count`` consecutive numbers of ``prefix`` in ``year``; the first of them.

    One guarded ``UPDATE … SET last = last + count … RETURNING last`` on the counter row:
    a simultaneous submission waits for this transaction (PostgreSQL's row lock, SQLite's
    write lock) and gets the numbers after these. The row of a year is created at its first
    use (``INSERT … ON CONFLICT DO NOTHING``, from what that year already numbers).
    """
    params = {"p_prefix": prefix, "p_year": year, "p_count": count}
    last = session.execute(_bump_counter(), params).scalar()
    if last is None:
        session.execute(_create_counter(_dialect(session), prefix), {"p_year": year})
        last = session.execute(_bump_counter(), params).scalar_one()
    return int(last) - count + 1


def _insert_numbered(session: Session, row: Quote | ServiceDone, prefix: str, year: int) -> None:
    """Give ``row`` the next ``PREFIX-YYYY-NNNN`` of ``year`` (its counter row) and insert it."""
    seq = reserve_numbers(session=session, prefix=prefix, year=year)
    row.year = year
    row.seq = seq
    row.reference = f"{prefix}-{year}-{seq:04d}"
    session.add(row)
    session.flush()


# --------------------------------------------------------------------------- quotes


def get_quote(*, session: Session, reference: str) -> Quote:
    quote = session.exec(select(Quote).where(Quote.reference == reference.strip().upper())).first()
    if quote is None:
        raise NotFound("quote", reference)
    return quote


def _quote_state(quote: Quote) -> dict[str, Any]:
    return {
        "status": quote.status,
        "amount_cents": quote.amount_cents,
        "decided_by": quote.decided_by,
        "commitment_year": quote.commitment_year,
        "refusal_reason": quote.refusal_reason,
        "certified_cents": quote.certified_cents,
    }


def create_quote(
    *,
    session: Session,
    startup_id: str,
    submitted_by: str,
    amount_cents: int,
    amount_ht_cents: int | None,
    supplier: str,
    object: str,
    platform: str,
    now: datetime,
    year: int,
) -> Quote:
    """A new pending quote ``D-<year>-NNNN``."""
    if session.get(Startup, startup_id) is None:
        raise NotFound("startup", startup_id)
    quote = Quote(
        reference="",
        year=year,
        seq=0,
        startup_id=startup_id,
        submitted_by=submitted_by,
        platform=platform,
        amount_cents=amount_cents,
        amount_ht_cents=amount_ht_cents,
        supplier=supplier,
        object=object,
        status=QuoteStatus.PENDING.value,
        created_at=now,
    )
    _insert_numbered(session, quote, QUOTE_PREFIX, year)
    record_audit(
        session=session,
        at=now,
        actor_id=submitted_by,
        platform=platform,
        action="quote.submitted",
        subject=quote.reference,
        after={**_quote_state(quote), "startup_id": startup_id, "supplier": supplier, "object": object},
    )
    return quote


# --------------------------------------------------------------------------- decisions

Then = Callable[[], None]


def _json(state: Mapping[str, Any] | None) -> str | None:
    return json.dumps(state, ensure_ascii=False, sort_keys=True) if state is not None else None


@functools.cache
def _insert_audit() -> sa.Insert:
    table = _table(AuditEvent)
    return sa.insert(table).returning(table.c.id)


@functools.cache
def _insert_one_audit() -> sa.Insert:
    return sa.insert(_table(AuditEvent))


def _write_audit(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Audit rows of one decision, in one INSERT (``before``/``after`` as JSON).

    Given as an executemany with RETURNING, which SQLAlchemy sends as one multi-row INSERT
    ("insertmanyvalues") from its cached statement; ``.values([…])`` is compiled on every call.
    """
    values = [{**row, "before": _json(row.get("before")), "after": _json(row.get("after"))} for row in rows]
    if len(values) == 1:  # a decision's one row: a plain INSERT, without the batching of insertmanyvalues
        session.execute(_insert_one_audit(), values[0])
        return
    session.execute(_insert_audit(), values)


def _set(row: Quote | ServiceDone, values: Mapping[str, Any]) -> None:
    """What a guarded UPDATE just wrote, put in the loaded object without reading it back."""
    for name, value in values.items():
        set_committed_value(row, name, value)


@functools.cache
def _claim(model: type[Any], names: tuple[str, ...]) -> sa.Update:
    table = _table(model)
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("p_id"), table.c.status == "pending")
        .values({name: sa.bindparam(f"p_{name}", type_=table.c[name].type) for name in names})
    )


def _claim_pending(session: Session, model: type[Quote] | type[ServiceDone], row_id: int,
                   values: Mapping[str, Any]) -> bool:
    """The guarded status change: only a request still pending is decided."""
    names = tuple(sorted(values))
    result = session.execute(_claim(model, names), {"p_id": row_id, **{f"p_{n}": values[n] for n in names}})
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def _already_decided(row: Quote | ServiceDone) -> AlreadyDecided:
    return AlreadyDecided(row.reference, row.status, row.decided_by, row.decided_at)


def _allocation(session: Session, year: int) -> Allocation | None:
    return session.exec(select(Allocation).where(Allocation.year == year)).first()


def _counter_columns(kind: str) -> tuple[sa.Column[Any], sa.Column[Any]]:
    table = _table(Allocation)
    if kind == "ae":
        return table.c.ae_committed_cents, table.c.ae_cents
    return table.c.cp_consumed_cents, table.c.cp_cents


@functools.cache
def _guarded_move(kind: str) -> sa.Update:
    """``UPDATE allocation SET x = x + :a WHERE year = :y AND x + :a <= ceiling``: the floor of a decision."""
    counter, ceiling = _counter_columns(kind)
    amount = sa.bindparam("p_amount", type_=sa.BigInteger)
    return (
        sa.update(_table(Allocation))
        .where(_table(Allocation).c.year == sa.bindparam("p_year"), counter + amount <= ceiling)
        .values({counter: counter + amount})
    )


def _move_counter(session: Session, *, year: int, kind: str, amount_cents: int) -> None:
    """Add ``amount_cents`` to the year's AE committed or CP consumed, never past the ceiling."""
    result = session.execute(_guarded_move(kind), {"p_year": year, "p_amount": amount_cents})
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    counter, ceiling = _counter_columns(kind)
    now_at = session.execute(sa.select(counter, ceiling).where(_table(Allocation).c.year == year)).first()
    if now_at is None:
        raise NoAllocation(year)
    raise InsufficientCredits(kind, year, amount_cents, int(now_at[1]) - int(now_at[0]))


_SAVEPOINT = sa.text("SAVEPOINT ledger_decision")
_ROLLBACK_TO_SAVEPOINT = sa.text("ROLLBACK TO SAVEPOINT ledger_decision")


def _under_savepoint(session: Session, decide: Callable[[], None], undo: Callable[[], None]) -> None:
    """Run ``decide``; when a guard refuses, roll the database back to before it, ``undo`` what
    it set in loaded objects, and raise the refusal. Decisions use only Core statements, so
    the session has nothing of theirs to forget: a plain ``SAVEPOINT`` (not the ORM's nested
    transaction, whose RELEASE would be one more statement while the allocation is locked).
    The commit releases it; a caller deciding several requests in one transaction (the demo
    data) nests one savepoint per decision."""
    session.execute(_SAVEPOINT)
    try:
        decide()
    except LedgerRefusal:
        session.execute(_ROLLBACK_TO_SAVEPOINT)
        undo()
        raise


@dataclass(frozen=True)
class Subject:
    """A request to decide, loaded by :func:`load_quote` or :func:`load_service_done` with every
    row its card shows — held here, since a session keeps a loaded row only while it is referred
    to. ``quote`` is the request itself, or the order of a service done. A decision updates
    ``row`` and ``quote`` in place.

    Loaded for a ``year``, it also holds what that year's allocation had left, AE and CP, in the
    same SELECT (``left``; None: no allocation that year). Counters only grow, so a request that
    did not fit then does not fit now: it is refused without writing anything (no SAVEPOINT, no
    wait on the allocation row). One that fitted is still decided by the guarded UPDATE."""

    row: Quote | ServiceDone
    quote: Quote
    startup: Startup
    submitter: Person
    decider: Person | None
    year: int | None = None
    left: tuple[int, int] | None = None

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
    allocation = _table(Allocation)
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
    allocation has left), in one SELECT: a decision and its cards then read nothing more."""
    found = session.execute(_load_quote(year is not None),
                            {"p_reference": reference.strip().upper(), "p_year": year}).first()
    if found is None:
        raise NotFound("quote", reference)
    return _subject(found, 4, year)


def _refuse_from_what_was_left(subject: Subject, kind: str, year: int, amount_cents: int) -> None:
    """Raise the refusal the guarded UPDATE would give, when the loaded state already says it."""
    if subject.status != "pending":
        raise _already_decided(subject.row)
    if subject.year != year:
        return
    if subject.left is None:
        raise NoAllocation(year)
    left = subject.left[0 if kind == "ae" else 1]
    if amount_cents > left:
        raise InsufficientCredits(kind, year, amount_cents, left)


def _decide_quote(
    session: Session, *, quote: Quote, actor_id: str, platform: str, now: datetime, status: QuoteStatus,
    commit_year: int | None, then: Then | None, **values: Any,
) -> Quote:
    """Move a pending quote to ``status`` (once), commit its AE if ``commit_year``, audit it.

    Statements: SAVEPOINT, the audit INSERT, ``then``'s, the guarded status UPDATE (its trigger
    moves the startup's pending total), the guarded AE UPDATE — the two shared rows last.
    """
    if quote.status != QuoteStatus.PENDING.value:
        raise _already_decided(quote)
    decided = {"status": status.value, "decided_by": actor_id, "decided_at": now, **values}
    before = _quote_state(quote)
    undecided = {name: getattr(quote, name) for name in decided}

    def decide() -> None:
        _set(quote, decided)
        _write_audit(session, [dict(at=now, actor_id=actor_id, platform=platform, action=f"quote.{status.value}",
                                    subject=quote.reference, before=before, after=_quote_state(quote))])
        if then is not None:
            then()
        if not _claim_pending(session, Quote, quote.id or 0, decided):
            raise AlreadyDecided(quote.reference, "", None, None)
        if commit_year is not None:
            _move_counter(session, year=commit_year, kind="ae", amount_cents=quote.amount_cents)

    try:
        _under_savepoint(session, decide, lambda: _set(quote, undecided))
    except AlreadyDecided:
        session.refresh(quote)  # decided meanwhile by someone else: say by whom
        raise _already_decided(quote) from None
    return quote


def validate_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int,
    subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Validate a pending quote and commit its amount against the AE of ``year``.

    ``subject``: the quote already loaded (:func:`load_quote`), not read again. ``then``: called
    once the quote shows its decision, before the AE move, in the same transaction — to enqueue
    what the decision causes; rolled back with it if the AE refuse.
    """
    subject = subject or load_quote(session=session, reference=reference, year=year)
    _refuse_from_what_was_left(subject, "ae", year, subject.quote.amount_cents)
    return _decide_quote(session, quote=subject.quote, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.VALIDATED, commit_year=year, then=then, commitment_year=year)


def refuse_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime,
    subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Refuse a pending quote with its reason; nothing is committed. ``subject``, ``then``: as for validation."""
    subject = subject or load_quote(session=session, reference=reference)
    return _decide_quote(session, quote=subject.quote, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.REFUSED, commit_year=None, then=then, refusal_reason=reason)


# --------------------------------------------------------------------------- service done


def get_service_done(*, session: Session, reference: str) -> ServiceDone:
    row = session.exec(
        select(ServiceDone).where(ServiceDone.reference == reference.strip().upper())
    ).first()
    if row is None:
        raise NotFound("service_done", reference)
    return row


def pending_service_done_cents(*, session: Session, quote_id: int) -> int:
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(ServiceDone.amount_cents), 0)).where(
            ServiceDone.quote_id == quote_id, ServiceDone.status == ServiceDoneStatus.PENDING.value
        )
    ).one()
    return int(total)


def _service_done_state(row: ServiceDone) -> dict[str, Any]:
    return {
        "status": row.status,
        "amount_cents": row.amount_cents,
        "decided_by": row.decided_by,
        "consumption_year": row.consumption_year,
        "refusal_reason": row.refusal_reason,
    }


def create_service_done(
    *,
    session: Session,
    quote_reference: str,
    submitted_by: str,
    amount_cents: int,
    period: str | None,
    platform: str,
    now: datetime,
    year: int,
) -> tuple[ServiceDone, Quote]:
    """A new pending certification ``SF-<year>-NNNN`` on a validated quote.

    Refused at once when the order cannot cover it (what is certified plus what is
    already waiting for certification).
    """
    quote = get_quote(session=session, reference=quote_reference)
    if quote.status != QuoteStatus.VALIDATED.value:
        raise QuoteNotValidated(quote.reference, quote.status)
    remaining = quote.amount_cents - quote.certified_cents - pending_service_done_cents(
        session=session, quote_id=quote.id or 0
    )
    if amount_cents > remaining:
        raise ExceedsOrder(quote.reference, amount_cents, max(remaining, 0))
    row = ServiceDone(
        reference="",
        year=year,
        seq=0,
        quote_id=quote.id or 0,
        submitted_by=submitted_by,
        platform=platform,
        amount_cents=amount_cents,
        period=period,
        status=ServiceDoneStatus.PENDING.value,
        created_at=now,
    )
    _insert_numbered(session, row, SERVICE_DONE_PREFIX, year)
    record_audit(
        session=session,
        at=now,
        actor_id=submitted_by,
        platform=platform,
        action="service_done.submitted",
        subject=row.reference,
        after={**_service_done_state(row), "quote": quote.reference, "period": period},
    )
    record_audit(
        session=session,
        at=now,
        actor_id=submitted_by,
        platform=platform,
        action="service_done.submitted",
        subject=quote.reference,
        after={"service_done": row.reference, "amount_cents": amount_cents, "period": period},
    )
    return row, quote


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


def load_service_done(*, session: Session, reference: str, year: int | None = None) -> Subject:
    """A service done with its order, the order's startup, its submitter and its decider (and,
    for ``year``, what the allocation has left), in one SELECT."""
    found = session.execute(_load_service_done(year is not None),
                            {"p_reference": reference.strip().upper(), "p_year": year}).first()
    if found is None:
        raise NotFound("service_done", reference)
    return _subject(found, 5, year)


@functools.cache
def _consume() -> sa.Update:
    table = _table(Quote)
    amount = sa.bindparam("p_amount", type_=sa.BigInteger)
    return (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("p_id"),
            table.c.status == QuoteStatus.VALIDATED.value,
            table.c.certified_cents + amount <= table.c.amount_cents,
        )
        .values(certified_cents=table.c.certified_cents + amount)
        .returning(table.c.certified_cents)
    )


def _consume_order(session: Session, quote: Quote, amount_cents: int) -> int:
    """Add ``amount_cents`` to what the order has certified, never past its amount; the new total."""
    certified = session.execute(_consume(), {"p_id": quote.id, "p_amount": amount_cents}).scalar()
    if certified is None:
        session.refresh(quote)
        raise ExceedsOrder(quote.reference, amount_cents, quote.amount_cents - quote.certified_cents)
    return int(certified)


def _decide_service_done(
    session: Session, *, row: ServiceDone, quote: Quote, actor_id: str, platform: str, now: datetime,
    status: ServiceDoneStatus, consume_year: int | None, then: Then | None, **values: Any,
) -> tuple[ServiceDone, Quote]:
    """Move a pending service done to ``status`` (once); with ``consume_year``, certify it on the
    order and consume CP of that year. Audited on the service done and on its quote.

    Statements: SAVEPOINT, the guarded status UPDATE, the guarded order UPDATE (RETURNING what
    is now certified, for the audit), one INSERT of both audit rows, ``then``'s, the guarded
    CP UPDATE last.
    """
    if row.status != ServiceDoneStatus.PENDING.value:
        raise _already_decided(row)
    decided = {"status": status.value, "decided_by": actor_id, "decided_at": now, **values}
    before = _service_done_state(row)
    undecided = {name: getattr(row, name) for name in decided}
    certified_before = quote.certified_cents
    action = f"service_done.{status.value}"

    def decide() -> None:
        if not _claim_pending(session, ServiceDone, row.id or 0, decided):
            raise AlreadyDecided(row.reference, "", None, None)
        if consume_year is not None:
            set_committed_value(quote, "certified_cents", _consume_order(session, quote, row.amount_cents))
        _set(row, decided)
        on_quote: dict[str, Any] = {"service_done": row.reference}
        if consume_year is not None:
            on_quote["certified_cents"] = quote.certified_cents
        else:
            on_quote["refusal_reason"] = row.refusal_reason
        _write_audit(session, [
            dict(at=now, actor_id=actor_id, platform=platform, action=action, subject=row.reference,
                 before=before, after=_service_done_state(row)),
            dict(at=now, actor_id=actor_id, platform=platform, action=action, subject=quote.reference,
                 before=None, after=on_quote),
        ])
        if then is not None:
            then()
        if consume_year is not None:
            _move_counter(session, year=consume_year, kind="cp", amount_cents=row.amount_cents)

    def undo() -> None:
        _set(row, undecided)
        set_committed_value(quote, "certified_cents", certified_before)

    try:
        _under_savepoint(session, decide, undo)
    except AlreadyDecided:
        session.refresh(row)  # decided meanwhile by someone else: say by whom
        session.refresh(quote)
        raise _already_decided(row) from None
    return row, quote


def certify_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int,
    subject: Subject | None = None, then: Then | None = None,
) -> tuple[ServiceDone, Quote]:
    """Certify a pending service done: consumes CP of ``year``, up to what the order has left.

    ``subject``: already loaded (:func:`load_service_done`); ``then``: as for
    :func:`validate_quote`, called before the CP move.
    """
    subject = subject or load_service_done(session=session, reference=reference, year=year)
    row, quote = subject.row, subject.quote
    assert isinstance(row, ServiceDone)
    if row.status == ServiceDoneStatus.PENDING.value and quote.certified_cents + row.amount_cents > quote.amount_cents:
        raise ExceedsOrder(quote.reference, row.amount_cents, quote.amount_cents - quote.certified_cents)
    _refuse_from_what_was_left(subject, "cp", year, row.amount_cents)
    return _decide_service_done(session, row=row, quote=quote, actor_id=actor_id, platform=platform, now=now,
                                status=ServiceDoneStatus.CERTIFIED, consume_year=year, then=then,
                                consumption_year=year)


def refuse_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime,
    subject: Subject | None = None, then: Then | None = None,
) -> tuple[ServiceDone, Quote]:
    """Refuse a pending service done with its reason; no CP is consumed."""
    subject = subject or load_service_done(session=session, reference=reference)
    assert isinstance(subject.row, ServiceDone)
    return _decide_service_done(session, row=subject.row, quote=subject.quote, actor_id=actor_id,
                                platform=platform, now=now, status=ServiceDoneStatus.REFUSED, consume_year=None,
                                then=then, refusal_reason=reason)


# --------------------------------------------------------------------------- balances


@dataclass(frozen=True)
class YearBalance:
    year: int
    exists: bool
    ae_cents: int
    ae_committed_cents: int
    cp_cents: int
    cp_consumed_cents: int

    @property
    def ae_available_cents(self) -> int:
        return self.ae_cents - self.ae_committed_cents

    @property
    def cp_available_cents(self) -> int:
        return self.cp_cents - self.cp_consumed_cents


def year_balance(*, session: Session, year: int) -> YearBalance:
    """AE allocated/committed and CP allocated/consumed of ``year`` (one indexed row)."""
    allocation = _allocation(session, year)
    if allocation is None:
        return YearBalance(year, False, 0, 0, 0, 0)
    return YearBalance(
        year,
        True,
        allocation.ae_cents,
        allocation.ae_committed_cents,
        allocation.cp_cents,
        allocation.cp_consumed_cents,
    )


def allocation_years(*, session: Session) -> list[int]:
    return list(session.exec(select(Allocation.year).order_by(col(Allocation.year))).all())


@dataclass(frozen=True)
class StartupUsage:
    startup_id: str
    name: str
    committed_cents: int
    consumed_cents: int
    pending_count: int
    pending_cents: int


def startup_usage(*, session: Session, year: int, startup_ids: Iterable[str] | None = None) -> list[StartupUsage]:
    """Per startup: AE committed and CP consumed in ``year``, quotes waiting (any year)."""
    committed = dict(
        session.exec(
            select(Quote.startup_id, sa.func.sum(Quote.amount_cents))
            .where(Quote.commitment_year == year, Quote.status == QuoteStatus.VALIDATED.value)
            .group_by(Quote.startup_id)
        ).all()
    )
    consumed = dict(
        session.exec(
            select(Quote.startup_id, sa.func.sum(ServiceDone.amount_cents))
            .join(Quote, Quote.id == ServiceDone.quote_id)  # type: ignore[arg-type]
            .where(
                ServiceDone.consumption_year == year,
                ServiceDone.status == ServiceDoneStatus.CERTIFIED.value,
            )
            .group_by(Quote.startup_id)
        ).all()
    )
    pending = pending_by_startup(session=session)
    query = select(Startup).order_by(col(Startup.name))
    if startup_ids is not None:
        query = query.where(col(Startup.id).in_(list(startup_ids)))
    return [
        StartupUsage(
            s.id,
            s.name,
            int(committed.get(s.id, 0) or 0),
            int(consumed.get(s.id, 0) or 0),
            pending.get(s.id, (0, 0))[0],
            pending.get(s.id, (0, 0))[1],
        )
        for s in session.exec(query).all()
    ]


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


def pending_service_done(
    *, session: Session, startup_ids: Iterable[str] | None = None
) -> Sequence[tuple[ServiceDone, Quote]]:
    query = (
        select(ServiceDone, Quote)
        .join(Quote, Quote.id == ServiceDone.quote_id)  # type: ignore[arg-type]
        .where(ServiceDone.status == ServiceDoneStatus.PENDING.value)
        .order_by(col(ServiceDone.created_at))
    )
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    return [(sd, q) for sd, q in session.exec(query).all()]


def open_orders(*, session: Session, startup_ids: Iterable[str] | None = None) -> Sequence[Quote]:
    """Validated quotes that still have something left to certify."""
    query = (
        select(Quote)
        .where(Quote.status == QuoteStatus.VALIDATED.value, Quote.certified_cents < Quote.amount_cents)
        .order_by(col(Quote.created_at))
    )
    if startup_ids is not None:
        query = query.where(col(Quote.startup_id).in_(list(startup_ids)))
    return session.exec(query).all()


def all_quotes(*, session: Session) -> Sequence[Quote]:
    return session.exec(select(Quote).order_by(col(Quote.year), col(Quote.seq))).all()
