"""The ledger on SQLite and PostgreSQL: decisions, guarded ceilings, CHECK backstops, numbering,
the append-only audit trail and an idempotent import."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from storage import ledger
from storage.db import SessionFactory, session_factory, unit_of_work
from storage.errors import (
    AlreadyDecided,
    ExceedsOrder,
    InsufficientCredits,
    NoAllocation,
    NotFound,
    QuoteNotValidated,
)
from storage.models import Allocation, AuditEvent, Quote, ServiceDone
from tests.conftest import NOW, mattermost_id, slack_id

YEAR = NOW.year  # the demo world has AE 1 500 000 € and CP 1 700 000 € this year


@pytest.fixture
def db(any_world: Engine) -> SessionFactory:
    """The demo reference data on SQLite, then on PostgreSQL."""
    return session_factory(any_world)


def submit(sessions: SessionFactory, euros: int, *, startup: str = "dedale", year: int = YEAR) -> str:
    with unit_of_work(sessions) as session:
        quote = ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont",
                                    amount_cents=euros * 100, amount_ht_cents=None, supplier="Scopyleft",
                                    object="Sprint", platform="console", now=NOW, year=year)
        return quote.reference


def validate(sessions: SessionFactory, ref: str, *, year: int = YEAR, who: str = "julien.moreau",
             now: datetime = NOW) -> None:
    with unit_of_work(sessions) as session:
        ledger.validate_quote(session=session, reference=ref, actor_id=who, platform="console", now=now, year=year)


def ask_service_done(sessions: SessionFactory, ref: str, euros: int) -> str:
    with unit_of_work(sessions) as session:
        row, _ = ledger.create_service_done(session=session, quote_reference=ref, submitted_by="lea.dupont",
                                            amount_cents=euros * 100, period="octobre", platform="console",
                                            now=NOW, year=YEAR)
        return row.reference


def certify(sessions: SessionFactory, ref: str, *, year: int = YEAR) -> None:
    with unit_of_work(sessions) as session:
        ledger.certify_service_done(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                                    now=NOW + timedelta(hours=1), year=year)


def balance(sessions: SessionFactory, year: int = YEAR) -> ledger.YearBalance:
    with unit_of_work(sessions) as session:
        return ledger.year_balance(session=session, year=year)


def quote(sessions: SessionFactory, ref: str) -> Quote:
    with unit_of_work(sessions) as session:
        return ledger.get_quote(session=session, reference=ref)


def trail(sessions: SessionFactory, subject: str) -> list[tuple[str, dict[str, Any]]]:
    with unit_of_work(sessions) as session:
        return [(e.action, json.loads(e.after or "{}")) for e in ledger.audit_trail(session=session, subject=subject)]


def count(sessions: SessionFactory, table: type) -> int:
    with unit_of_work(sessions) as session:
        return int(session.exec(select(sa.func.count()).select_from(table)).one())


def set_allocation(sessions: SessionFactory, *, ae_euros: int | None = None, cp_euros: int | None = None) -> None:
    with unit_of_work(sessions) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == YEAR)).one()
        if ae_euros is not None:
            allocation.ae_cents = ae_euros * 100
        if cp_euros is not None:
            allocation.cp_cents = cp_euros * 100
        session.add(allocation)


# --------------------------------------------------------------------------- decisions


def test_validation_commits_the_amount_against_the_year_and_is_audited(db: SessionFactory) -> None:
    """Validating a quote moves AE committed by its amount, records who and when, and audits before/after."""
    ref = submit(db, 12_000)
    assert ref == f"D-{YEAR}-0001"
    assert balance(db).ae_committed_cents == 0
    validate(db, ref)
    assert balance(db).ae_committed_cents == 1_200_000
    q = quote(db, ref)
    assert (q.status, q.decided_by, q.commitment_year, q.decided_at) == ("validated", "julien.moreau", YEAR, NOW)
    assert [action for action, _ in trail(db, ref)] == ["quote.submitted", "quote.validated"]
    assert trail(db, ref)[-1][1]["status"] == "validated"


def test_refusal_moves_no_counter_and_keeps_the_reason(db: SessionFactory) -> None:
    """Refusing a quote commits nothing and stores the reason in the quote and the audit trail."""
    ref = submit(db, 5_000)
    with unit_of_work(db) as session:
        ledger.refuse_quote(session=session, reference=ref, actor_id="julien.moreau", platform="slack",
                            reason="Hors périmètre", now=NOW)
    assert balance(db).ae_committed_cents == 0
    assert quote(db, ref).refusal_reason == "Hors périmètre"
    assert trail(db, ref)[-1] == ("quote.refused", trail(db, ref)[-1][1])
    assert trail(db, ref)[-1][1]["refusal_reason"] == "Hors périmètre"


def test_a_decided_quote_cannot_be_decided_again(db: SessionFactory) -> None:
    """A second validation, or a refusal after a validation, is refused and commits nothing more."""
    ref = submit(db, 3_000)
    validate(db, ref)
    with pytest.raises(AlreadyDecided) as again:
        validate(db, ref, who="julien.moreau")
    assert (again.value.status, again.value.decided_by) == ("validated", "julien.moreau")
    with pytest.raises(AlreadyDecided), unit_of_work(db) as session:
        ledger.refuse_quote(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                            reason="trop tard", now=NOW)
    assert balance(db).ae_committed_cents == 300_000
    assert [a for a, _ in trail(db, ref)] == ["quote.submitted", "quote.validated"]


def test_partial_certifications_put_cp_to_pay_up_to_the_order(db: SessionFactory) -> None:
    """Certified service done are CP à payer of the year of certification (consumed only at payment),
    partially, never beyond the order."""
    ref = submit(db, 10_000)
    validate(db, ref)
    first = ask_service_done(db, ref, 2_500)
    assert first == f"SF-{YEAR}-0001"
    certify(db, first)
    second = ask_service_done(db, ref, 7_500)
    assert second == f"SF-{YEAR}-0002"
    with pytest.raises(ExceedsOrder) as too_much:
        ask_service_done(db, ref, 1)  # 2 500 certified + 7 500 pending = the whole order
    assert too_much.value.remaining_cents == 0
    certify(db, second)
    assert (balance(db).cp_to_pay_cents, balance(db).cp_consumed_cents) == (1_000_000, 0)
    assert quote(db, ref).certified_cents == 1_000_000
    assert [a for a, _ in trail(db, ref)] == ["quote.submitted", "quote.validated", "service_done.submitted",
                                             "service_done.certified", "service_done.submitted",
                                             "service_done.certified"]
    with pytest.raises(AlreadyDecided):
        certify(db, second)
    assert balance(db).cp_to_pay_cents == 1_000_000


def test_service_done_needs_a_validated_quote(db: SessionFactory) -> None:
    """A service done on a pending or refused quote is refused; nothing is numbered."""
    ref = submit(db, 1_000)
    with pytest.raises(QuoteNotValidated):
        ask_service_done(db, ref, 500)
    assert count(db, ServiceDone) == 0


def test_unknown_references_are_not_found(db: SessionFactory) -> None:
    """Unknown quote, service done or startup: NotFound, nothing written."""
    audit_before = count(db, AuditEvent)
    with pytest.raises(NotFound):
        validate(db, "D-2026-9999")
    with pytest.raises(NotFound):
        certify(db, "SF-2026-9999")
    with pytest.raises(NotFound):
        submit(db, 100, startup="nope")
    assert count(db, AuditEvent) == audit_before and count(db, Quote) == 0


# --------------------------------------------------------------------------- ceilings


def test_a_validation_beyond_the_allocation_is_refused_and_rolled_back(db: SessionFactory) -> None:
    """The guarded UPDATE refuses what would exceed the year's AE; the quote stays pending."""
    set_allocation(db, ae_euros=10_000)
    fits, too_big = submit(db, 6_000), submit(db, 5_000)
    validate(db, fits)
    with pytest.raises(InsufficientCredits) as refused:
        validate(db, too_big)
    assert (refused.value.kind, refused.value.available_cents, refused.value.requested_cents) == ("ae", 400_000,
                                                                                                  500_000)
    assert quote(db, too_big).status == "pending"
    assert balance(db).ae_committed_cents == 600_000
    assert [a for a, _ in trail(db, too_big)] == ["quote.submitted"]
    exactly = submit(db, 4_000)
    validate(db, exactly)  # up to the cent is allowed
    assert balance(db).ae_available_cents == 0


