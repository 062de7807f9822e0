"""Read-only queries of the files that leave and enter incubot: the exports and the payments file.

The ledger (storage/ledger.py) owns every state change; this module only reads, in one
SELECT each, so an export of 10⁵ rows is not 10⁵ queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Quote, ServiceDone, ServiceDoneStatus


def service_done_with_orders(*, session: Session) -> Sequence[Any]:
    """Every service done with its order, by reference (year, then number)."""
    query = (select(ServiceDone, Quote).join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
             .order_by(col(ServiceDone.year), col(ServiceDone.seq)))
    return session.exec(query).all()


def service_done_of_order(*, session: Session, quote_id: int, status: str, amount_cents: int) -> Sequence[ServiceDone]:
    """The services done of an order in ``status`` for exactly ``amount_cents``, oldest first (by reference)."""
    query = (select(ServiceDone)
             .where(col(ServiceDone.quote_id) == quote_id, col(ServiceDone.status) == status,
                    col(ServiceDone.amount_cents) == amount_cents)
             .order_by(col(ServiceDone.year), col(ServiceDone.seq)))
    return session.exec(query).all()


def payable_of_order(*, session: Session, quote_id: int, limit: int = 5) -> Sequence[ServiceDone]:
    """What an order has certified and not paid yet, oldest first (what a payment line could be)."""
    query = (select(ServiceDone)
             .where(col(ServiceDone.quote_id) == quote_id, col(ServiceDone.status) == ServiceDoneStatus.CERTIFIED.value)
             .order_by(col(ServiceDone.year), col(ServiceDone.seq)).limit(limit))
    return session.exec(query).all()


def paid_with_orders(*, session: Session) -> Sequence[Any]:
    """Every paid service done with its order, by date of payment then reference."""
    query = (select(ServiceDone, Quote).join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
             .where(col(ServiceDone.status) == ServiceDoneStatus.PAID.value)
             .order_by(col(ServiceDone.paid_on), col(ServiceDone.year), col(ServiceDone.seq)))
    return session.exec(query).all()


def service_done_by_reference(*, session: Session, reference: str) -> ServiceDone | None:
    return session.exec(select(ServiceDone).where(col(ServiceDone.reference) == reference.strip().upper())).first()
