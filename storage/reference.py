"""Reference data: the convention, yearly allocations, people, startups, committees."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.ledger import record_audit
from storage.models import (
    Allocation,
    AuditAction,
    Channel,
    Committee,
    Convention,
    Membership,
    Person,
    PlatformAccount,
    Startup,
    StartupRole,
)
from storage.platforms import PlatformName
from storage.text import fold


def current_convention(*, session: Session) -> Convention | None:
    """The convention in force (the one with the latest end date)."""
    return session.exec(select(Convention).order_by(col(Convention.ends).desc())).first()


@functools.cache
def _find_actor(by_account: bool) -> sa.Select[Person, str | None, str | None]:
    query = (
        sa.select(Person, col(Membership.startup_id), col(Membership.role))
        .outerjoin(Membership, Membership.person_id == Person.id)  # type: ignore[arg-type]
        .where(col(Person.active))
    )
    if not by_account:
        return query.where(col(Person.id) == sa.bindparam("p_user"))
    return query.join(PlatformAccount, PlatformAccount.person_id == Person.id).where(  # type: ignore[arg-type]
        col(PlatformAccount.platform) == sa.bindparam("p_platform"),
        col(PlatformAccount.external_id) == sa.bindparam("p_user"))


def find_actor(*, session: Session, platform: str, user_id: str) -> tuple[Person, dict[str, set[str]]] | None:
    """The active person behind ``user_id`` on ``platform`` (their ``platform_account`` row; on the
    console, ``user_id`` is the person id itself) and their roles (as :func:`roles_of`), in one
    SELECT built once: every request starts with it."""
    by_account = platform != PlatformName.CONSOLE
    rows = session.execute(_find_actor(by_account), {"p_user": user_id, "p_platform": platform}).all()
    if not rows:
        return None
    roles: dict[str, set[str]] = {}
    for _person, startup_id, role in rows:
        if startup_id is not None and role is not None:
            roles.setdefault(startup_id, set()).add(role)
    return rows[0][0], roles


def person_address(*, session: Session, platform: str, person_id: str) -> str | None:
    """The person's user id on ``platform`` (where the courier sends their direct messages), or None."""
    return session.exec(select(PlatformAccount.external_id).where(
        PlatformAccount.person_id == person_id, PlatformAccount.platform == platform)).first()


def set_account(*, session: Session, person_id: str, platform: str, external_id: str) -> None:
    """Give ``person_id`` the account ``external_id`` on ``platform`` (replacing theirs there); tools and
    benchmarks — the reference file goes through :func:`import_reference`."""
    session.execute(sa.delete(PlatformAccount).where(col(PlatformAccount.person_id) == person_id,
                                                     col(PlatformAccount.platform) == platform))
    session.add(PlatformAccount(person_id=person_id, platform=platform, external_id=external_id))
    session.flush()


def accounts_of(*, session: Session, person_id: str) -> dict[str, str]:
    """``{platform: user id}`` for one person."""
    rows = session.exec(select(PlatformAccount).where(PlatformAccount.person_id == person_id)).all()
    return {a.platform: a.external_id for a in rows}


def channel_address(*, session: Session, platform: str, startup_id: str | None) -> str | None:
    """The startup's channel on ``platform`` (``startup_id`` None: the managers' channel of the
    convention in force), or None when it has none there."""
    query = select(Channel.external_id).where(Channel.platform == platform)
    if startup_id is not None:
        return session.exec(query.where(Channel.startup_id == startup_id)).first()
    convention = current_convention(session=session)
    if convention is None:
        return None
    return session.exec(query.where(Channel.convention_id == convention.id)).first()


def channels_of(*, session: Session, startup_id: str | None = None,
                convention_id: int | None = None) -> dict[str, str]:
    """``{platform: channel id}`` of a startup, or of a convention's managers."""
    query = select(Channel)
    query = (query.where(Channel.startup_id == startup_id) if startup_id is not None
             else query.where(Channel.convention_id == convention_id))
    return {c.platform: c.external_id for c in session.exec(query).all()}


def get_person(*, session: Session, person_id: str) -> Person | None:
    return session.get(Person, person_id)


def people(*, session: Session, ids: Iterable[str] | None = None) -> Sequence[Person]:
    """Active people, by name (``ids``: only those)."""
    query = select(Person).where(col(Person.active)).order_by(col(Person.name))
    if ids is not None:
        query = query.where(col(Person.id).in_(list(ids)))
    return session.exec(query).all()