def test_a_certification_beyond_the_cp_is_recorded_and_says_the_year_cannot_pay(db: SessionFactory) -> None:
    """Service done is a fact: certified even when the year's CP cannot pay it, with what they lack said
    to the caller (to alert the managers); nothing is consumed until a payment."""
    set_allocation(db, cp_euros=1_000)
    ref = submit(db, 5_000)
    validate(db, ref)
    sd = ask_service_done(db, ref, 2_000)
    told: list[int] = []
    with unit_of_work(db) as session:
        ledger.certify_service_done(session=session, reference=sd, actor_id="julien.moreau", platform="console",
                                    now=NOW, year=YEAR, on_cp=told.append)
    assert told == [-100_000]
    with unit_of_work(db) as session:
        assert ledger.get_service_done(session=session, reference=sd).status == "certified"
    assert (balance(db).cp_to_pay_cents, balance(db).cp_consumed_cents) == (200_000, 0)
    assert balance(db).cp_short_cents == 100_000 and quote(db, ref).certified_cents == 200_000


def test_a_year_without_allocation_commits_nothing(db: SessionFactory) -> None:
    """No allocation for the year of validation: refused with NoAllocation."""
    ref = submit(db, 1_000)
    with pytest.raises(NoAllocation):
        validate(db, ref, year=YEAR + 5)
    assert quote(db, ref).status == "pending"


