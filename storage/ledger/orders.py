"""Orders: the bon de commande (``commande REF; EJ …``) and the closing (``solder REF``).

* **Placing the order** of a validated quote, in year O: its AE réservées become **engagées**
  of O. Validated in December (year V) and ordered in January, the reservation moves: V's AE
  are released and O's taken, guarded by O's ceiling, in one UPDATE. The order's amount joins
  the **restes à payer** of O.
* **Closing** an order in year K: what was never certified (``amount - certified``) is
  released. Closed in the order's year (K = O), those AE are free again for that year (AE
  engagées and committed go down). Closed a later year (K > O), O's accounts are over: its AE
  engagées stay as they were (not re-usable, as in CHORUS), and only the restes à payer of O
  drop — the released part is kept on the quote (``released_cents``) and in the audit row.
  What was certified and not paid yet stays in the restes à payer until it is paid.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import committees, rules
from storage.errors import EJAlreadyUsed, InvalidEJ, ServiceDoneWaiting, WrongStatus
from storage.ledger.quotes import quote_state
from storage.ledger.subjects import Subject, load_quote, refuse_from_what_was_left, require_status
from storage.ledger.writes import (
    Then,
    audit_row,
    claim,
    merge,
    move_allocations,
    move_startup_totals,
    set_loaded,
    snapshot,
    under_savepoint,
    write_audit,
)
from storage.models import Quote, QuoteStatus, ServiceDone, ServiceDoneStatus

EJ_DIGITS = 10
MAX_BC = 40
_EJ = re.compile(r"\d{10}")


def normalize_ej(text: str) -> str:
    """An EJ as typed (``21 0012 3456``, ``2100123456``) → its ten digits; :class:`InvalidEJ` otherwise."""
    digits = re.sub(r"[\s.\-]", "", text or "")
    if not _EJ.fullmatch(digits):
        raise InvalidEJ((text or "").strip()[:40])
    return digits


def order_with_ej(*, session: Session, ej: str) -> Quote | None:
    return session.exec(select(Quote).where(Quote.ej == ej)).first()


def waiting_service_done(*, session: Session, quote_id: int, limit: int = 5) -> list[str]:
    """References of the service done still waiting for certification on an order."""
    return list(session.exec(
        select(ServiceDone.reference).where(ServiceDone.quote_id == quote_id,
                                            ServiceDone.status == ServiceDoneStatus.PENDING.value)
        .order_by(col(ServiceDone.id)).limit(limit)
    ).all())


def _step(session: Session, quote: Quote, *, actor_id: str, platform: str, now: datetime, action: str,
          step: str, from_status: str, values: dict[str, Any], then: Then | None, moves: Any) -> Quote:
    """One step of an order: audit, ``then``, the guarded status change from ``from_status``, the
    startup's counters, the year counters last; rolled back whole when a guard says no."""
    before = quote_state(quote)
    undone = snapshot(quote, values)

    def run() -> None:
        set_loaded(quote, values)
        write_audit(session, [audit_row(now=now, actor_id=actor_id, platform=platform, action=action,
                                        subject=quote.reference, before=before, after=quote_state(quote))])
        if then is not None:
            then()
        if not claim(session, Quote, quote.id or 0, values, statuses=(from_status,)):
            raise WrongStatus(quote.reference, "", step)
        startup_moves, allocation_moves = moves
        move_startup_totals(session, quote.startup_id, startup_moves, at=now)
        move_allocations(session, allocation_moves)

    try:
        under_savepoint(session, run, lambda: set_loaded(quote, undone))
    except WrongStatus:
        session.refresh(quote)  # changed meanwhile by someone else
        raise WrongStatus(quote.reference, quote.status, step) from None
    return quote


def place_order(
    *, session: Session, reference: str, ej: str, bc: str | None, actor_id: str, platform: str, now: datetime,
    year: int, subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Record the bon de commande of a validated quote in ``year``: AE réservées → **engagées**.

    ``ej``: the engagement juridique, ten digits (spaces allowed); ``bc``: the order's number,
    optional. When the quote was validated another year, its reservation moves to ``year``,
    guarded by that year's AE. ``subject``/``then``: as for :func:`validate_quote`.
    """
    rules.check_orders_open(session=session, now=now, year=year)
    digits = normalize_ej(ej)
    bc = (bc or "").strip()[:MAX_BC] or None
    subject = subject or load_quote(session=session, reference=reference, year=year)
    quote = subject.quote
    require_status(quote, (QuoteStatus.VALIDATED.value,), "order")
    other = order_with_ej(session=session, ej=digits)
    if other is not None and other.id != quote.id:
        raise EJAlreadyUsed(digits, other.reference)
    amount, reserved_in = quote.amount_cents, quote.commitment_year or year
    if reserved_in != year:
        refuse_from_what_was_left(subject, "ae", year, amount)
    values = {"status": QuoteStatus.ORDERED.value, "ej": digits, "bc": bc, "ordered_at": now,
              "ordered_by": actor_id, "commitment_year": year}
    startup = merge((reserved_in, "reserved_cents", -amount), (year, "engaged_cents", amount),
                    (year, "restes_cents", amount))
    allocations = merge((reserved_in, "ae_committed_cents", -amount), (year, "ae_committed_cents", amount),
                        (year, "ae_engaged_cents", amount), (year, "restes_cents", amount))
    return _step(session, quote, actor_id=actor_id, platform=platform, now=now, action="quote.ordered",
                 step="order", from_status=QuoteStatus.VALIDATED.value, values=values, then=then,
                 moves=(startup, allocations))


def close_order(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int,
    reason: str | None = None, subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Close (solder) an order in ``year``: what was never certified is released — re-usable AE
    when ``year`` is the order's year, only out of the restes à payer otherwise (module docstring).
    Refused while a service done on it waits for certification (:class:`ServiceDoneWaiting`)."""
    subject = subject or load_quote(session=session, reference=reference)
    quote = subject.quote
    require_status(quote, (QuoteStatus.ORDERED.value,), "close")
    waiting = waiting_service_done(session=session, quote_id=quote.id or 0)
    if waiting:
        raise ServiceDoneWaiting(quote.reference, tuple(waiting))
    released, ordered_in = quote.amount_cents - quote.certified_cents, quote.commitment_year or year
    values = {"status": QuoteStatus.CLOSED.value, "closed_at": now, "closed_by": actor_id,
              "close_reason": (reason or "").strip()[:1000] or None, "released_cents": released}
    if year == ordered_in:
        startup = merge((ordered_in, "engaged_cents", -released), (ordered_in, "restes_cents", -released))
        allocations = merge((ordered_in, "ae_committed_cents", -released), (ordered_in, "ae_engaged_cents", -released),
                            (ordered_in, "restes_cents", -released))
    else:
        startup = merge((ordered_in, "restes_cents", -released))
        allocations = merge((ordered_in, "restes_cents", -released))
    closed = _step(session, quote, actor_id=actor_id, platform=platform, now=now, action="quote.closed",
                   step="close", from_status=QuoteStatus.ORDERED.value, values=values, then=then,
                   moves=(startup, allocations))
    if year == ordered_in:  # re-usable AE are re-usable within the startup's envelope too
        committees.release(session=session, quote_id=quote.id or 0, amount_cents=released)
    return closed