def managers(*, session: Session) -> Sequence[Person]:
    return session.exec(select(Person).where(col(Person.is_manager).is_(True), col(Person.active))
                        .order_by(col(Person.name))).all()


def get_startup(*, session: Session, startup_id: str) -> Startup | None:
    return session.get(Startup, startup_id)


def find_startup(*, session: Session, text: str) -> Startup | None:
    """A startup by id or name, case- and accent-insensitive on the id/name as typed."""
    wanted = fold(text)
    if not wanted:
        return None
    for startup in session.exec(select(Startup)).all():
        if wanted in (fold(startup.id), fold(startup.name)):
            return startup
    return None


def startups(*, session: Session) -> Sequence[Startup]:
    """Active startups, by name."""
    return session.exec(select(Startup).where(col(Startup.active)).order_by(col(Startup.name))).all()


def members(*, session: Session, startup_id: str, role: str | None = None) -> Sequence[Person]:
    query = (
        select(Person)
        .join(Membership, Membership.person_id == Person.id)  # type: ignore[arg-type]
        .where(Membership.startup_id == startup_id, col(Person.active))
        .order_by(col(Person.name))
    )
    if role is not None:
        query = query.where(Membership.role == role)
    return session.exec(query).all()


def intrapreneurs(*, session: Session, startup_id: str) -> Sequence[Person]:
    return members(session=session, startup_id=startup_id, role=StartupRole.INTRAPRENEUR.value)


def roles_of(*, session: Session, person_id: str) -> dict[str, set[str]]:
    """``{startup_id: {"intrapreneur", "coach"}}`` for one person."""
    result: dict[str, set[str]] = {}
    for m in session.exec(select(Membership).where(Membership.person_id == person_id)).all():
        result.setdefault(m.startup_id, set()).add(m.role)
    return result


def committees(*, session: Session, after: date | None = None) -> Sequence[Committee]:
    query = select(Committee).order_by(col(Committee.held_on))
    if after is not None:
        query = query.where(Committee.held_on >= after)
    return session.exec(query).all()


def next_committee(*, session: Session, today: date) -> Committee | None:
    return session.exec(
        select(Committee).where(Committee.held_on >= today).order_by(col(Committee.held_on))
    ).first()


def last_committee(*, session: Session, today: date) -> Committee | None:
    return session.exec(
        select(Committee).where(Committee.held_on < today).order_by(col(Committee.held_on).desc())
    ).first()


# --------------------------------------------------------------------------- import


@dataclass
class ReferenceData:
    """A whole reference file, already validated (amounts in cents)."""

    convention: Convention | None = None
    allocations: list[tuple[int, int, int]] = field(default_factory=list)  # (year, ae, cp)
    managers_channels: dict[str, str] = field(default_factory=dict)  # {platform: channel id} of the convention
    people: list[Person] = field(default_factory=list)
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)  # {person id: {platform: user id}}
    startups: list[tuple[Startup, list[str], list[str]]] = field(default_factory=list)
    channels: dict[str, dict[str, str]] = field(default_factory=dict)  # {startup id: {platform: channel id}}
    committees: list[date] = field(default_factory=list)
    # {date: (president's person id, reviewed startup ids or None for all)} — the [[committee]] keys
    committee_keys: dict[date, tuple[str | None, list[str] | None]] = field(default_factory=dict)
    allocation_terms: dict[int, AllocationTerms] = field(default_factory=dict)  # {year: its dates and amendment}


@dataclass(frozen=True)
class AllocationTerms:
    """What an ``[[allocation]]`` says besides its amounts: fin de gestion dates (None: the defaults of
    storage/rules.py) and the amendment (art. 6) that set it."""

    orders_until: date | None = None
    payments_until: date | None = None
    amendment: str | None = None
    amended_on: date | None = None


# Set by the operator and the managers (incubot convention end, suspendre / reprendre), never by the file.
CONVENTION_LIFE = frozenset({"terminated_on", "termination_reason", "suspended_at", "suspended_by",
                             "suspension_reason"})
ALLOCATION_COLUMNS = ("convention_id", "ae_cents", "cp_cents", "orders_until", "payments_until", "amendment",
                      "amended_on")


def _allocation_state(allocation: Allocation) -> dict[str, Any]:
    """What the audit trail keeps of an allocation: its amounts, its dates, its amendment."""
    state: dict[str, Any] = {"ae_cents": allocation.ae_cents, "cp_cents": allocation.cp_cents,
                             "amendment": allocation.amendment}
    for name in ("orders_until", "payments_until", "amended_on"):
        value = getattr(allocation, name)
        state[name] = value.isoformat() if value is not None else None
    return state