def test_commitments_of_a_year_are_payable_with_cp_of_a_later_year(db: SessionFactory) -> None:
    """A quote validated last year is certified this year: its CP à payer are this year's."""
    ref = submit(db, 2_000, year=YEAR - 1)
    validate(db, ref, year=YEAR - 1, now=NOW.replace(year=YEAR - 1))  # in November of last year
    sd = ask_service_done(db, ref, 2_000)
    certify(db, sd, year=YEAR)
    assert balance(db, YEAR - 1).ae_committed_cents == 200_000
    assert balance(db, YEAR - 1).cp_to_pay_cents == 0
    assert balance(db, YEAR).cp_to_pay_cents == 200_000


BYPASSES: dict[str, str] = {
    "AE committed above the allocation": "UPDATE allocation SET ae_committed_cents = ae_cents + 1",
    "CP consumed above the allocation": "UPDATE allocation SET cp_consumed_cents = cp_cents + 1",
    "negative commitment": "UPDATE allocation SET ae_committed_cents = -1",
    "negative allocation": "UPDATE allocation SET ae_cents = -100",
    "zero amount": "UPDATE quote SET amount_cents = 0",
    "negative amount": "UPDATE quote SET amount_cents = -5",
    "certified above the order": "UPDATE quote SET certified_cents = amount_cents + 1",
    "unknown status": "UPDATE quote SET status = 'approved'",
}


@pytest.mark.parametrize("statement", BYPASSES.values(), ids=BYPASSES.keys())
def test_check_constraints_hold_when_the_guard_is_bypassed(db: SessionFactory, statement: str) -> None:
    """Raw SQL that skips the ledger's guards still cannot break a money invariant."""
    submit(db, 1_000)
    with pytest.raises(IntegrityError), unit_of_work(db) as session:
        session.execute(sa.text(statement))
    assert balance(db).ae_committed_cents == 0 and quote(db, f"D-{YEAR}-0001").amount_cents == 100_000


def test_a_service_done_of_zero_is_refused_by_the_database(db: SessionFactory) -> None:
    """Inserting a non-positive service done directly fails on the CHECK constraint."""
    ref = submit(db, 1_000)
    validate(db, ref)
    with pytest.raises(IntegrityError), unit_of_work(db) as session:
        session.add(ServiceDone(reference="SF-X", year=YEAR, seq=99, quote_id=quote(db, ref).id or 0,
                                submitted_by="lea.dupont", amount_cents=0, status="pending", created_at=NOW))
        session.flush()


# --------------------------------------------------------------------------- audit trail


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET actor_id = 'someone-else'",
                                       "DELETE FROM audit_event"])
def test_the_audit_trail_is_append_only(db: SessionFactory, statement: str) -> None:
    """UPDATE and DELETE on audit_event fail in the database itself."""
    ref = submit(db, 1_000)
    validate(db, ref)
    before = trail(db, ref)
    with pytest.raises(DBAPIError) as refused, unit_of_work(db) as session:
        session.execute(sa.text(statement))
    assert "append-only" in str(refused.value)
    assert trail(db, ref) == before


# --------------------------------------------------------------------------- numbering


