"""References ``D-YYYY-NNNN`` / ``SF-YYYY-NNNN``, from ``reference_counter``.

Moved by a guarded UPDATE in the transaction that inserts the numbered row: no two submissions
get the same number, and a rolled-back one gives its number back.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.ledger.writes import dialect, table
from storage.models import Quote, ReferenceCounter, ServiceDone

QUOTE_PREFIX = "D"
SERVICE_DONE_PREFIX = "SF"


@functools.cache
def _bump_counter() -> sa.Update:
    counter = table(ReferenceCounter)
    return (
        sa.update(counter)
        .where(counter.c.prefix == sa.bindparam("p_prefix"), counter.c.year == sa.bindparam("p_year"))
        .values(last=counter.c.last + sa.bindparam("p_count", type_=sa.Integer))
        .returning(counter.c.last)
    )


@functools.cache
def _create_counter(dialect_name: str, prefix: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` of a year's counter row, at what the year already numbers."""
    counter = table(ReferenceCounter)
    numbered = table(Quote if prefix == QUOTE_PREFIX else ServiceDone)
    already = sa.select(sa.func.coalesce(sa.func.max(numbered.c.seq), 0)).where(
        numbered.c.year == sa.bindparam("p_year"))
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(counter)
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
        session.execute(_create_counter(dialect(session), prefix), {"p_year": year})
        last = session.execute(_bump_counter(), params).scalar_one()
    return int(last) - count + 1


def insert_numbered(session: Session, row: Quote | ServiceDone, prefix: str, year: int) -> None:
    """Give ``row`` the next ``PREFIX-YYYY-NNNN`` of ``year`` (its counter row) and insert it."""
    seq = reserve_numbers(session=session, prefix=prefix, year=year)
    row.year = year
    row.seq = seq
    row.reference = f"{prefix}-{year}-{seq:04d}"
    session.add(row)
    session.flush()
