"""When money may be reserved or engaged, by the convention's own rules.

:func:`check_orders_open` is the one guard: every write that validates a quote or records an
order calls it first, with its ``now`` (the handlers give it in the configured time zone: its
date is the local day) and the year the movement happens in. It raises, in this order:

* :class:`ConventionNotStarted` before ``starts``;
* :class:`ConventionEnded` after ``ends``, or after the last day of a termination recorded
  with ``incubot convention end`` (art. 7) — that day, like ``ends``, still counts;
* :class:`ConventionSuspended` while the managers have suspended the delegation (art. 5);
* :class:`OrdersClosed` after the year's ``orders_until`` (fin de gestion, default 12 December),
  with the first day the next year's allocation opens.

Payments and certifications of service done are not guarded here: a service done is a fact,
and paying what was done goes on through a suspension (art. 5).

It costs one SELECT (the convention in force with the year's ``orders_until`` and whether the
next year has an allocation, and who suspended it), built once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.errors import ConventionEnded, ConventionNotStarted, ConventionSuspended, OrdersClosed
from storage.models import Allocation, Convention, Person

ORDERS_UNTIL = (12, 12)  # (month, day): no new quote nor order after it, until the next year (DOMAIN.md)
PAYMENTS_UNTIL = (11, 30)  # no new payment after it, until the next year


def default_orders_until(year: int) -> date:
    return date(year, *ORDERS_UNTIL)


def default_payments_until(year: int) -> date:
    return date(year, *PAYMENTS_UNTIL)


@dataclass(frozen=True)
class FinDeGestion:
    """A year's last day for validations and orders, and for payments."""

    year: int
    orders_until: date
    payments_until: date


def fin_de_gestion(allocation: Allocation) -> FinDeGestion:
    """The year's dates: what the reference file says, else the defaults (12 December, 30 November)."""
    return FinDeGestion(allocation.year, allocation.orders_until or default_orders_until(allocation.year),
                        allocation.payments_until or default_payments_until(allocation.year))


def last_day(convention: Convention) -> date:
    """The convention's last day in force: its end, or the last day of its recorded termination."""
    if convention.terminated_on is not None and convention.terminated_on < convention.ends:
        return convention.terminated_on
    return convention.ends


def _table(model: type[object]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


@functools.cache
def _state() -> sa.Select[tuple[object, ...]]:
    convention, allocation, person = _table(Convention), _table(Allocation), _table(Person)
    this_year = (sa.select(allocation.c.orders_until).where(allocation.c.year == sa.bindparam("p_year"))
                 .scalar_subquery())
    has_year = sa.exists().where(allocation.c.year == sa.bindparam("p_year"))
    has_next = sa.exists().where(allocation.c.year == sa.bindparam("p_next"))
    return (sa.select(convention.c.reference, convention.c.starts, convention.c.ends, convention.c.terminated_on,
                      convention.c.termination_reason, convention.c.suspended_at,
                      sa.func.coalesce(person.c.name, convention.c.suspended_by), convention.c.suspension_reason,
                      this_year, has_year, has_next)
            .outerjoin(person, person.c.id == convention.c.suspended_by)
            .order_by(convention.c.ends.desc()).limit(1))


def check_orders_open(*, session: Session, now: datetime, year: int) -> None:
    """Raise the refusal that the convention's period, a suspension or the fin de gestion of ``year`` gives
    on the day of ``now``; return when a validation or an order may go on. No convention: nothing to say
    here (the allocation's absence refuses it)."""
    row = session.execute(_state(), {"p_year": year, "p_next": year + 1}).first()
    if row is None:
        return
    (reference, starts, ends, terminated_on, termination_reason, suspended_at, suspended_by, suspension_reason,
     orders_until, has_year, has_next) = row
    today = now.date()
    if today < starts:
        raise ConventionNotStarted(reference, starts)
    terminated = terminated_on is not None and terminated_on < ends
    ended_on = terminated_on if terminated else ends
    if today > ended_on:
        raise ConventionEnded(reference, ended_on, terminated, termination_reason if terminated else None)
    if suspended_at is not None:
        raise ConventionSuspended(reference, suspension_reason or "", suspended_at, suspended_by)
    if not has_year:
        return  # the ledger says there is no allocation
    closes = orders_until or default_orders_until(year)
    if today > closes:
        opens = date(year + 1, 1, 1)
        if opens > ended_on:
            raise OrdersClosed(year, closes, None, bool(has_next), ended_on)
        raise OrdersClosed(year, closes, opens if has_next else None, bool(has_next))


def fin_de_gestion_dates(*, session: Session, on_or_after: date) -> list[FinDeGestion]:
    """The dates of every allocation year from ``on_or_after``'s year on, oldest first."""
    rows = session.exec(select(Allocation).where(Allocation.year >= on_or_after.year)
                        .order_by(col(Allocation.year))).all()
    return [fin_de_gestion(row) for row in rows]