def test_references_are_numbered_per_year_and_kind(db: SessionFactory) -> None:
    """D-YYYY-NNNN and SF-YYYY-NNNN count separately and restart each year."""
    assert [submit(db, 100) for _ in range(3)] == [f"D-{YEAR}-000{i}" for i in (1, 2, 3)]
    assert submit(db, 100, year=YEAR + 1) == f"D-{YEAR + 1}-0001"
    validate(db, f"D-{YEAR}-0001")
    assert ask_service_done(db, f"D-{YEAR}-0001", 10) == f"SF-{YEAR}-0001"
    assert ask_service_done(db, f"D-{YEAR}-0001", 10) == f"SF-{YEAR}-0002"


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released at the same instant; results (or exceptions) by i."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_references_stay_unique_and_gapless_under_concurrent_submissions(db: SessionFactory) -> None:
    """Twenty quotes submitted at the same instant get twenty distinct, consecutive references."""
    refs = run_together(20, lambda i: submit(db, 100 + i))
    assert not [r for r in refs if isinstance(r, Exception)], refs
    assert sorted(refs) == [f"D-{YEAR}-{n:04d}" for n in range(1, 21)]  # type: ignore[type-var]
    assert count(db, Quote) == 20


def test_concurrent_service_done_requests_are_numbered_uniquely(db: SessionFactory) -> None:
    """Ten service-done requests at once on one order: ten distinct SF references, none beyond the order."""
    ref = submit(db, 1_000)
    validate(db, ref)
    refs = run_together(10, lambda i: ask_service_done(db, ref, 100))
    assert sorted(refs) == [f"SF-{YEAR}-{n:04d}" for n in range(1, 11)]  # type: ignore[type-var]


# --------------------------------------------------------------------------- import


def table_rows(sessions: SessionFactory) -> dict[str, list[tuple[Any, ...]]]:
    from sqlmodel import SQLModel

    with unit_of_work(sessions) as session:
        return {
            table.name: sorted(tuple(map(str, row)) for row in session.execute(sa.select(table)).all())
            for table in SQLModel.metadata.sorted_tables
        }


def test_importing_the_same_reference_data_twice_changes_nothing(db: SessionFactory) -> None:
    """The second import reports no change and leaves every row as it was."""
    from bot.demo import demo_reference_text
    from handlers.importer import parse_reference
    from storage.reference import import_reference

    before = table_rows(db)
    data = parse_reference(demo_reference_text(YEAR))
    for person in data.people:  # as load_world gave them
        data.accounts.setdefault(person.id, {}).update(slack=slack_id(person.id), mattermost=mattermost_id(person.id))
    with unit_of_work(db) as session:
        report = import_reference(session=session, data=data)
    assert not report.changed, (report.created, report.updated)
    assert table_rows(db) == before


def test_an_allocation_cannot_be_lowered_below_what_is_committed(db: SessionFactory) -> None:
    """Re-importing a smaller AE than already committed is refused (naming the year), and the whole import with it."""
    from bot.demo import demo_reference_text
    from handlers.importer import parse_reference
    from storage.reference import AllocationBelowUse, import_reference

    validate(db, submit(db, 60_000))
    text = demo_reference_text(YEAR).replace('ae = "1500000"', 'ae = "50000"').replace(
        'name = "Léa Dupont"', 'name = "Léa Durand"')
    before = table_rows(db)
    with pytest.raises(AllocationBelowUse) as refused, unit_of_work(db) as session:
        import_reference(session=session, data=parse_reference(text))
    assert (refused.value.year, refused.value.credits) == (YEAR, "AE")
    assert table_rows(db) == before


def _rows_and_sequences(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table (and, on PostgreSQL, every sequence's position), to compare two databases."""
    with engine.connect() as conn:
        found = {name: sorted(repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
                 for name in sa.inspect(conn).get_table_names()}
        if engine.dialect.name == "postgresql":
            from tests.conftest import _sequences

            for name in _sequences(conn):
                found[f"sequence {name}"] = [repr(tuple(conn.execute(sa.text(
                    f"SELECT last_value, is_called FROM {name}")).one()))]
    return found


def test_a_tests_world_is_row_for_row_what_importing_it_writes(any_world: Engine, tmp_path: Any,
                                                               sqlite_template: Any) -> None:
    """The demo world a test starts from (a copied file, a restored snapshot) is what `load_world` writes in an
    empty database, sequences included: the shortcut changes no test's starting point."""
    from tests.conftest import _truncate_all, fresh_sqlite, load_world

    started = _rows_and_sequences(any_world)
    if any_world.dialect.name == "postgresql":
        imported = any_world
        _truncate_all(imported)
    else:
        (tmp_path / "imported").mkdir()
        imported = fresh_sqlite(sqlite_template, tmp_path / "imported")
    load_world(session_factory(imported), NOW)
    assert started["person"] and started["allocation"]
    assert _rows_and_sequences(imported) == started
