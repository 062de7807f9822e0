"""Service done: filing it on an order, certifying it (CP **à payer**), refusing it, paying it
(CP **consommés**).

* Filed on a validated quote (AE réservées, order not recorded yet) or an ordered one, up to
  what the order has not certified nor asked to certify yet.
* Certified in year C: the order's certified total grows (never past its amount), and C's CP
  *à payer*. A certification is a fact: it is never refused for lack of CP; the caller learns
  what the year's CP have left once all that is certified is paid (``on_cp``), to alert.
* Paid on a date of year Y: à payer of C → consommés of Y, guarded by Y's CP; the order's
  restes à payer (its year's counter) drop by the amount. Only an order with its bon de
  commande (EJ) is paid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.errors import AlreadyDecided, ExceedsOrder, OrderNotPlaced, QuoteNotValidated, WrongStatus
from storage.ledger.numbering import SERVICE_DONE_PREFIX, insert_numbered
from storage.ledger.subjects import (
    Subject,
    already_decided,
    get_quote,
    load_service_done,
    refuse_from_what_was_left,
    require_status,
)
from storage.ledger.writes import (
    Then,
    audit_row,
    claim,
    merge,
    move_allocations,
    move_startup_totals,
    record_audit,
    set_loaded,
    snapshot,
    table,
    under_savepoint,
    write_audit,
)
from storage.models import OPEN_ORDER_STATUSES, Quote, QuoteStatus, ServiceDone, ServiceDoneStatus

# Orders whose service done may be paid: the bon de commande is recorded (an invoice needs the EJ).
PAYABLE_ORDER_STATUSES = (QuoteStatus.ORDERED.value, QuoteStatus.CLOSED.value)


def pending_service_done_cents(*, session: Session, quote_id: int) -> int:
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(ServiceDone.amount_cents), 0)).where(
            ServiceDone.quote_id == quote_id, ServiceDone.status == ServiceDoneStatus.PENDING.value
        )
    ).one()
    return int(total)


def service_done_state(row: ServiceDone) -> dict[str, Any]:
    state = {
        "status": row.status,
        "amount_cents": row.amount_cents,
        "decided_by": row.decided_by,
        "consumption_year": row.consumption_year,
        "refusal_reason": row.refusal_reason,
    }
    if row.status == ServiceDoneStatus.PAID:
        state.update(paid_on=row.paid_on.isoformat() if row.paid_on else None, payment_year=row.payment_year,
                     paid_by=row.paid_by)
    return state


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
    """A new pending certification ``SF-<year>-NNNN`` on a validated or ordered quote.

    Refused at once when the order cannot cover it (what is certified plus what is
    already waiting for certification).
    """
    quote = get_quote(session=session, reference=quote_reference)
    if quote.status not in OPEN_ORDER_STATUSES:
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
    insert_numbered(session, row, SERVICE_DONE_PREFIX, year)
    record_audit(session=session, at=now, actor_id=submitted_by, platform=platform,
                 action="service_done.submitted", subject=row.reference,
                 after={**service_done_state(row), "quote": quote.reference, "period": period})
    record_audit(session=session, at=now, actor_id=submitted_by, platform=platform,
                 action="service_done.submitted", subject=quote.reference,
                 after={"service_done": row.reference, "amount_cents": amount_cents, "period": period})
    return row, quote


@functools.cache
def _add_to_order(column: str, ceiling: str) -> sa.Update:
    """``UPDATE quote SET column = column + :a WHERE id = :id AND status IN (…) AND column + :a <= ceiling``."""
    quotes = table(Quote)
    amount = sa.bindparam("p_amount", type_=sa.BigInteger)
    statuses = OPEN_ORDER_STATUSES if column == "certified_cents" else PAYABLE_ORDER_STATUSES
    return (
        sa.update(quotes)
        .where(quotes.c.id == sa.bindparam("p_id"), quotes.c.status.in_(statuses),
               quotes.c[column] + amount <= quotes.c[ceiling])
        .values({column: quotes.c[column] + amount})
        .returning(quotes.c[column])
    )


def _certify_on_order(session: Session, quote: Quote, amount_cents: int) -> int:
    """Add ``amount_cents`` to what the order has certified, never past its amount; the new total."""
    certified = session.execute(_add_to_order("certified_cents", "amount_cents"),
                                {"p_id": quote.id, "p_amount": amount_cents}).scalar()
    if certified is None:
        session.refresh(quote)
        if quote.status not in OPEN_ORDER_STATUSES:
            raise QuoteNotValidated(quote.reference, quote.status)
        raise ExceedsOrder(quote.reference, amount_cents, quote.amount_cents - quote.certified_cents)
    return int(certified)


def _pay_on_order(session: Session, quote: Quote, amount_cents: int, reference: str) -> int:
    paid = session.execute(_add_to_order("paid_cents", "certified_cents"),
                           {"p_id": quote.id, "p_amount": amount_cents}).scalar()
    if paid is None:
        raise OrderNotPlaced(reference, quote.reference)
    return int(paid)


def _decide_service_done(
    session: Session, *, row: ServiceDone, quote: Quote, actor_id: str, platform: str, now: datetime,
    status: ServiceDoneStatus, certify_year: int | None, then: Then | None,
    on_cp: Callable[[int], None] | None = None, **values: Any,
) -> tuple[ServiceDone, Quote]:
    """Move a pending service done to ``status`` (once); with ``certify_year``, certify it on the
    order and put CP à payer in that year. Audited on the service done and on its quote.

    Statements: SAVEPOINT, the guarded status UPDATE, the guarded order UPDATE (RETURNING what
    is now certified, for the audit), one INSERT of both audit rows, ``then``'s, the startup's
    counters, the year's CP à payer last (RETURNING what the year can still pay).
    """
    if row.status != ServiceDoneStatus.PENDING.value:
        raise already_decided(row)
    decided = {"status": status.value, "decided_by": actor_id, "decided_at": now, **values}
    before = service_done_state(row)
    undecided = snapshot(row, decided)
    certified_before = quote.certified_cents
    action = f"service_done.{status.value}"

    def decide() -> None:
        if not claim(session, ServiceDone, row.id or 0, decided):
            raise AlreadyDecided(row.reference, "", None, None)
        if certify_year is not None:
            set_loaded(quote, {"certified_cents": _certify_on_order(session, quote, row.amount_cents)})
        set_loaded(row, decided)
        on_quote: dict[str, Any] = {"service_done": row.reference}
        if certify_year is not None:
            on_quote["certified_cents"] = quote.certified_cents
        else:
            on_quote["refusal_reason"] = row.refusal_reason
        write_audit(session, [
            audit_row(now=now, actor_id=actor_id, platform=platform, action=action, subject=row.reference,
                      before=before, after=service_done_state(row)),
            audit_row(now=now, actor_id=actor_id, platform=platform, action=action, subject=quote.reference,
                      before=None, after=on_quote),
        ])
        if then is not None:
            then()
        if certify_year is not None:
            move_startup_totals(session, quote.startup_id, merge((certify_year, "to_pay_cents", row.amount_cents)),
                                at=now)
            left = move_allocations(session, merge((certify_year, "cp_to_pay_cents", row.amount_cents)))
            if on_cp is not None:
                on_cp(left[certify_year])

    def undo() -> None:
        set_loaded(row, undecided)
        set_loaded(quote, {"certified_cents": certified_before})

    try:
        under_savepoint(session, decide, undo)
    except AlreadyDecided:
        session.refresh(row)  # decided meanwhile by someone else: say by whom
        session.refresh(quote)
        raise already_decided(row) from None
    return row, quote


def certify_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int,
    subject: Subject | None = None, then: Then | None = None, on_cp: Callable[[int], None] | None = None,
) -> tuple[ServiceDone, Quote]:
    """Certify a pending service done: CP **à payer** in ``year``, up to what the order has left.

    Never refused for lack of CP. ``on_cp``: called with what the year's CP have left once every
    certified service done is paid (negative: the year cannot pay what is certified — alert).
    ``subject``: already loaded (:func:`load_service_done`); ``then``: as for
    :func:`validate_quote`, called before the counters move.
    """
    subject = subject or load_service_done(session=session, reference=reference, year=year)
    row, quote = subject.row, subject.quote
    assert isinstance(row, ServiceDone)
    if row.status != ServiceDoneStatus.PENDING.value:
        raise already_decided(row)
    if quote.status not in OPEN_ORDER_STATUSES:
        raise QuoteNotValidated(quote.reference, quote.status)
    if quote.certified_cents + row.amount_cents > quote.amount_cents:
        raise ExceedsOrder(quote.reference, row.amount_cents, quote.amount_cents - quote.certified_cents)
    if subject.year == year and subject.left is None:
        from storage.errors import NoAllocation

        raise NoAllocation(year)
    return _decide_service_done(session, row=row, quote=quote, actor_id=actor_id, platform=platform, now=now,
                                status=ServiceDoneStatus.CERTIFIED, certify_year=year, then=then, on_cp=on_cp,
                                consumption_year=year)


def refuse_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime,
    subject: Subject | None = None, then: Then | None = None,
) -> tuple[ServiceDone, Quote]:
    """Refuse a pending service done with its reason; nothing is counted."""
    subject = subject or load_service_done(session=session, reference=reference)
    assert isinstance(subject.row, ServiceDone)
    return _decide_service_done(session, row=subject.row, quote=subject.quote, actor_id=actor_id,
                                platform=platform, now=now, status=ServiceDoneStatus.REFUSED, certify_year=None,
                                then=then, refusal_reason=reason)


def record_payment(
    *, session: Session, reference: str, paid_on: date, actor_id: str, platform: str, now: datetime,
    subject: Subject | None = None, then: Then | None = None,
) -> tuple[ServiceDone, Quote]:
    """Record the payment of a certified service done on ``paid_on``: its CP à payer (year of
    certification) become CP **consommés** of ``paid_on``'s year, guarded by that year's CP; the
    order's paid total grows and its restes à payer drop.

    Refused (nothing written): not certified (:class:`WrongStatus`, step ``pay``), order without
    its bon de commande (:class:`OrderNotPlaced`), the year's CP short (:class:`InsufficientCredits`).
    """
    year = paid_on.year
    subject = subject or load_service_done(session=session, reference=reference, year=year)
    row, quote = subject.row, subject.quote
    assert isinstance(row, ServiceDone)
    require_status(row, (ServiceDoneStatus.CERTIFIED.value,), "pay")
    if quote.status not in PAYABLE_ORDER_STATUSES:
        raise OrderNotPlaced(row.reference, quote.reference)
    amount = row.amount_cents
    refuse_from_what_was_left(subject, "cp", year, amount)
    values = {"status": ServiceDoneStatus.PAID.value, "paid_on": paid_on, "payment_year": year, "paid_at": now,
              "paid_by": actor_id}
    before = service_done_state(row)
    undone, paid_before = snapshot(row, values), quote.paid_cents
    certified_in, ordered_in = row.consumption_year or year, quote.commitment_year or year

    def pay() -> None:
        if not claim(session, ServiceDone, row.id or 0, values, statuses=(ServiceDoneStatus.CERTIFIED.value,)):
            raise WrongStatus(row.reference, "", "pay")
        set_loaded(quote, {"paid_cents": _pay_on_order(session, quote, amount, row.reference)})
        set_loaded(row, values)
        write_audit(session, [
            audit_row(now=now, actor_id=actor_id, platform=platform, action="service_done.paid",
                      subject=row.reference, before=before, after=service_done_state(row)),
            audit_row(now=now, actor_id=actor_id, platform=platform, action="service_done.paid",
                      subject=quote.reference, before=None,
                      after={"service_done": row.reference, "paid_cents": quote.paid_cents,
                             "paid_on": paid_on.isoformat()}),
        ])
        if then is not None:
            then()
        move_startup_totals(session, quote.startup_id, merge(
            (certified_in, "to_pay_cents", -amount), (year, "paid_cents", amount),
            (ordered_in, "restes_cents", -amount)), at=now)
        move_allocations(session, merge(
            (certified_in, "cp_to_pay_cents", -amount), (year, "cp_consumed_cents", amount),
            (ordered_in, "restes_cents", -amount)))

    def undo() -> None:
        set_loaded(row, undone)
        set_loaded(quote, {"paid_cents": paid_before})

    try:
        under_savepoint(session, pay, undo)
    except WrongStatus:
        session.refresh(row)
        raise WrongStatus(row.reference, row.status, "pay") from None
    return row, quote
