"""The inbox: requests acknowledged before their work is done, stored first.

``store`` runs in its own short transaction before the ack; a second ``store`` of the
same (platform, key) — a replay, a platform's retry — returns None and stores nothing.
Workers ``claim`` a row with a conditional UPDATE (pending → claimed), do its work and,
in the work's own transaction, ``mark_answering`` (the answer to send is kept in the row),
send the answer, ``mark_done``. A row claimed by a process that died is taken over after
``STALE_CLAIM`` (or at once when the process is known dead); a row whose work is committed
is taken over for its answer only, so the work runs once. A row that keeps failing is
``failed`` after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import InboxItem, InboxStatus

STALE_CLAIM = timedelta(minutes=2)
MAX_ATTEMPTS = 5  # then the row is failed (logged at ERROR), never retried forever
ACTIVE = (InboxStatus.PENDING.value, InboxStatus.CLAIMED.value, InboxStatus.ANSWERING.value)


def pending_count(*, session: Session) -> int:
    """How many stored requests are not processed yet (pending, claimed, or their answer still to send)."""
    return int(session.exec(select(sa.func.count()).where(col(InboxItem.status).in_(ACTIVE))).one())


# --------------------------------------------------------------------------- the fast path of an ack

@functools.cache
def _insert_once(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (platform, key) DO NOTHING RETURNING id``, built once."""
    table: sa.Table = InboxItem.__table__  # type: ignore[attr-defined]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_nothing(index_elements=["platform", "key"]).returning(table.c.id)


def put(*, session: Session | sa.Connection, platform: str, key: str, kind: str, payload: dict[str, Any], now: datetime,
        status: InboxStatus = InboxStatus.PENDING) -> int | None:
    """Like :func:`store` in one statement (no SAVEPOINT): the id of the new row, None for a replay.

    ``status=DONE`` only consumes the key (a Mattermost dialog's nonce); ``ANSWERING`` stores work
    already committed whose answer is still to send (a Slack modal's confirmation). ``session`` may
    be a bare connection: the ack's own transaction then costs no ORM session.
    """
    dialect = session.dialect if isinstance(session, sa.Connection) else session.get_bind().dialect
    row = session.execute(
        _insert_once(dialect.name),
        {"platform": platform, "key": key[:128], "kind": kind, "payload": json.dumps(payload, ensure_ascii=False),
         "status": status.value, "attempts": 0, "received_at": now,
         "done_at": now if status is InboxStatus.DONE else None},
    ).first()
    return None if row is None else int(row[0])


def release_key(*, session: Session, platform: str, key: str) -> None:
    """Forget a consumed key whose request was finally not taken (a dialog answered with field errors)."""
    session.execute(sa.delete(InboxItem).where(col(InboxItem.platform) == platform,
                                               col(InboxItem.key) == key[:128]))


# --------------------------------------------------------------------------- workers


def _resumable(now: datetime) -> Any:
    stale = now - STALE_CLAIM
    return sa.or_(
        col(InboxItem.status) == InboxStatus.PENDING.value,
        sa.and_(col(InboxItem.status).in_([InboxStatus.CLAIMED.value, InboxStatus.ANSWERING.value]),
                sa.or_(col(InboxItem.claimed_by).is_(None), col(InboxItem.claimed_at) < stale)),
    )


