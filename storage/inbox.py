"""The inbox: requests acknowledged before their work is done, stored first.

``store`` runs in its own short transaction before the ack; a second ``store`` of the
same (platform, key) — a replay, a platform's retry — returns None and stores nothing.
Workers ``claim`` a row with a conditional UPDATE, process it, ``mark_done``; a row
claimed by a process that died is taken over after ``STALE_CLAIM``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import InboxItem, InboxStatus

STALE_CLAIM = timedelta(minutes=2)


def store(*, session: Session, platform: str, key: str, kind: str, payload: dict[str, Any],
          now: datetime) -> InboxItem | None:
    """Keep a request for processing; None if (platform, key) was already stored (a replay)."""
    row = InboxItem(platform=platform, key=key[:128], kind=kind,
                    payload=json.dumps(payload, ensure_ascii=False), received_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def pending_count(*, session: Session) -> int:
    """How many stored requests are not processed yet (pending or claimed)."""
    return int(
        session.exec(
            select(sa.func.count()).where(
                col(InboxItem.status).in_([InboxStatus.PENDING.value, InboxStatus.CLAIMED.value])
            )
        ).one()
    )
