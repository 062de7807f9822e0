"""The order chain in storage, on SQLite and PostgreSQL: réservées → engagées → à payer → consommés,
the year of each movement, restes à payer kept as counters, closing an order in its year or later,
withdrawal, the guards — and migration 0010 carrying yesterday's data into the new states."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage import ledger
from storage.db import SessionFactory, make_engine, session_factory, unit_of_work, upgrade
from storage.errors import (
    AlreadyDecided,
    EJAlreadyUsed,
    InsufficientCredits,
    InvalidEJ,
    OrderNotPlaced,
    ServiceDoneWaiting,
    WrongStatus,
)
from storage.models import Allocation, StartupYearTotal
from tests.conftest import NOW, load_world

YEAR = NOW.year  # AE 1 500 000 € / CP 1 700 000 € this year; AE 800 000 € / CP 650 000 € last year
EJ = "2100123456"


@pytest.fixture
def db(any_world: Engine) -> SessionFactory:
    return session_factory(any_world)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def submit(db: SessionFactory, euros: int, when: datetime = NOW) -> str:
    with unit_of_work(db) as session:
        return ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                   amount_cents=euros * 100, amount_ht_cents=None, supplier="Scopyleft",
                                   object="Sprints", platform="console", now=when, year=when.year).reference


def validate(db: SessionFactory, ref: str, when: datetime = NOW) -> None:
    with unit_of_work(db) as session:
        ledger.validate_quote(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                              now=when, year=when.year)


def order(db: SessionFactory, ref: str, when: datetime = NOW, ej: str = EJ, bc: str | None = "BC-42") -> None:
    with unit_of_work(db) as session:
        ledger.place_order(session=session, reference=ref, ej=ej, bc=bc, actor_id="camille.martin",
                           platform="console", now=when, year=when.year)


def service_done(db: SessionFactory, ref: str, euros: int, when: datetime = NOW, certify: bool = True) -> str:
    with unit_of_work(db) as session:
        row, _ = ledger.create_service_done(session=session, quote_reference=ref, submitted_by="lea.dupont",
                                            amount_cents=euros * 100, period="octobre", platform="console",
                                            now=when, year=when.year)
        sd = row.reference
    if certify:
        with unit_of_work(db) as session:
            ledger.certify_service_done(session=session, reference=sd, actor_id="julien.moreau", platform="console",
                                        now=when, year=when.year)
    return sd


def pay(db: SessionFactory, sd: str, on: date) -> None:
    with unit_of_work(db) as session:
        ledger.record_payment(session=session, reference=sd, paid_on=on, actor_id="camille.martin",
                              platform="console", now=datetime.combine(on, datetime.min.time(), UTC))


def close(db: SessionFactory, ref: str, when: datetime = NOW) -> None:
    with unit_of_work(db) as session:
        ledger.close_order(session=session, reference=ref, actor_id="camille.martin", platform="console",
                           now=when, year=when.year, reason="Fin anticipée")


def figures(db: SessionFactory, year: int = YEAR) -> dict[str, int]:
    with unit_of_work(db) as session:
        b = ledger.year_balance(session=session, year=year)
    return {"reserved": b.ae_reserved_cents // 100, "engaged": b.ae_engaged_cents // 100,
            "to_pay": b.cp_to_pay_cents // 100, "consumed": b.cp_consumed_cents // 100,
            "restes": b.restes_cents // 100, "restes_all": b.restes_all_years_cents // 100}


def startup_row(db: SessionFactory, year: int = YEAR) -> tuple[int, ...]:
    with unit_of_work(db) as session:
        row = session.get(StartupYearTotal, ("dedale", year))
        if row is None:
            return (0, 0, 0, 0, 0)
        return tuple(c // 100 for c in (row.reserved_cents, row.engaged_cents, row.to_pay_cents, row.paid_cents,
                                        row.restes_cents))


def actions(db: SessionFactory, ref: str) -> list[str]:
    with unit_of_work(db) as session:
        return [e.action for e in ledger.audit_trail(session=session, subject=ref)]


def test_the_whole_chain_moves_each_counter_once(db: SessionFactory) -> None:
    """Validated: réservées; ordered: engagées and restes à payer; certified: CP à payer; paid: consommés and the
    restes drop — the year counters and the startup's move together, each step audited once."""
    ref = submit(db, 10_000)
    validate(db, ref)
    assert figures(db) == {"reserved": 10_000, "engaged": 0, "to_pay": 0, "consumed": 0, "restes": 0,
                           "restes_all": 0}
    order(db, ref)
    assert figures(db) == {"reserved": 0, "engaged": 10_000, "to_pay": 0, "consumed": 0, "restes": 10_000,
                           "restes_all": 10_000}
    sd = service_done(db, ref, 4_000)
    assert figures(db)["to_pay"] == 4_000 and figures(db)["restes"] == 10_000
    pay(db, sd, NOW.date())
    assert figures(db) == {"reserved": 0, "engaged": 10_000, "to_pay": 0, "consumed": 4_000, "restes": 6_000,
                           "restes_all": 6_000}
    assert startup_row(db) == (0, 10_000, 0, 4_000, 6_000)
    with unit_of_work(db) as session:
        quote = ledger.get_quote(session=session, reference=ref)
        assert (quote.status, quote.ej, quote.bc, quote.certified_cents, quote.paid_cents) == (
            "ordered", EJ, "BC-42", 400_000, 400_000)
        assert ledger.get_service_done(session=session, reference=sd).status == "paid"
    assert actions(db, ref) == ["quote.submitted", "quote.validated", "quote.ordered", "service_done.submitted",
                                "service_done.certified", "service_done.paid"]
    assert actions(db, sd) == ["service_done.submitted", "service_done.certified", "service_done.paid"]