def resumable_ids(*, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Rows a worker may take now: pending, or claimed by nobody, or claimed long ago (oldest first)."""
    query = (select(InboxItem.id).where(_resumable(now))
             .order_by(col(InboxItem.received_at), col(InboxItem.id)).limit(limit))
    return [i for i in session.exec(query).all() if i is not None]


def claims_by(*, session: Session, prefix: str) -> list[tuple[int, str]]:
    """(id, claimed_by) of the unfinished rows claimed by workers whose name starts with ``prefix``."""
    rows = session.exec(select(InboxItem.id, InboxItem.claimed_by).where(
        col(InboxItem.status).in_([InboxStatus.CLAIMED.value, InboxStatus.ANSWERING.value]),
        col(InboxItem.claimed_by).startswith(prefix, autoescape=True))).all()
    return [(int(i), str(by)) for i, by in rows if i is not None and by is not None]


_TABLE: sa.Table = InboxItem.__table__  # type: ignore[attr-defined]
_CLAIMABLE = (InboxStatus.CLAIMED.value, InboxStatus.ANSWERING.value)


@dataclass(frozen=True)
class Claimed:
    """What a worker needs of the row it took (its values after the claim)."""

    kind: str
    status: str
    attempts: int
    payload: str


# The statements of a worker, built once with bound parameters: each row costs three of them, and
# building them again for every row (ORM bulk UPDATEs, their cache keys) cost as much as a ``budget``.

@functools.cache
def _claim_once() -> Any:
    t = _TABLE.c
    taken = sa.or_(t.status == InboxStatus.PENDING.value, sa.and_(t.status.in_(_CLAIMABLE), sa.or_(
        t.claimed_by.is_(None), t.claimed_at < sa.bindparam("stale"), t.claimed_by == sa.bindparam("orphan_of"))))
    return (_TABLE.update().where(t.id == sa.bindparam("item_id"), taken)
            .values(status=sa.case((t.status == InboxStatus.PENDING.value, InboxStatus.CLAIMED.value),
                                   else_=t.status),
                    claimed_at=sa.bindparam("now", type_=t.claimed_at.type),
                    claimed_by=sa.bindparam("worker"), attempts=t.attempts + 1)
            .returning(t.kind, t.status, t.attempts, t.payload))


@functools.cache
def _answering_once() -> Any:
    t = _TABLE.c
    return (_TABLE.update().where(t.id == sa.bindparam("item_id"), t.claimed_by == sa.bindparam("worker"),
                                  t.status == InboxStatus.CLAIMED.value)
            .values(status=InboxStatus.ANSWERING.value, payload=sa.bindparam("answer")))


@functools.cache
def _done_once() -> Any:
    t = _TABLE.c
    return (_TABLE.update().where(t.id == sa.bindparam("item_id"), t.claimed_by == sa.bindparam("worker"),
                                  t.status.in_(_CLAIMABLE))
            .values(status=InboxStatus.DONE.value, done_at=sa.bindparam("now", type_=t.done_at.type),
                    last_error=None))


def claim(*, session: Session | sa.Connection, item_id: int, now: datetime, worker: str,
          orphan_of: str | None = None) -> Claimed | None:
    """Take one row (one conditional ``UPDATE … RETURNING``); None if another worker has it or it is finished.

    A row is taken when pending, unclaimed, claimed before ``STALE_CLAIM``, or claimed by
    ``orphan_of`` (a worker known to be dead). A pending row becomes claimed; a row whose
    work is committed (answering) stays so: only its answer is left to send.
    """
    row = session.execute(_claim_once(), {"item_id": item_id, "stale": now - STALE_CLAIM, "orphan_of": orphan_of,
                                          "now": now, "worker": worker[:100]}).first()
    return None if row is None else Claimed(str(row.kind), str(row.status), int(row.attempts), str(row.payload))


def mark_answering(*, session: Session | sa.Connection, item_id: int, worker: str, payload: dict[str, Any]) -> bool:
    """In the transaction of the work itself: the work is done, here is the answer still to send.

    False when the claim was lost (taken over as stale): the caller rolls its work back.
    """
    result = session.execute(_answering_once(), {"item_id": item_id, "worker": worker[:100],
                                                 "answer": json.dumps(payload, ensure_ascii=False)})
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def mark_done(*, session: Session | sa.Connection, item_id: int, worker: str, now: datetime) -> bool:
    result = session.execute(_done_once(), {"item_id": item_id, "worker": worker[:100], "now": now})
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def mark_failed(*, session: Session, item_id: int, worker: str, now: datetime, error: str,
                max_attempts: int = MAX_ATTEMPTS) -> str | None:
    """An attempt failed: given back (claimed by nobody, retried later) or, after ``max_attempts``,
    failed for good. The new status, or None if the claim was lost meanwhile."""
    row = session.exec(select(InboxItem).where(col(InboxItem.id) == item_id, col(InboxItem.claimed_by) == worker[:100])
                       .execution_options(populate_existing=True)).first()
    if row is None or row.status not in (InboxStatus.CLAIMED.value, InboxStatus.ANSWERING.value):
        return None
    final = row.attempts >= max_attempts
    status = InboxStatus.FAILED.value if final else (
        InboxStatus.PENDING.value if row.status == InboxStatus.CLAIMED.value else row.status)
    session.execute(
        sa.update(InboxItem).where(col(InboxItem.id) == item_id, col(InboxItem.claimed_by) == worker[:100])
        .values(status=status, claimed_by=None, claimed_at=None, last_error=error[:1000],
                done_at=now if final else None)
        .execution_options(synchronize_session=False)
    )
    return status


def get(*, session: Session, item_id: int) -> InboxItem | None:
    return session.get(InboxItem, item_id)


def items(*, session: Session, status: str | None = None) -> list[InboxItem]:
    query = select(InboxItem).order_by(col(InboxItem.id))
    if status is not None:
        query = query.where(col(InboxItem.status) == status)
    return list(session.exec(query).all())


def failed_count(*, session: Session) -> int:
    return int(session.exec(select(sa.func.count()).where(col(InboxItem.status) == InboxStatus.FAILED.value)).one())


def purge_done(*, session: Session, before: datetime) -> int:
    """Forget processed rows received before ``before`` (kept meanwhile: a replay inside the
    signature window, an event Slack retries, a dialog still open must find its key)."""
    result = session.execute(sa.delete(InboxItem).where(col(InboxItem.status) == InboxStatus.DONE.value,
                                                        col(InboxItem.received_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def answer_later(*, session: Session, item_id: int, platform: str, key: str, kind: str, payload: dict[str, Any],
                 now: datetime) -> int | None:
    """The work of row ``item_id`` is done in this transaction; its answer (``payload["answer"]``) is to send.

    If the row is gone (the work's unit of work was rolled back, a refusal), it is put again; None
    when another request with the same key got there first.
    """
    result = session.execute(
        sa.update(InboxItem).where(col(InboxItem.id) == item_id)
        .values(status=InboxStatus.ANSWERING.value, payload=json.dumps(payload, ensure_ascii=False),
                claimed_by=None, claimed_at=None, done_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return item_id
    return put(session=session, platform=platform, key=key, kind=kind, payload=payload, now=now,
               status=InboxStatus.ANSWERING)