class ImportConflict(Exception):
    """The file contradicts what the database already holds; nothing was written.

    ``key`` says where (``person.slack_id``, ``allocation``), ``value`` what, ``holder``
    who already has it (a person id), or None.
    """

    def __init__(self, key: str, value: str, holder: str | None = None) -> None:
        super().__init__(f"{key}: {value} ({holder})")
        self.key, self.value, self.holder = key, value, holder


class AllocationBelowUse(Exception):
    """An allocation of the file is lower than what its year already committed (AE) or consumed (CP)."""

    def __init__(self, year: int, credits: str, allocated_cents: int, used_cents: int) -> None:
        super().__init__(f"allocation {year}: {credits} {allocated_cents} < {used_cents}")
        self.year, self.credits, self.allocated_cents, self.used_cents = year, credits, allocated_cents, used_cents


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def _deactivate_unlisted(session: Session, report: ImportReport, model: type[Person] | type[Startup],
                         kind: str, listed: set[str]) -> None:
    """Who (or which startup) the file no longer lists is deactivated, never deleted: history keeps naming them."""
    for row in session.exec(select(model).where(col(model.active), col(model.id).not_in(listed))).all():
        row.active = False
        session.add(row)
        report.count(report.deactivated, kind)


def _upsert(session: Session, report: ImportReport, kind: str, existing: object | None, new: object,
            columns: Iterable[str]) -> object:
    if existing is None:
        session.add(new)
        report.count(report.created, kind)
        return new
    changed = False
    for name in columns:
        value = getattr(new, name)
        if getattr(existing, name) != value:
            setattr(existing, name, value)
            changed = True
    if changed:
        report.count(report.updated, kind)
    return existing


def import_reference(*, session: Session, data: ReferenceData, now: datetime | None = None) -> ImportReport:
    """Create or update everything in ``data``; a second run with the same data changes nothing.

    Allocations are only ever *set* (never summed); lowering one below what is already
    committed or consumed is refused by the CHECK constraint, and the whole import with it.
    Each allocation created or changed leaves an audit row on ``allocation:<year>`` (before, after,
    with its amendment: art. 6) at ``now`` (the caller's clock; tools that have none: the system's).
    """
    at = now or datetime.now(UTC)
    report = ImportReport()
    convention = current_convention(session=session)
    if data.convention is not None:
        existing = session.exec(
            select(Convention).where(Convention.reference == data.convention.reference)
        ).first()
        columns = [c for c in Convention.model_fields if c != "id" and c not in CONVENTION_LIFE]
        updated = report.updated.get("convention", 0)
        convention = _upsert(session, report, "convention", existing, data.convention, columns)  # type: ignore[assignment]
        session.flush()
        assert convention is not None and convention.id is not None
        if _set_channels(session, data.managers_channels, convention_id=convention.id) and existing is not None \
                and report.updated.get("convention", 0) == updated:
            report.count(report.updated, "convention")
    if data.allocations and convention is None:
        raise ImportConflict("allocation", "convention")
    for year, ae, cp in data.allocations:
        assert convention is not None and convention.id is not None
        existing_alloc = session.exec(select(Allocation).where(Allocation.year == year)).first()
        if existing_alloc is not None:  # the CHECK constraints would refuse it too, without saying which year
            if ae < existing_alloc.ae_committed_cents:
                raise AllocationBelowUse(year, "AE", ae, existing_alloc.ae_committed_cents)
            if cp < existing_alloc.cp_consumed_cents:
                raise AllocationBelowUse(year, "CP", cp, existing_alloc.cp_consumed_cents)
        terms = data.allocation_terms.get(year, AllocationTerms())
        was = _allocation_state(existing_alloc) if existing_alloc is not None else None
        row = _upsert(session, report, "allocation", existing_alloc,
                      Allocation(convention_id=convention.id, year=year, ae_cents=ae, cp_cents=cp,
                                 orders_until=terms.orders_until, payments_until=terms.payments_until,
                                 amendment=terms.amendment, amended_on=terms.amended_on),
                      ALLOCATION_COLUMNS)
        assert isinstance(row, Allocation)
        now_is = _allocation_state(row)
        if now_is != was:
            action = AuditAction.ALLOCATION_CREATED if was is None else AuditAction.ALLOCATION_CHANGED
            record_audit(session=session, at=at, actor_id=None, platform=PlatformName.CONSOLE.value,
                         action=action.value, subject=f"allocation:{year}", before=was, after=now_is)
    counted: set[str] = set()  # people created or updated by their columns: a changed account counts them no more
    for person in data.people:
        columns = [c for c in Person.model_fields if c != "id"]
        existing_person = session.get(Person, person.id)
        before = report.updated.get("person", 0)
        _upsert(session, report, "person", existing_person, person, columns)
        if existing_person is None or report.updated.get("person", 0) != before:
            counted.add(person.id)
    session.flush()
    if data.people:
        for _person_id in _set_accounts(session, data) - counted:
            report.count(report.updated, "person")
    for startup, intras, coaches in data.startups:
        columns = [c for c in Startup.model_fields if c != "id"]
        existing_startup = session.get(Startup, startup.id)
        updated = report.updated.get("startup", 0)
        _upsert(session, report, "startup", existing_startup, startup, columns)
        session.flush()
        if _set_channels(session, data.channels.get(startup.id, {}), startup_id=startup.id) \
                and existing_startup is not None and report.updated.get("startup", 0) == updated:
            report.count(report.updated, "startup")
        wanted = {(p, StartupRole.INTRAPRENEUR.value) for p in intras} | {
            (p, StartupRole.COACH.value) for p in coaches
        }
        current = {
            (m.person_id, m.role): m
            for m in session.exec(select(Membership).where(Membership.startup_id == startup.id)).all()
        }
        for key in wanted - current.keys():
            session.add(Membership(startup_id=startup.id, person_id=key[0], role=key[1]))
            report.count(report.created, "membership")
        for key in current.keys() - wanted:
            session.delete(current[key])
            report.count(report.updated, "membership")
    # A file that lists people (or startups) is the whole list of them: the others are deactivated.
    # A file without such a section (only allocations, say) leaves them as they are.
    if data.people:
        _deactivate_unlisted(session, report, Person, "person", {p.id for p in data.people})
    if data.startups:
        _deactivate_unlisted(session, report, Startup, "startup", {s.id for s, _i, _c in data.startups})
    for held_on in data.committees:
        president, reviewed = data.committee_keys.get(held_on, (None, None))
        startups = json.dumps(reviewed) if reviewed is not None else None
        existing_committee = session.exec(select(Committee).where(Committee.held_on == held_on)).first()
        _upsert(session, report, "committee", existing_committee,
                Committee(held_on=held_on, president_id=president, startups=startups), ("president_id", "startups"))
    session.flush()
    return report