def orders_until(db: SessionFactory, year: int, day: date) -> None:
    """That year's fin de gestion for orders, as ``orders_until`` in the reference file sets it."""
    with unit_of_work(db) as session:
        session.exec(select(Allocation).where(Allocation.year == year)).one().orders_until = day


def test_validated_on_20_december_ordered_on_5_january_moves_its_reservation(db: SessionFactory) -> None:
    """A quote validated on 20 December is reserved in that year; its order on 5 January releases last year's
    AE and engages this year's, guarded there."""
    orders_until(db, YEAR - 1, date(YEAR - 1, 12, 23))  # this year, orders close on 23 December
    ref = submit(db, 50_000, at(YEAR - 1, 12, 18))
    validate(db, ref, at(YEAR - 1, 12, 20))
    assert figures(db, YEAR - 1)["reserved"] == 50_000
    order(db, ref, at(YEAR, 1, 5))
    assert figures(db, YEAR - 1)["reserved"] == 0 and figures(db, YEAR - 1)["engaged"] == 0
    assert figures(db, YEAR)["engaged"] == 50_000 and figures(db, YEAR)["restes"] == 50_000
    assert startup_row(db, YEAR - 1) == (0, 0, 0, 0, 0) and startup_row(db, YEAR) == (0, 50_000, 0, 0, 50_000)
    with unit_of_work(db) as session:
        assert ledger.get_quote(session=session, reference=ref).commitment_year == YEAR


def test_an_order_moved_into_a_full_year_is_refused_and_nothing_moves(db: SessionFactory) -> None:
    """Ordered in January when the new year's AE cannot take it: refused, the reservation stays in December's year."""
    orders_until(db, YEAR - 1, date(YEAR - 1, 12, 23))  # this year, orders close on 23 December
    ref = submit(db, 50_000, at(YEAR - 1, 12, 18))
    validate(db, ref, at(YEAR - 1, 12, 20))
    with unit_of_work(db) as session:
        session.exec(select(Allocation).where(Allocation.year == YEAR)).one().ae_cents = 40_000_00
    with pytest.raises(InsufficientCredits) as refused:
        order(db, ref, at(YEAR, 1, 5))
    assert (refused.value.kind, refused.value.year, refused.value.available_cents) == ("ae", YEAR, 40_000_00)
    assert figures(db, YEAR - 1)["reserved"] == 50_000 and figures(db, YEAR)["engaged"] == 0
    assert actions(db, ref)[-1] == "quote.validated"


def test_a_payment_over_the_years_cp_is_refused_and_a_certification_never_is(db: SessionFactory) -> None:
    """Last year's CP (650 000 €) take a 600 000 € payment, not a second 100 000 € one; both services were
    certified all the same."""
    ref = submit(db, 700_000, at(YEAR - 1, 3, 1))
    validate(db, ref, at(YEAR - 1, 3, 2))
    order(db, ref, at(YEAR - 1, 3, 10))
    big = service_done(db, ref, 600_000, at(YEAR - 1, 6, 1))
    small = service_done(db, ref, 100_000, at(YEAR - 1, 7, 1))
    assert figures(db, YEAR - 1)["to_pay"] == 700_000
    pay(db, big, date(YEAR - 1, 7, 15))
    with pytest.raises(InsufficientCredits) as refused:
        pay(db, small, date(YEAR - 1, 8, 1))
    assert (refused.value.kind, refused.value.available_cents) == ("cp", 50_000_00)
    assert figures(db, YEAR - 1)["consumed"] == 600_000 and figures(db, YEAR - 1)["to_pay"] == 100_000
    pay(db, small, date(YEAR, 1, 20))  # paid with this year's CP: the year of the movement
    assert figures(db, YEAR - 1)["to_pay"] == 0 and figures(db, YEAR)["consumed"] == 100_000
    assert figures(db, YEAR - 1)["restes"] == 0


