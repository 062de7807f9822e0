"""Quotes, service done and the AE/CP counters: every money rule of the convention.

Each decision is one transaction made of guarded statements:

* the request changes status only if it is still pending (a double click or two
  intrapreneurs at once decide it once);
* the year's counter moves only if it stays under the allocation
  (``UPDATE allocation SET x = x + :a WHERE year = :y AND x + :a <= ceiling``);
* the audit row is written in the same transaction.

No row updated means "refused"; the caller's unit of work then rolls everything
back. The CHECK constraints of :mod:`storage.models` are the backstop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import (
    AlreadyDecided,
    ExceedsOrder,
    InsufficientCredits,
    NoAllocation,
    NotFound,
    QuoteNotValidated,
)
from storage.models import (
    Allocation,
    AuditEvent,
    PendingTotal,
    Quote,
    QuoteStatus,
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


def _insert_numbered(session: Session, row: Quote | ServiceDone, prefix: str, year: int) -> None:
    """Give ``row`` the next ``PREFIX-YYYY-NNNN`` of ``year`` and insert it.

    On SQLite the write lock taken at BEGIN serialises this; on PostgreSQL two
    transactions may pick the same number, and the loser retries on the unique key.
    """
    table = type(row)
    for _attempt in range(20):
        last = session.exec(select(sa.func.max(table.seq)).where(table.year == year)).one()
        seq = (last or 0) + 1
        row.year = year
        row.seq = seq
        row.reference = f"{prefix}-{year}-{seq:04d}"
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return
        except IntegrityError:
            session.expunge(row) if row in session else None
            continue
    raise RuntimeError(f"could not allocate a {prefix} reference for {year}")


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


def _claim_pending(session: Session, table: type[Quote] | type[ServiceDone], row_id: int, **values: Any) -> bool:
    result = session.execute(
        sa.update(table)
        .where(table.id == row_id, table.status == "pending")  # type: ignore[arg-type]
        .values(**values)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _already_decided(session: Session, row: Quote | ServiceDone) -> AlreadyDecided:
    session.refresh(row)
    return AlreadyDecided(row.reference, row.status, row.decided_by, row.decided_at)


def _allocation(session: Session, year: int) -> Allocation | None:
    return session.exec(select(Allocation).where(Allocation.year == year)).first()


def _move_counter(session: Session, *, year: int, kind: str, amount_cents: int) -> None:
    """Add ``amount_cents`` to the year's AE committed or CP consumed, never past the ceiling."""
    if kind == "ae":
        counter, ceiling = Allocation.ae_committed_cents, Allocation.ae_cents
    else:
        counter, ceiling = Allocation.cp_consumed_cents, Allocation.cp_cents
    result = session.execute(
        sa.update(Allocation)
        .where(Allocation.year == year, counter + amount_cents <= ceiling)  # type: ignore[arg-type,operator]
        .values({counter: counter + amount_cents})
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    allocation = _allocation(session, year)
    if allocation is None:
        raise NoAllocation(year)
    session.refresh(allocation)
    if kind == "ae":
        available = allocation.ae_cents - allocation.ae_committed_cents
    else:
        available = allocation.cp_cents - allocation.cp_consumed_cents
    raise InsufficientCredits(kind, year, amount_cents, available)


def _decide_quote(
    session: Session, *, reference: str, actor_id: str, platform: str, now: datetime, status: QuoteStatus,
    commit_year: int | None = None, **values: Any,
) -> Quote:
    """Move a pending quote to ``status`` (once), commit its AE if ``commit_year``, audit it."""
    quote = get_quote(session=session, reference=reference)
    before = _quote_state(quote)
    if not _claim_pending(session, Quote, quote.id or 0, status=status.value, decided_by=actor_id, decided_at=now,
                          **values):
        raise _already_decided(session, quote)
    if commit_year is not None:
        _move_counter(session, year=commit_year, kind="ae", amount_cents=quote.amount_cents)
    session.refresh(quote)
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform, action=f"quote.{status.value}",
                 subject=quote.reference, before=before, after=_quote_state(quote))
    return quote


def validate_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int
) -> Quote:
    """Validate a pending quote and commit its amount against the AE of ``year``."""
    return _decide_quote(session, reference=reference, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.VALIDATED, commit_year=year, commitment_year=year)


def refuse_quote(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime
) -> Quote:
    """Refuse a pending quote with its reason; nothing is committed."""
    return _decide_quote(session, reference=reference, actor_id=actor_id, platform=platform, now=now,
                         status=QuoteStatus.REFUSED, refusal_reason=reason)


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


def _consume_order(session: Session, quote: Quote, amount_cents: int) -> None:
    """Add ``amount_cents`` to what the order has certified, never past its amount."""
    result = session.execute(
        sa.update(Quote)
        .where(
            Quote.id == quote.id,  # type: ignore[arg-type]
            Quote.status == QuoteStatus.VALIDATED.value,  # type: ignore[arg-type]
            col(Quote.certified_cents) + amount_cents <= col(Quote.amount_cents),
        )
        .values(certified_cents=Quote.certified_cents + amount_cents)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(quote)
        raise ExceedsOrder(quote.reference, amount_cents, quote.amount_cents - quote.certified_cents)


def _decide_service_done(
    session: Session, *, reference: str, actor_id: str, platform: str, now: datetime,
    status: ServiceDoneStatus, consume_year: int | None = None, **values: Any,
) -> tuple[ServiceDone, Quote]:
    """Move a pending service done to ``status`` (once); with ``consume_year``, certify it on the
    order and consume CP of that year. Audited on the service done and on its quote."""
    row = get_service_done(session=session, reference=reference)
    quote = session.get(Quote, row.quote_id)
    assert quote is not None  # foreign key
    before = _service_done_state(row)
    if not _claim_pending(session, ServiceDone, row.id or 0, status=status.value, decided_by=actor_id,
                          decided_at=now, **values):
        raise _already_decided(session, row)
    if consume_year is not None:
        _consume_order(session, quote, row.amount_cents)
        _move_counter(session, year=consume_year, kind="cp", amount_cents=row.amount_cents)
    session.refresh(row)
    session.refresh(quote)
    action = f"service_done.{status.value}"
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform, action=action,
                 subject=row.reference, before=before, after=_service_done_state(row))
    on_quote: dict[str, Any] = {"service_done": row.reference}
    if consume_year is not None:
        on_quote["certified_cents"] = quote.certified_cents
    else:
        on_quote["refusal_reason"] = row.refusal_reason
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform, action=action,
                 subject=quote.reference, after=on_quote)
    return row, quote


def certify_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, now: datetime, year: int
) -> tuple[ServiceDone, Quote]:
    """Certify a pending service done: consumes CP of ``year``, up to what the order has left."""
    return _decide_service_done(session, reference=reference, actor_id=actor_id, platform=platform, now=now,
                                status=ServiceDoneStatus.CERTIFIED, consume_year=year, consumption_year=year)


def refuse_service_done(
    *, session: Session, reference: str, actor_id: str, platform: str, reason: str, now: datetime
) -> tuple[ServiceDone, Quote]:
    """Refuse a pending service done with its reason; no CP is consumed."""
    return _decide_service_done(session, reference=reference, actor_id=actor_id, platform=platform, now=now,
                                status=ServiceDoneStatus.REFUSED, refusal_reason=reason)


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
