"""The convention's own life: its termination (art. 7), its suspension (art. 5), and the délégant told.

Each change is one guarded UPDATE (a second suspension, or a reprise of a convention that is
not suspended, changes nothing and says why) with its audit row on ``convention:<reference>``.
What they forbid is checked by :func:`storage.rules.check_orders_open`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.errors import AlreadySuspended, NoConvention, NotSuspended
from storage.ledger import record_audit
from storage.models import AuditAction, Convention, Person, Side
from storage.reference import current_convention


def subject_of(convention: Convention) -> str:
    """The audit subject of a convention."""
    return f"convention:{convention.reference}"


def _convention(session: Session) -> Convention:
    convention = current_convention(session=session)
    if convention is None:
        raise NoConvention()
    return convention


def suspend(*, session: Session, actor_id: str, platform: str, reason: str, now: datetime) -> Convention:
    """Suspend the execution of the delegation (art. 5) with ``reason``; refused if it already is."""
    convention = _convention(session)
    table = Convention.__table__  # type: ignore[attr-defined]
    moved = session.execute(sa.update(table).where(table.c.id == convention.id, table.c.suspended_at.is_(None))
                            .values(suspended_at=now, suspended_by=actor_id, suspension_reason=reason))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(convention)
        by = session.get(Person, convention.suspended_by) if convention.suspended_by else None
        raise AlreadySuspended(convention.reference, convention.suspension_reason or "",
                               convention.suspended_at or now, by.name if by else convention.suspended_by)
    session.refresh(convention)
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform,
                 action=AuditAction.CONVENTION_SUSPENDED.value, subject=subject_of(convention),
                 before={"suspended": False}, after={"suspended": True, "reason": reason})
    return convention


@dataclass(frozen=True)
class Resumed:
    convention: Convention
    reason: str  # the reason of the suspension that ended
    since: datetime


def resume(*, session: Session, actor_id: str, platform: str, now: datetime) -> Resumed:
    """End the suspension; refused if the convention is not suspended."""
    convention = _convention(session)
    if convention.suspended_at is None:
        raise NotSuspended(convention.reference)
    reason, since = convention.suspension_reason or "", convention.suspended_at
    table = Convention.__table__  # type: ignore[attr-defined]
    moved = session.execute(sa.update(table).where(table.c.id == convention.id, table.c.suspended_at == since)
                            .values(suspended_at=None, suspended_by=None, suspension_reason=None))
    if moved.rowcount != 1:  # type: ignore[attr-defined]  # resumed meanwhile by another manager
        raise NotSuspended(convention.reference)
    session.refresh(convention)
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform,
                 action=AuditAction.CONVENTION_RESUMED.value, subject=subject_of(convention),
                 before={"suspended": True, "reason": reason, "since": since.isoformat()},
                 after={"suspended": False})
    return Resumed(convention, reason, since)


@dataclass(frozen=True)
class Termination:
    convention: Convention
    changed: bool
    before: date | None


def terminate(*, session: Session, on: date, reason: str, now: datetime, actor_id: str | None = None,
              platform: str = "console") -> Termination:
    """Record that the convention ends on ``on`` (its last day in force, art. 7) for ``reason``; recording
    the same termination again changes nothing."""
    convention = _convention(session)
    before = convention.terminated_on
    if before == on and convention.termination_reason == reason:
        return Termination(convention, False, before)
    previous = {"terminated_on": before.isoformat() if before else None, "reason": convention.termination_reason}
    convention.terminated_on = on
    convention.termination_reason = reason
    session.add(convention)
    session.flush()
    record_audit(session=session, at=now, actor_id=actor_id, platform=platform,
                 action=AuditAction.CONVENTION_TERMINATED.value, subject=subject_of(convention),
                 before=previous, after={"terminated_on": on.isoformat(), "reason": reason,
                                         "ends": convention.ends.isoformat()})
    return Termination(convention, True, before)


def delegant_managers(*, session: Session) -> Sequence[Person]:
    """The active managers on the délégant's side (``side = "delegant"`` in the reference file)."""
    return session.exec(select(Person).where(col(Person.is_manager).is_(True), col(Person.active),
                                             Person.side == Side.DELEGANT.value).order_by(col(Person.name))).all()


def record_delegant_informed(*, session: Session, at: datetime, subject: str, alert: str, occurrence: str,
                             people: Sequence[str], platform: str = "console", actor_id: str | None = None) -> None:
    """The audit row saying that the délégant's managers ``people`` were told of ``alert`` (art. 5), and when:
    ``at``, when the message went in the outbox (``outbox`` keeps when each copy was sent)."""
    record_audit(session=session, at=at, actor_id=actor_id, platform=platform,
                 action=AuditAction.DELEGANT_INFORMED.value, subject=subject,
                 after={"alert": alert, "occurrence": occurrence, "told": list(people)})

