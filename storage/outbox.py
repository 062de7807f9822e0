"""The outbox: every message the bot sends, written before it is sent.

A message is enqueued in the same transaction as the change that causes it (a
quote submitted, a decision, a reminder that came due). A sender then *claims*
it with a conditional UPDATE, sends it, and marks it sent. The unique key
(kind, target, occurrence) means it exists once; the claim means one process
sends it; a claim left by a crashed process is taken over after
``STALE_CLAIM``. So nothing is lost and, short of a crash between the platform's
answer and our :func:`finish`, nothing is sent twice.

Delivery is per platform (``outbox_delivery``): each platform's worker gives the due
messages their row on its platform (:func:`fan_out`), claims them there, and retries
its own failures with its own backoff, so a platform that is down only delays itself.
The message's ``status`` sums its platforms up (:func:`settle`).

Files sent with a message are not in its payload: the payload names them, their bytes are in
``outbox_file`` (:func:`keep_file`), so payloads stay small and a retry after a restart — on
any platform — sends the same bytes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    Heartbeat,
    OutboxDelivery,
    OutboxFile,
    OutboxMessage,
    OutboxStatus,
    PostedMessage,
    SeenEvent,
)

STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 8
MAX_FILE_BYTES = 10 * 1024 * 1024  # a report's PDF is tens of KB; every platform takes 10 MiB


_ENQUEUED = "incubot.outbox_enqueued"  # in Session.info: this session put messages in the outbox


def enqueued_in(session: Session) -> bool:
    """Whether ``session`` put (or put back) messages in the outbox: only then is a delivery pass worth
    its transaction (``aide``, ``budget`` and the other answers that notify nobody need none)."""
    return bool(session.info.get(_ENQUEUED))


def _enqueued(session: Session) -> None:
    session.info[_ENQUEUED] = True


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
    _enqueued(session)
    row = OutboxMessage(
        kind=kind,
        target=target,
        occurrence=occurrence,
        due_at=due_at,
        payload=_text(session, payload, due_at),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def _text(session: Session, payload: dict[str, Any], now: datetime) -> str:
    """The payload as stored: JSON, each file's bytes (``data``, base64) moved to ``outbox_file`` and
    named by its ``key`` instead."""
    reply = payload.get("reply") or {}
    files = reply.get("files") or []
    if any("data" in f for f in files):
        kept = []
        for f in files:
            if "data" in f:
                data = base64.b64decode(f["data"])
                key = "sha256:" + hashlib.sha256(data).hexdigest()
                keep_file(session=session, key=key, data=data, now=now)
                f = {**{k: v for k, v in f.items() if k != "data"}, "key": key}
            kept.append(f)
        payload = {**payload, "reply": {**reply, "files": kept}}
    return json.dumps(payload, ensure_ascii=False)


def keep_file(*, session: Session, key: str, data: bytes, now: datetime) -> bytes:
    """Keep ``data`` under ``key`` unless a file is there already; the bytes kept there (two
    platforms' workers making the same document agree on the first one written)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"file {key} is {len(data)} bytes, more than {MAX_FILE_BYTES}")
    table: sa.Table = OutboxFile.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(key=key, size=len(data), data=data, created_at=now)
                    .on_conflict_do_nothing(index_elements=["key"]))
    kept = file_data(session=session, key=key)
    assert kept is not None
    return kept


def file_key(message_id: int | None, n: int, entry: Mapping[str, Any]) -> str:
    """Where the bytes of file ``n`` of a message are kept: the key its entry names (bytes given when it
    was enqueued), else ``outbox:<message id>:<n>`` (a document made when it first went out)."""
    return str(entry.get("key") or f"outbox:{message_id}:{n}")