def test_closing_in_the_orders_year_frees_the_ae_a_later_closing_only_the_restes(db: SessionFactory) -> None:
    """Closed in its year, what was never certified is free again; closed the next year, last year's AE stay
    engaged and only the restes à payer drop."""
    this = submit(db, 10_000)
    validate(db, this)
    order(db, this)
    service_done(db, this, 3_000)
    close(db, this)
    assert figures(db)["engaged"] == 3_000 and figures(db)["restes"] == 3_000  # 3 000 certified, still to pay
    last = submit(db, 20_000, at(YEAR - 1, 5, 1))
    validate(db, last, at(YEAR - 1, 5, 2))
    order(db, last, at(YEAR - 1, 5, 3), ej="2100999999")
    service_done(db, last, 5_000, at(YEAR - 1, 6, 1))
    close(db, last, at(YEAR, 2, 1))
    assert figures(db, YEAR - 1)["engaged"] == 20_000 and figures(db, YEAR - 1)["restes"] == 5_000
    with unit_of_work(db) as session:
        closed = ledger.get_quote(session=session, reference=last)
    assert (closed.status, closed.released_cents, closed.close_reason) == ("closed", 15_000_00, "Fin anticipée")


def test_an_order_with_a_service_done_waiting_is_not_closed(db: SessionFactory) -> None:
    """`solder` while a service done waits for certification: refused with its reference."""
    ref = submit(db, 10_000)
    validate(db, ref)
    order(db, ref)
    waiting = service_done(db, ref, 1_000, certify=False)
    with pytest.raises(ServiceDoneWaiting) as refused:
        close(db, ref)
    assert refused.value.waiting == (waiting,)


def test_a_service_done_before_the_order_is_certified_but_paid_only_once_ordered(db: SessionFactory) -> None:
    """Filed and certified on a validated quote whose order is not recorded; its payment waits for the EJ."""
    ref = submit(db, 10_000)
    validate(db, ref)
    sd = service_done(db, ref, 2_000)
    with pytest.raises(OrderNotPlaced):
        pay(db, sd, NOW.date())
    order(db, ref)
    pay(db, sd, NOW.date())
    assert figures(db)["restes"] == 8_000


def test_bad_input_changes_nothing(db: SessionFactory) -> None:
    """A bad EJ, an EJ already used, a wrong state: refused, nothing moves, nothing is audited."""
    ref = submit(db, 10_000)
    with pytest.raises(WrongStatus):
        order(db, ref)  # still pending
    validate(db, ref)
    for bad in ("12345", "21001234567", "21OO123456", ""):
        with pytest.raises(InvalidEJ):
            order(db, ref, ej=bad)
    other = submit(db, 1_000)
    validate(db, other)
    order(db, other)
    with pytest.raises(EJAlreadyUsed) as used:
        order(db, ref)
    assert used.value.reference == other
    with pytest.raises(WrongStatus):
        close(db, ref)  # not ordered
    with pytest.raises(AlreadyDecided), unit_of_work(db) as session:
        ledger.withdraw_quote(session=session, reference=ref, actor_id="lea.dupont", platform="console", now=NOW)
    assert actions(db, ref) == ["quote.submitted", "quote.validated"]
    assert figures(db)["reserved"] == 10_000
    order(db, ref, ej="21 0000 0001")  # spaces as people type them
    with unit_of_work(db) as session:
        assert ledger.get_quote(session=session, reference=ref).ej == "2100000001"


def test_a_pending_quote_is_withdrawn_and_leaves_the_pending_totals(db: SessionFactory) -> None:
    """`retirer`: the quote ends, nothing was reserved, the startup's pending total goes down."""
    ref = submit(db, 10_000)
    with unit_of_work(db) as session:
        ledger.withdraw_quote(session=session, reference=ref, actor_id="lea.dupont", platform="console", now=NOW)
    with unit_of_work(db) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "withdrawn"
        assert ledger.pending_by_startup(session=session).get("dedale", (0, 0)) == (0, 0)
    assert figures(db)["reserved"] == 0 and actions(db, ref) == ["quote.submitted", "quote.withdrawn"]


# --------------------------------------------------------------------------- migration 0010