def _set_accounts(session: Session, data: ReferenceData) -> set[str]:
    """Make the platform accounts of the file's people exactly the file's; the ids of the people
    whose accounts changed. An id another person (not in the file) holds is a conflict."""
    listed = {p.id for p in data.people}
    wanted = {(platform, external_id): person_id for person_id, accounts in data.accounts.items()
              if person_id in listed for platform, external_id in accounts.items()}
    current = {(a.platform, a.external_id): a for a in session.exec(
        select(PlatformAccount).where(col(PlatformAccount.person_id).in_(listed))).all()}
    changed: set[str] = set()
    for key, account in current.items():
        if wanted.get(key) != account.person_id:
            session.delete(account)
            changed.add(account.person_id)
    session.flush()  # an id moving from one listed person to another is free again before it is given
    for (platform, external_id), person_id in wanted.items():
        existing = current.get((platform, external_id))
        if existing is not None and existing.person_id == person_id:
            continue
        holder = session.exec(select(PlatformAccount.person_id).where(
            PlatformAccount.platform == platform, PlatformAccount.external_id == external_id)).first()
        if holder is not None:
            raise ImportConflict(f"person.{platform}_id", external_id, holder)
        session.add(PlatformAccount(person_id=person_id, platform=platform, external_id=external_id))
        changed.add(person_id)
    session.flush()
    return changed


def _set_channels(session: Session, wanted: dict[str, str], *, startup_id: str | None = None,
                  convention_id: int | None = None) -> bool:
    """Make a startup's (or a convention's managers') channels exactly ``wanted``; True if any changed."""
    query = select(Channel)
    query = (query.where(Channel.startup_id == startup_id) if startup_id is not None
             else query.where(Channel.convention_id == convention_id))
    current = {c.platform: c for c in session.exec(query).all()}
    changed = False
    for platform, row in current.items():
        if platform not in wanted:
            session.delete(row)
            changed = True
        elif row.external_id != wanted[platform]:
            row.external_id = wanted[platform]
            session.add(row)
            changed = True
    for platform, external_id in wanted.items():
        if platform not in current:
            session.add(Channel(platform=platform, external_id=external_id, startup_id=startup_id,
                                convention_id=convention_id))
            changed = True
    session.flush()
    return changed