def forget_files(*, session: Session, before: datetime) -> int:
    """Forget the bytes of files kept before ``before`` that no open message names — one still to send,
    or failed or undeliverable (``incubot outbox retry`` may send it again): a sent message is never sent
    again, so its files only filled the database. How many were forgotten."""
    files: sa.Table = OutboxFile.__table__  # type: ignore[attr-defined]
    old = list(session.execute(sa.select(files.c.key).where(files.c.created_at < before)).scalars())
    if not old:
        return 0
    named: set[str] = set()
    for message_id, payload in session.execute(sa.select(col(OutboxMessage.id), col(OutboxMessage.payload)).where(
            col(OutboxMessage.status) != OutboxStatus.SENT.value)).all():
        entries = (json.loads(payload).get("reply") or {}).get("files") or []
        named.update(file_key(message_id, n, e) for n, e in enumerate(entries))
    gone = [key for key in old if key not in named]
    for start in range(0, len(gone), 500):  # a bounded IN list
        session.execute(sa.delete(files).where(files.c.key.in_(gone[start:start + 500])))
    return len(gone)


def file_data(*, session: Session, key: str) -> bytes | None:
    """The bytes kept under ``key``, or None."""
    found = session.execute(sa.select(col(OutboxFile.data)).where(col(OutboxFile.key) == key)).scalar_one_or_none()
    return bytes(found) if found is not None else None


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
    _enqueued(session)
    session.execute(
        _insert_ignoring_duplicates(session.get_bind().dialect.name),
        [
            {"kind": m.kind, "target": m.target, "occurrence": m.occurrence, "due_at": m.due_at,
             "payload": _text(session, m.payload, m.due_at), "status": OutboxStatus.PENDING.value,
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


# --------------------------------------------------------------------------- per platform

_DONE = (OutboxStatus.SENT.value, OutboxStatus.SKIPPED.value, OutboxStatus.FAILED.value)


def backoff(attempts: int) -> timedelta:
    """The wait before try ``attempts + 1`` on one platform: 30 s, 1 min, 2 min… (at most 1 h)."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def fan_out(*, session: Session, platform: str, now: datetime, limit: int = 200) -> None:
    """Give every due pending message its row on ``platform`` (one INSERT … SELECT; a row that
    another worker of the same platform just added is skipped)."""
    delivery: sa.Table = OutboxDelivery.__table__  # type: ignore[attr-defined]
    message: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    missing = (
        sa.select(message.c.id, sa.literal(platform), sa.literal(OutboxStatus.PENDING.value), sa.literal(0),
                  message.c.due_at)
        .where(message.c.status == OutboxStatus.PENDING.value, message.c.due_at <= now,
               ~sa.exists().where(delivery.c.outbox_id == message.c.id, delivery.c.platform == platform))
        .order_by(message.c.id)
        .limit(limit)
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(delivery)
        .from_select(["outbox_id", "platform", "status", "attempts", "due_at"], missing)
        .on_conflict_do_nothing()
    )


def due_on(*, session: Session, platform: str, now: datetime, limit: int = 200) -> list[int]:
    """Message ids to send on ``platform`` now, in the order they were enqueued (pending and due, or
    claimed by a worker that has not finished after ``STALE_CLAIM``)."""
    stale = now - STALE_CLAIM
    query = (
        select(OutboxDelivery.outbox_id)
        .where(
            OutboxDelivery.platform == platform,
            sa.or_(
                sa.and_(col(OutboxDelivery.status) == OutboxStatus.PENDING.value, col(OutboxDelivery.due_at) <= now),
                sa.and_(col(OutboxDelivery.status) == OutboxStatus.CLAIMED.value,
                        col(OutboxDelivery.claimed_at) < stale),
            ),
        )
        .order_by(col(OutboxDelivery.outbox_id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def claim(*, session: Session, message_id: int, platform: str, now: datetime,
          worker: str) -> OutboxMessage | None:
    """Take one message for sending on ``platform``; None if another worker has it or it is done there."""
    stale = now - STALE_CLAIM
    result = session.execute(
        sa.update(OutboxDelivery)
        .where(
            col(OutboxDelivery.outbox_id) == message_id,
            col(OutboxDelivery.platform) == platform,
            sa.or_(
                sa.and_(col(OutboxDelivery.status) == OutboxStatus.PENDING.value, col(OutboxDelivery.due_at) <= now),
                sa.and_(col(OutboxDelivery.status) == OutboxStatus.CLAIMED.value,
                        col(OutboxDelivery.claimed_at) < stale),
            ),
        )
        .values(status=OutboxStatus.CLAIMED.value, claimed_at=now, claimed_by=worker,
                attempts=OutboxDelivery.attempts + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def earlier_about_subject_waiting(*, session: Session, message_id: int, platform: str, subject: str) -> bool:
    """Whether a message about ``subject`` enqueued before ``message_id`` is still to go on ``platform``:
    an in-place update waits for it (it would find nothing to update, then be overwritten)."""
    needle = json.dumps({"subject": subject}, ensure_ascii=False)[1:-1]  # '"subject": "D-2026-0001"'
    found = session.exec(
        select(OutboxDelivery.outbox_id)
        .join(OutboxMessage, col(OutboxMessage.id) == col(OutboxDelivery.outbox_id))
        .where(
            OutboxDelivery.platform == platform,
            col(OutboxDelivery.status).in_([OutboxStatus.PENDING.value, OutboxStatus.CLAIMED.value]),
            col(OutboxDelivery.outbox_id) < message_id,
            col(OutboxMessage.payload).contains(needle, autoescape=True),
        )
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class Outcome:
    """What :func:`finish` did: the delivery's status on its platform, the message's (None: still open)."""

    delivery: str
    message: str | None
    attempts: int


def finish(*, session: Session, message_id: int, platform: str, now: datetime, worker: str, status: str,
           platforms: Sequence[str], error: str | None = None, max_attempts: int = MAX_ATTEMPTS) -> Outcome | None:
    """End a claim: ``sent`` or ``skipped`` as given; ``failed`` means "this try failed": back to
    pending after :func:`backoff`, or failed for good at ``max_attempts``. Then, once every
    platform of ``platforms`` is done with it, the message's status: ``failed`` if one platform
    gave up, else ``sent`` if one carried it, else ``undeliverable``. None if the claim was lost."""
    session.execute(select(OutboxMessage.id).where(col(OutboxMessage.id) == message_id).with_for_update())
    row = session.get(OutboxDelivery, (message_id, platform), populate_existing=True)
    if row is None or row.claimed_by != worker or row.status != OutboxStatus.CLAIMED.value:
        return None
    if error is not None:
        row.last_error = error[:1000]
    if status == OutboxStatus.FAILED.value and row.attempts < max_attempts:
        row.status = OutboxStatus.PENDING.value
        row.due_at = now + backoff(row.attempts)
    else:
        row.status = status
        if status == OutboxStatus.SENT.value:
            row.sent_at, row.last_error = now, None
    session.add(row)
    session.flush()
    message_status = settle(session=session, message_id=message_id, platforms=platforms, now=now, worker=worker)
    return Outcome(row.status, message_status, row.attempts)


def settle(*, session: Session, message_id: int, platforms: Sequence[str], now: datetime,
           worker: str | None = None) -> str | None:
    """Sum the deliveries up into the message's status once every platform of ``platforms`` is done."""
    rows = {d.platform: d for d in session.exec(
        select(OutboxDelivery).where(OutboxDelivery.outbox_id == message_id)).all()}
    mine = [rows.get(p) for p in platforms]
    if not mine or any(d is None or d.status not in _DONE for d in mine):
        return None
    done = [d for d in mine if d is not None]
    statuses = {d.status for d in done}
    if OutboxStatus.FAILED.value in statuses:
        status = OutboxStatus.FAILED.value
    elif OutboxStatus.SENT.value in statuses:
        status = OutboxStatus.SENT.value
    else:
        status = OutboxStatus.UNDELIVERABLE.value
    errors = [d.last_error for d in done if d.last_error]
    session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=status, attempts=max(d.attempts for d in done), last_error=errors[-1] if errors else None,
                sent_at=now if status == OutboxStatus.SENT.value else None, claimed_at=now, claimed_by=worker)
    )
    return status


def deliveries(*, session: Session, message_id: int) -> Sequence[OutboxDelivery]:
    return session.exec(
        select(OutboxDelivery).where(OutboxDelivery.outbox_id == message_id).order_by(col(OutboxDelivery.platform))
    ).all()


def waiting(*, session: Session, now: datetime | None = None,
            kind_prefix: str | None = None) -> Sequence[OutboxMessage]:
    """Messages still pending (due by ``now`` if given)."""
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value)
    if now is not None:
        query = query.where(OutboxMessage.due_at <= now)
    if kind_prefix is not None:
        query = query.where(col(OutboxMessage.kind).startswith(kind_prefix))
    return session.exec(query.order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))).all()


