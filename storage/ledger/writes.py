"""The guarded writes every step of the chain is made of, and the audit rows that go with them.

* :func:`claim` — the guarded status change (``UPDATE … WHERE id = :id AND status IN (…)``):
  a double click or two people at once change a request once;
* :func:`move_allocations` — the year counters, one UPDATE over every year a step touches,
  with the ceilings in its WHERE (``ae_committed + Δ <= ae``, ``cp_consumed + Δ <= cp``): it
  matches fewer rows than years when a ceiling says no, and the step is rolled back;
* :func:`move_startup_totals` — the per startup and year counters, one upsert;
* :func:`write_audit` — the step's audit rows, one INSERT;
* :func:`under_savepoint` — a refused step leaves nothing behind and the caller goes on.

The statements are built once, with bind parameters (building one costs more than running it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

from storage.errors import InsufficientCredits, LedgerRefusal, NoAllocation
from storage.models import Allocation, AuditEvent, Quote, ServiceDone, StartupMonthMove, StartupYearTotal

Then = Callable[[], None]


def table(model: type[Any]) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


def dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


# --------------------------------------------------------------------------- audit


def _json(state: Mapping[str, Any] | None) -> str | None:
    return json.dumps(state, ensure_ascii=False, sort_keys=True) if state is not None else None


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
    """One audit row through the ORM (submissions, imports: paths that are not hot)."""
    session.add(AuditEvent(at=at, actor_id=actor_id, platform=platform, action=action, subject=subject,
                           before=_json(before), after=_json(after)))


def audit_trail(*, session: Session, subject: str) -> Sequence[AuditEvent]:
    """Every audit row about ``subject`` (a reference), oldest first."""
    return session.exec(
        select(AuditEvent).where(AuditEvent.subject == subject).order_by(col(AuditEvent.id))
    ).all()


@functools.cache
def _insert_audit() -> sa.Insert:
    audit = table(AuditEvent)
    return sa.insert(audit).returning(audit.c.id)


@functools.cache
def _insert_one_audit() -> sa.Insert:
    return sa.insert(table(AuditEvent))


def write_audit(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Audit rows of one step, in one INSERT (``before``/``after`` as JSON).

    Given as an executemany with RETURNING, which SQLAlchemy sends as one multi-row INSERT
    ("insertmanyvalues") from its cached statement; ``.values([…])`` is compiled on every call.
    """
    values = [{**row, "before": _json(row.get("before")), "after": _json(row.get("after"))} for row in rows]
    if len(values) == 1:  # one row: a plain INSERT, without the batching of insertmanyvalues
        session.execute(_insert_one_audit(), values[0])
        return
    session.execute(_insert_audit(), values)