def _at_0009(engine: Engine) -> None:
    from alembic import command

    from storage.db import alembic_config

    upgrade(engine)
    load_world(session_factory(engine), NOW)
    command.downgrade(alembic_config(engine), "0009")
    with engine.begin() as conn:
        for seq, status, year in ((1, "validated", YEAR), (2, "validated", YEAR - 1), (3, "pending", None)):
            conn.execute(sa.text(
                "INSERT INTO quote (reference, year, seq, startup_id, submitted_by, platform, amount_cents, supplier, "
                "object, status, created_at, decided_at, decided_by, commitment_year, certified_cents) VALUES "
                "(:ref, :y, :seq, 'dedale', 'lea.dupont', 'console', 1000000, 'Arawa', 'x', :status, :at, :at, "
                ":who, :cy, :cert)"),
                {"ref": f"D-{YEAR}-{seq:04d}", "y": YEAR, "seq": seq, "status": status, "at": NOW.replace(tzinfo=None),
                 "who": "julien.moreau" if year else None, "cy": year, "cert": 400000 if seq == 1 else 0})
        first = conn.execute(sa.text("SELECT id FROM quote WHERE seq = 1")).scalar()
        conn.execute(sa.text(
            "INSERT INTO service_done (reference, year, seq, quote_id, submitted_by, platform, amount_cents, status, "
            "created_at, decided_at, decided_by, consumption_year) VALUES (:ref, :y, 1, :q, 'lea.dupont', 'console', "
            "400000, 'certified', :at, :at, 'julien.moreau', :y)"),
            {"ref": f"SF-{YEAR}-0001", "y": YEAR, "q": first, "at": NOW.replace(tzinfo=None)})
        conn.execute(sa.text("UPDATE allocation SET ae_committed_cents = 1000000, cp_consumed_cents = 400000 "
                             "WHERE year = :y"), {"y": YEAR})
        conn.execute(sa.text("UPDATE allocation SET ae_committed_cents = 1000000 WHERE year = :y"), {"y": YEAR - 1})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0009(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database at 0009 (before the order chain): two validated quotes, one with a certified service done,
    and a pending one."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'incubot.db'}")
        _at_0009(engine)
        yield engine
        engine.dispose()
        return
    from tests.conftest import throwaway_pg_database

    with throwaway_pg_database("incubot_chain") as url:
        engine = make_engine(url)
        _at_0009(engine)
        yield engine
        engine.dispose()


def test_migration_0010_reserves_validated_quotes_and_puts_certified_cp_to_pay(at_0009: Engine) -> None:
    """Upgraded: validated quotes are AE réservées, the certified service done CP à payer (nothing consumed), the
    startup counters filled; the chain then goes on; the downgrade gives yesterday's figures back."""
    from alembic import command

    from storage.db import alembic_config

    upgrade(at_0009)
    db = session_factory(at_0009)
    assert figures(db) == {"reserved": 10_000, "engaged": 0, "to_pay": 4_000, "consumed": 0, "restes": 0,
                           "restes_all": 0}
    assert startup_row(db) == (10_000, 0, 4_000, 0, 0) and startup_row(db, YEAR - 1) == (10_000, 0, 0, 0, 0)
    with unit_of_work(db) as session:
        assert ledger.pending_by_startup(session=session)["dedale"] == (1, 1_000_000)
    order(db, f"D-{YEAR}-0001")
    pay(db, f"SF-{YEAR}-0001", NOW.date())
    assert figures(db)["restes"] == 6_000 and figures(db)["consumed"] == 4_000
    validate(db, f"D-{YEAR}-0003")  # the pending_total triggers survived SQLite's copy of the table
    with unit_of_work(db) as session:
        assert ledger.pending_by_startup(session=session)["dedale"] == (0, 0)

    command.downgrade(alembic_config(at_0009), "0009")
    with at_0009.connect() as conn:
        statuses = conn.execute(sa.text("SELECT reference, status FROM quote ORDER BY seq")).all()
        cp = conn.execute(sa.text("SELECT cp_consumed_cents FROM allocation WHERE year = :y"), {"y": YEAR}).scalar()
        sd = conn.execute(sa.text("SELECT status FROM service_done")).scalar()
    assert [s for _, s in statuses] == ["validated", "validated", "validated"] and sd == "certified"
    assert cp == 400_000


def test_migration_0010_engages_what_the_operator_says_was_ordered(at_0009: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`INCUBOT_MIGRATE_ENGAGED=D-…:EJ` (or `alembic -x engaged=…`): that quote is ordered in its year, with its EJ,
    its AE engagées and in the restes à payer; the other stays reserved."""
    monkeypatch.setenv("INCUBOT_MIGRATE_ENGAGED", f"D-{YEAR}-0001:{EJ}")
    upgrade(at_0009)
    db = session_factory(at_0009)
    assert figures(db) == {"reserved": 0, "engaged": 10_000, "to_pay": 4_000, "consumed": 0, "restes": 10_000,
                           "restes_all": 10_000}
    assert figures(db, YEAR - 1)["reserved"] == 10_000
    with unit_of_work(db) as session:
        quote = ledger.get_quote(session=session, reference=f"D-{YEAR}-0001")
        assert (quote.status, quote.ej, quote.ordered_by) == ("ordered", EJ, "julien.moreau")
    pay(db, f"SF-{YEAR}-0001", NOW.date() + timedelta(days=1))
    assert figures(db)["restes"] == 6_000