@dataclass(frozen=True)
class Line:
    """One line of ``incubot outbox``: a message not sent, on one platform (None: not yet fanned out)."""

    message: OutboxMessage
    delivery: OutboxDelivery | None


def open_lines(*, session: Session, limit: int = 500) -> list[Line]:
    """What is pending, failed or undeliverable, with each platform's state, oldest first."""
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value,
                                              OutboxStatus.UNDELIVERABLE.value]))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    found: dict[int, list[OutboxDelivery]] = {}
    if rows:
        for d in session.exec(select(OutboxDelivery).where(
                col(OutboxDelivery.outbox_id).in_([m.id for m in rows])).order_by(col(OutboxDelivery.platform))).all():
            found.setdefault(d.outbox_id, []).append(d)
    lines: list[Line] = []
    for m in rows:
        ds = [d for d in found.get(m.id or 0, []) if d.status != OutboxStatus.SENT.value]
        lines += [Line(m, d) for d in ds] if ds else [Line(m, None)]
    return lines


def retry(*, session: Session, now: datetime, message_id: int | None = None) -> int:
    """Put failed (or undeliverable) messages back: ``message_id``, or every one of them; how many.

    A failed platform starts again from its first try, due now; an undeliverable message is
    fanned out again (someone may have an address now); what a platform already sent stays sent.
    """
    query = select(OutboxMessage).where(col(OutboxMessage.status).in_(
        [OutboxStatus.FAILED.value, OutboxStatus.UNDELIVERABLE.value]))
    if message_id is not None:
        query = query.where(OutboxMessage.id == message_id)
    rows = session.exec(query.with_for_update()).all()
    for m in rows:
        session.execute(
            sa.update(OutboxDelivery)
            .where(col(OutboxDelivery.outbox_id) == m.id, col(OutboxDelivery.status) == OutboxStatus.FAILED.value)
            .values(status=OutboxStatus.PENDING.value, attempts=0, due_at=now, claimed_at=None, claimed_by=None)
        )
        session.execute(sa.delete(OutboxDelivery).where(
            col(OutboxDelivery.outbox_id) == m.id, col(OutboxDelivery.status) == OutboxStatus.SKIPPED.value))
        m.status, m.due_at = OutboxStatus.PENDING.value, min(m.due_at, now)
        session.add(m)
    if rows:
        _enqueued(session)
    return len(rows)


