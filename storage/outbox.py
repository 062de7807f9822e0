"""The outbox: every message the bot sends, written before it is sent.

A message is enqueued in the same transaction as the change that causes it (a
quote submitted, a decision, a reminder that came due). A sender then *claims*
it with a conditional UPDATE, sends it, and marks it sent. The unique key
(kind, target, occurrence) means it exists once; the claim means one process
sends it; a claim left by a crashed process is taken over after
``STALE_CLAIM``. So nothing is lost and, short of a crash between the platform's
answer and our ``mark_sent``, nothing is sent twice.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, OutboxStatus, PostedMessage, SeenEvent

STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def enqueue(
    *,
    session: Session,
    kind: str,
    target: str,
    occurrence: str,
    payload: dict[str, Any],
    due_at: datetime,
) -> OutboxMessage | None:
    """Add a message unless (kind, target, occurrence) already exists; None if it did."""
    existing = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.target == target, OutboxMessage.occurrence == occurrence
        )
    ).first()
    if existing is not None:
        return None
    row = OutboxMessage(
        kind=kind,
        target=target,
        occurrence=occurrence,
        due_at=due_at,
        payload=json.dumps(payload, ensure_ascii=False),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


@dataclass(frozen=True)
class NewMessage:
    """One message for :func:`enqueue_many`, the arguments of :func:`enqueue`."""

    kind: str
    target: str
    occurrence: str
    payload: dict[str, Any]
    due_at: datetime


@functools.cache
def _insert_ignoring_duplicates(dialect: str) -> Any:
    """Built once: building the statement costs more than sending it."""
    table: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_nothing(index_elements=["kind", "target", "occurrence"]).returning(table.c.id)


def enqueue_many(*, session: Session, messages: Sequence[NewMessage]) -> None:
    """Add several messages with one ``INSERT … ON CONFLICT DO NOTHING``: like :func:`enqueue`
    for each (a message whose (kind, target, occurrence) exists is skipped), in one statement
    instead of a SELECT, a SAVEPOINT, an INSERT and a RELEASE per message.

    An executemany with RETURNING: SQLAlchemy sends it as one multi-row INSERT built from its
    cached statement ("insertmanyvalues"), where ``.values([…])`` is compiled on every call.
    """
    if not messages:
        return
    session.execute(
        _insert_ignoring_duplicates(session.get_bind().dialect.name),
        [
            {"kind": m.kind, "target": m.target, "occurrence": m.occurrence, "due_at": m.due_at,
             "payload": json.dumps(m.payload, ensure_ascii=False), "status": OutboxStatus.PENDING.value,
             "attempts": 0}
            for m in messages
        ],
    )


def exists(*, session: Session, kind: str, target: str, occurrence: str) -> bool:
    return (
        session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == kind,
                OutboxMessage.target == target,
                OutboxMessage.occurrence == occurrence,
            )
        ).first()
        is not None
    )


def due_ids(*, session: Session, now: datetime, limit: int = 200, ids: Sequence[int] | None = None) -> list[int]:
    """Ids of messages that may be claimed now (due and pending, or claimed long ago)."""
    stale = now - STALE_CLAIM
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.due_at <= now,
            sa.or_(
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                sa.and_(
                    col(OutboxMessage.status) == OutboxStatus.CLAIMED.value,
                    col(OutboxMessage.claimed_at) < stale,
                ),
            ),
        )
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
    )
    if ids is not None:
        query = query.where(col(OutboxMessage.id).in_(list(ids)))
    return [i for i in session.exec(query).all() if i is not None]


def claim(*, session: Session, message_id: int, now: datetime, worker: str) -> OutboxMessage | None:
    """Take one message for sending; None if another worker has it or it is already sent."""
    stale = now - STALE_CLAIM
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,  # type: ignore[arg-type]
            OutboxMessage.due_at <= now,  # type: ignore[arg-type]
            sa.or_(
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                sa.and_(
                    col(OutboxMessage.status) == OutboxStatus.CLAIMED.value,
                    col(OutboxMessage.claimed_at) < stale,
                ),
            ),
        )
        .values(
            status=OutboxStatus.CLAIMED.value,
            claimed_at=now,
            claimed_by=worker,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def mark_sent(*, session: Session, message_id: int, now: datetime, worker: str) -> bool:
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,  # type: ignore[arg-type]
            OutboxMessage.status == OutboxStatus.CLAIMED.value,  # type: ignore[arg-type]
            OutboxMessage.claimed_by == worker,  # type: ignore[arg-type]
        )
        .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=None)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_failed(*, session: Session, message_id: int, now: datetime, worker: str, error: str) -> None:
    """Put the message back for a later try (exponential backoff), or give up after MAX_ATTEMPTS."""
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.claimed_by != worker or row.status != OutboxStatus.CLAIMED.value:
        return
    row.last_error = error[:1000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED.value
    else:
        row.status = OutboxStatus.PENDING.value
        row.due_at = now + timedelta(seconds=30 * 2 ** (row.attempts - 1))
    session.add(row)


def messages(*, session: Session, kind_prefix: str | None = None, status: str | None = None) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
    if kind_prefix is not None:
        query = query.where(col(OutboxMessage.kind).startswith(kind_prefix))
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return session.exec(query).all()


def sent_count(*, session: Session, kind_prefix: str) -> int:
    return int(
        session.exec(
            select(sa.func.count()).where(
                col(OutboxMessage.kind).startswith(kind_prefix),
                OutboxMessage.status == OutboxStatus.SENT.value,
            )
        ).one()
    )


# --------------------------------------------------------------------------- posted messages


def record_posted(
    *, session: Session, subject: str, platform: str, channel: str, message_id: str,
    person_id: str | None, now: datetime,
) -> None:
    exists_already = session.exec(
        select(PostedMessage.id).where(
            PostedMessage.platform == platform,
            PostedMessage.channel == channel,
            PostedMessage.message_id == message_id,
        )
    ).first()
    if exists_already is None:
        session.add(
            PostedMessage(
                subject=subject, platform=platform, channel=channel, message_id=message_id,
                person_id=person_id, at=now,
            )
        )


def posted_for(*, session: Session, subject: str) -> Sequence[PostedMessage]:
    return session.exec(
        select(PostedMessage).where(PostedMessage.subject == subject).order_by(col(PostedMessage.id))
    ).all()


# --------------------------------------------------------------------------- event dedupe


def first_time_seen(*, session: Session, platform: str, event_id: str, now: datetime) -> bool:
    """Record a platform event id; False if it was already recorded (a retry)."""
    if session.get(SeenEvent, (platform, event_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SeenEvent(platform=platform, event_id=event_id, at=now))
            session.flush()
    except IntegrityError:
        return False
    return True