def audit_row(*, now: datetime, actor_id: str, platform: str, action: str, subject: str,
              before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(at=now, actor_id=actor_id, platform=platform, action=action, subject=subject,
                before=before, after=after)


# --------------------------------------------------------------------------- loaded rows


def set_loaded(row: Any, values: Mapping[str, Any]) -> None:
    """What a guarded UPDATE just wrote, put in the loaded object without reading it back."""
    for name, value in values.items():
        set_committed_value(row, name, value)


def snapshot(row: Any, names: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


# --------------------------------------------------------------------------- guarded status change


@functools.cache
def _claim(model: type[Any], names: tuple[str, ...], statuses: tuple[str, ...]) -> sa.Update:
    rows = table(model)
    return (
        sa.update(rows)
        .where(rows.c.id == sa.bindparam("p_id"), rows.c.status.in_(statuses))
        .values({name: sa.bindparam(f"p_{name}", type_=rows.c[name].type) for name in names})
    )


def claim(session: Session, model: type[Quote] | type[ServiceDone], row_id: int, values: Mapping[str, Any],
          *, statuses: tuple[str, ...] = ("pending",)) -> bool:
    """Write ``values`` on the row only if its status is still one of ``statuses``; whether it was."""
    names = tuple(sorted(values))
    result = session.execute(_claim(model, names, statuses),
                             {"p_id": row_id, **{f"p_{n}": values[n] for n in names}})
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


# --------------------------------------------------------------------------- year counters

# The column a guard keeps under its ceiling, and the kind of credits a refusal names.
CEILINGS = {"ae_committed_cents": ("ae_cents", "ae"), "cp_consumed_cents": ("cp_cents", "cp")}
COUNTERS = ("ae_committed_cents", "ae_engaged_cents", "cp_to_pay_cents", "cp_consumed_cents", "restes_cents")


@functools.cache
def _move_allocations(columns: tuple[str, ...], years: int, guarded: tuple[str, ...]) -> sa.Update:
    """``UPDATE allocation SET c = c + CASE year WHEN :y0 THEN :c0 … ELSE 0 END … WHERE year IN (…)
    AND c + (…) <= ceiling`` for the guarded columns; RETURNING what the year's CP have left
    to pay what is certified (``cp - consumed - to_pay``)."""
    alloc = table(Allocation)

    def delta(name: str) -> Any:
        if years == 1:
            return sa.bindparam(f"p_{name}_0", type_=sa.BigInteger)
        return sa.case(*((alloc.c.year == sa.bindparam(f"p_year_{i}"), sa.bindparam(f"p_{name}_{i}",
                                                                                      type_=sa.BigInteger))
                         for i in range(years)), else_=sa.literal(0, sa.BigInteger))

    where = [alloc.c.year.in_([sa.bindparam(f"p_year_{i}") for i in range(years)])]
    for name in guarded:
        ceiling = CEILINGS[name][0]
        where.append(alloc.c[name] + delta(name) <= alloc.c[ceiling])
    return (
        sa.update(alloc).where(*where).values({alloc.c[name]: alloc.c[name] + delta(name) for name in columns})
        .returning(alloc.c.year, alloc.c.cp_cents - alloc.c.cp_consumed_cents - alloc.c.cp_to_pay_cents)
    )


def move_allocations(session: Session, moves: Mapping[int, Mapping[str, int]]) -> dict[int, int]:
    """Move the counters of each year by ``moves[year][column]``, never past a ceiling; for each
    year, what its CP have left once what is certified is paid (negative: they cannot pay it).

    A positive move of ``ae_committed_cents`` or ``cp_consumed_cents`` is guarded by the year's
    AE or CP. When a guard says no, or a year has no allocation, nothing is moved and the
    refusal is raised (the caller runs under :func:`under_savepoint`).
    """
    years = sorted(moves)
    columns = tuple(sorted({name for year in years for name, cents in moves[year].items() if cents}))
    guarded = tuple(name for name in columns if name in CEILINGS and any(moves[y].get(name, 0) > 0 for y in years))
    params: dict[str, Any] = {}
    for i, year in enumerate(years):
        params[f"p_year_{i}"] = year
        for name in columns:
            params[f"p_{name}_{i}"] = moves[year].get(name, 0)
    if not columns:
        return {}
    found = session.execute(_move_allocations(columns, len(years), guarded), params).all()
    if len(found) == len(years):
        return {int(year): int(left) for year, left in found}
    # Fewer rows than years: say why (no statement of the step stays; the savepoint is rolled back).
    moved = {int(year) for year, _ in found}
    alloc = table(Allocation)
    state = {int(r.year): r for r in session.execute(sa.select(alloc).where(alloc.c.year.in_(years))).all()}
    for year in years:
        row = state.get(year)
        if row is None:
            raise NoAllocation(year)
        if year in moved:
            continue
        for name in guarded:
            cents = moves[year].get(name, 0)
            ceiling, kind = CEILINGS[name]
            # What the row says now includes this statement's moves on the matched rows only: this one did not move.
            if cents > 0 and getattr(row, name) + cents > getattr(row, ceiling):
                raise InsufficientCredits(kind, year, cents, int(getattr(row, ceiling)) - int(getattr(row, name)))
    raise NoAllocation(years[0])  # pragma: no cover - a row neither missing nor over its ceiling


# --------------------------------------------------------------------------- startup counters

STARTUP_COUNTERS = ("reserved_cents", "engaged_cents", "to_pay_cents", "paid_cents", "restes_cents")
MONTH_COUNTERS = (*STARTUP_COUNTERS, "pending_quotes", "pending_cents")
REPORT_TZ = ZoneInfo("Europe/Paris")  # the convention's time: the calendar month of a step


def month_of(at: datetime) -> int:
    """``at``'s calendar month in the convention's time, as YYYYMM (a naive ``at`` is UTC)."""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(REPORT_TZ)
    return local.year * 100 + local.month


@functools.cache
def _upsert_counters(model: type[SQLModel], keys: tuple[str, ...], counters: tuple[str, ...], dialect_name: str,
                     rows: int, signed: bool) -> Any:
    """``INSERT … VALUES (the moves) ON CONFLICT (keys) DO UPDATE SET c = c + (the move of that row)``.
    Not ``signed``: a CHECK is evaluated on the row proposed for insertion too, so it holds the moves
    with negatives as 0 (``p_new_…``); ``signed`` tables keep the moves as they are."""
    totals = table(model)
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(totals)
    values = [
        {**{key: sa.bindparam(f"p_{key}_{i}") for key in keys},
         **{name: sa.bindparam(f"p_{name}_{i}" if signed else f"p_new_{name}_{i}", type_=sa.BigInteger)
            for name in counters}}
        for i in range(rows)
    ]
    # One row as a dict: SQLAlchemy caches the compiled statement; a list of rows (multi-VALUES) it
    # compiles anew on every call (a fifth of a decision's time when each of its two upserts was one).
    statement = insert.values(values[0]) if rows == 1 else insert.values(values)

    def delta(name: str) -> Any:
        if rows == 1:
            return sa.bindparam(f"p_{name}_0", type_=sa.BigInteger)
        same = [sa.and_(*(statement.excluded[key] == sa.bindparam(f"p_{key}_{i}") for key in keys[1:]))
                for i in range(rows)]
        return sa.case(*((same[i], sa.bindparam(f"p_{name}_{i}", type_=sa.BigInteger)) for i in range(rows)),
                       else_=sa.literal(0, sa.BigInteger))

    return statement.on_conflict_do_update(index_elements=list(keys),
                                           set_={name: totals.c[name] + delta(name) for name in counters})


def _move(session: Session, model: type[SQLModel], keyed: list[tuple[tuple[Any, ...], Mapping[str, int]]],
          keys: tuple[str, ...], counters: tuple[str, ...], signed: bool) -> None:
    rows = [(key, cols) for key, cols in keyed if any(cols.values())]
    if not rows:
        return
    params: dict[str, Any] = {}
    for i, (key, cols) in enumerate(rows):
        params.update({f"p_{name}_{i}": value for name, value in zip(keys, key, strict=True)})
        for name in counters:
            cents = cols.get(name, 0)
            params[f"p_{name}_{i}"] = cents
            params[f"p_new_{name}_{i}"] = max(cents, 0)
    session.execute(_upsert_counters(model, keys, counters, dialect(session), len(rows), signed), params)


def move_startup_totals(session: Session, startup_id: str, moves: Mapping[int, Mapping[str, int]], *,
                        at: datetime, pending: Mapping[int, Mapping[str, int]] | None = None) -> None:
    """Move the startup's counters of each year by ``moves[year][column]`` (one upsert), and record the
    same moves — with ``pending``'s, the quotes waiting — under ``at``'s month for the monthly report
    (:func:`move_month`, one upsert).

    The moves of one year are merged first (an upsert may not touch a row twice)."""
    _move(session, StartupYearTotal, [((startup_id, year), moves[year]) for year in sorted(moves)],
          ("startup_id", "year"), STARTUP_COUNTERS, signed=False)
    move_month(session, startup_id, merge(*_triples(moves), *_triples(pending or {})), at=at)


def _triples(moves: Mapping[int, Mapping[str, int]]) -> list[tuple[int, str, int]]:
    return [(year, name, cents) for year, cols in moves.items() for name, cents in cols.items()]


def pending_moves(quote: Quote, sign: int) -> dict[int, dict[str, int]]:
    """A quote submitted (``sign`` +1) or decided (−1), for the month's count of quotes waiting."""
    return merge((quote.year, "pending_quotes", sign), (quote.year, "pending_cents", sign * quote.amount_cents))


def move_month(session: Session, startup_id: str, moves: Mapping[int, Mapping[str, int]], *, at: datetime) -> None:
    """Record ``moves[year][column]`` as made in ``at``'s month (``startup_month_move``), one upsert."""
    month = month_of(at)
    _move(session, StartupMonthMove, [((startup_id, year, month), moves[year]) for year in sorted(moves)],
          ("startup_id", "year", "month"), MONTH_COUNTERS, signed=True)


def merge(*moves: tuple[int, str, int]) -> dict[int, dict[str, int]]:
    """``(year, column, cents)`` triples summed per year and column."""
    merged: dict[int, dict[str, int]] = {}
    for year, name, cents in moves:
        merged.setdefault(year, {})
        merged[year][name] = merged[year].get(name, 0) + cents
    return merged


# --------------------------------------------------------------------------- savepoint

_SAVEPOINT = sa.text("SAVEPOINT ledger_decision")
_ROLLBACK_TO_SAVEPOINT = sa.text("ROLLBACK TO SAVEPOINT ledger_decision")


def under_savepoint(session: Session, decide: Callable[[], None], undo: Callable[[], None]) -> None:
    """Run ``decide``; when a guard refuses, roll the database back to before it, ``undo`` what
    it set in loaded objects, and raise the refusal. Steps use only Core statements, so
    the session has nothing of theirs to forget: a plain ``SAVEPOINT`` (not the ORM's nested
    transaction, whose RELEASE would be one more statement while the allocation is locked).
    The commit releases it; a caller running several steps in one transaction (the demo
    data) nests one savepoint per step."""
    session.execute(_SAVEPOINT)
    try:
        decide()
    except LedgerRefusal:
        session.execute(_ROLLBACK_TO_SAVEPOINT)
        undo()
        raise
