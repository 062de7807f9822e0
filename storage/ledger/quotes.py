"""Quotes: submission, and the decisions on a pending one — validation (AE réservées), refusal,
withdrawal.

A decision costs the floor of statements: SAVEPOINT, one INSERT of its audit row, the caller's
INSERT of messages (``then``), the guarded status UPDATE (its trigger moves the startup's
``pending_total``), the startup's counters (one upsert), the guarded AE UPDATE — the rows every
decision locks for everyone last, so each is held for one statement and the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage import committees, rules
from storage.errors import AlreadyDecided, NotFound
from storage.ledger.numbering import QUOTE_PREFIX, insert_numbered
from storage.ledger.subjects import Subject, already_decided, load_quote, refuse_from_what_was_left
from storage.ledger.writes import (
    Then,
    audit_row,
    claim,
    merge,
    move_allocations,
    move_month,
    move_startup_totals,
    pending_moves,
    record_audit,
    set_loaded,
    snapshot,
    under_savepoint,
    write_audit,
)
from storage.models import Quote, QuoteStatus, Startup


def quote_state(quote: Quote) -> dict[str, Any]:
    """What the audit trail keeps of a quote, before and after each step."""
    state = {
        "status": quote.status,
        "amount_cents": quote.amount_cents,
        "decided_by": quote.decided_by,
        "commitment_year": quote.commitment_year,
        "refusal_reason": quote.refusal_reason,
        "certified_cents": quote.certified_cents,
    }
    if quote.status in (QuoteStatus.ORDERED, QuoteStatus.CLOSED):
        state.update(ej=quote.ej, bc=quote.bc, paid_cents=quote.paid_cents)
    if quote.status == QuoteStatus.CLOSED:
        state.update(released_cents=quote.released_cents, close_reason=quote.close_reason)
    return state


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
    insert_numbered(session, quote, QUOTE_PREFIX, year)
    move_month(session, startup_id, pending_moves(quote, 1), at=now)
    record_audit(
        session=session,
        at=now,
        actor_id=submitted_by,
        platform=platform,
        action="quote.submitted",
        subject=quote.reference,
        after={**quote_state(quote), "startup_id": startup_id, "supplier": supplier, "object": object},
    )
    return quote


def _decide_quote(
    session: Session, *, quote: Quote, actor_id: str, platform: str, now: datetime, status: QuoteStatus,
    reserve_year: int | None, then: Then | None, envelope: bool = False, **values: Any,
) -> Quote:
    """Move a pending quote to ``status`` (once), reserve its AE in ``reserve_year`` if given, audit it."""
    if quote.status != QuoteStatus.PENDING.value:
        raise already_decided(quote)
    decided = {"status": status.value, "decided_by": actor_id, "decided_at": now, **values}
    before = quote_state(quote)
    undecided = snapshot(quote, decided)

    def decide() -> None:
        set_loaded(quote, decided)
        write_audit(session, [audit_row(now=now, actor_id=actor_id, platform=platform,
                                        action=f"quote.{status.value}", subject=quote.reference, before=before,
                                        after=quote_state(quote))])
        if then is not None:
            then()
        if not claim(session, Quote, quote.id or 0, decided):
            raise AlreadyDecided(quote.reference, "", None, None)
        if reserve_year is None:
            move_month(session, quote.startup_id, pending_moves(quote, -1), at=now)
        else:
            # the startup's envelope (committee decision), then the year's AE: either guard undoes both
            if envelope:
                committees.reserve(session=session, startup_id=quote.startup_id, quote_id=quote.id or 0,
                                   amount_cents=quote.amount_cents, now=now)
            move_startup_totals(session, quote.startup_id, merge((reserve_year, "reserved_cents", quote.amount_cents)),
                                at=now, pending=pending_moves(quote, -1))
            move_allocations(session, merge((reserve_year, "ae_committed_cents", quote.amount_cents)))

    try:
        under_savepoint(session, decide, lambda: set_loaded(quote, undecided))
    except AlreadyDecided:
        session.refresh(quote)  # decided meanwhile by someone else: say by whom
        raise already_decided(quote) from None
    return quote


def validate_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int,
    subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Validate a pending quote: its amount becomes AE **réservées** of ``year``, never past the
    year's AE (the guarded UPDATE decides, under concurrent clicks too).

    ``subject``: the quote already loaded (:func:`load_quote`), not read again. ``then``: called
    once the quote shows its decision, before the AE move, in the same transaction — to enqueue
    what the decision causes; rolled back with it if the AE refuse.
    """
    subject = subject or load_quote(session=session, reference=reference, year=year)
    if subject.status != QuoteStatus.PENDING.value:
        raise already_decided(subject.row)
    rules.check_orders_open(session=session, now=now, year=year)  # the convention's period, suspension, fin de gestion
    refuse_from_what_was_left(subject, "ae", year, subject.quote.amount_cents)
    return _decide_quote(session, quote=subject.quote, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.VALIDATED, reserve_year=year, then=then, commitment_year=year,
                         envelope=subject.has_envelope)


def refuse_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime,
    subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Refuse a pending quote with its reason; nothing is reserved. ``subject``, ``then``: as for validation."""
    subject = subject or load_quote(session=session, reference=reference)
    return _decide_quote(session, quote=subject.quote, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.REFUSED, reserve_year=None, then=then, refusal_reason=reason)


def withdraw_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, reason: str | None = None,
    subject: Subject | None = None, then: Then | None = None,
) -> Quote:
    """Withdraw a pending quote (its submitter or a manager: the caller checks who): it ends,
    nothing was reserved. A decided one raises :class:`AlreadyDecided`."""
    subject = subject or load_quote(session=session, reference=reference)
    values: dict[str, Any] = {"refusal_reason": reason} if reason else {}
    return _decide_quote(session, quote=subject.quote, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.WITHDRAWN, reserve_year=None, then=then, **values)
