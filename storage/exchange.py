"""Read-only queries of the files that leave and enter incubot: the exports and the payments file.

The ledger (storage/ledger.py) owns every state change; this module only reads, in one
SELECT each, so an export of 10⁵ rows is not 10⁵ queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Quote, ServiceDone


def service_done_with_orders(*, session: Session) -> Sequence[Any]:
    """Every service done with its order, by reference (year, then number)."""
    query = (select(ServiceDone, Quote).join(Quote, col(Quote.id) == col(ServiceDone.quote_id))
             .order_by(col(ServiceDone.year), col(ServiceDone.seq)))
    return session.exec(query).all()