def counts(*, session: Session) -> dict[str, int]:
    """How many messages are pending and failed (``/healthz``)."""
    found = dict(session.exec(
        select(OutboxMessage.status, sa.func.count())
        .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value]))
        .group_by(col(OutboxMessage.status))
    ).all())
    return {"pending": int(found.get(OutboxStatus.PENDING.value, 0)),
            "failed": int(found.get(OutboxStatus.FAILED.value, 0))}


@functools.cache
def _insert_counting_repeats(dialect: str) -> Any:
    table: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_update(index_elements=["kind", "target", "occurrence"],
                                        set_={"repeats": table.c.repeats + 1})


def enqueue_grouped(*, session: Session, messages: Sequence[NewMessage]) -> None:
    """Like :func:`enqueue_many`, but a repeat of (kind, target, occurrence) is counted in
    ``repeats`` instead of dropped (grouped alerts): one ``INSERT … ON CONFLICT DO UPDATE``."""
    if not messages:
        return
    _enqueued(session)
    session.execute(
        _insert_counting_repeats(session.get_bind().dialect.name),
        [{"kind": m.kind, "target": m.target, "occurrence": m.occurrence, "due_at": m.due_at, "attempts": 0,
          "repeats": 0, "payload": _text(session, m.payload, m.due_at), "status": OutboxStatus.PENDING.value}
         for m in messages],
    )


def write_probe(*, session: Session, name: str, now: datetime) -> None:
    """Write the heartbeat row ``name`` (``/healthz``): fails on a read-only or full database."""
    table: sa.Table = Heartbeat.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(name=name, at=now)
    session.execute(insert.on_conflict_do_update(index_elements=["name"], set_={"at": now}))


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
