"""References D-YYYY-NNNN and SF-YYYY-NNNN come from a counter row moved by a guarded UPDATE: fifty people
submitting at the same instant all succeed with fifty consecutive references (SQLite and PostgreSQL),
and migration 0004 seeds the counters from what is already numbered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.compose import compose
from bot.config import Settings
from bot.runtime import Runtime
from handlers.types import Request
from storage import ledger
from storage.db import make_engine, session_factory, unit_of_work, upgrade
from tests.conftest import NOW, Clock, load_world
from tests.test_storage import run_together

YEAR = NOW.year
SUBMISSIONS = 50
SUBMITTERS = ("lea.dupont", "julien.moreau", "camille.martin")  # a coach and an intrapreneur of Dédale, a manager


@pytest.fixture
def runtime(any_world: Engine) -> Runtime:
    """The whole bot in the demo world, on a SQLite file then on PostgreSQL."""
    return compose(Settings(database_url=str(any_world.url)), clock=Clock(), engine=any_world,
                         migrate=False, plugs=()).runtime


def test_fifty_simultaneous_submissions_get_fifty_consecutive_references(runtime: Runtime) -> None:
    """Fifty `devis` typed at the same instant (threads released by a barrier): every one is recorded, with
    the references D-YYYY-0001 to D-YYYY-0050, each once."""

    def submit(i: int) -> str:
        who = SUBMITTERS[i % len(SUBMITTERS)]
        return runtime.bot.message(Request("console", who, f"devis dedale; {100 + i}; Arawa; Lot {i}")).text

    answers = run_together(SUBMISSIONS, submit)

    assert not [a for a in answers if "enregistré" not in str(a)], answers
    refs = sorted(str(a).split("**")[1] for a in answers)
    assert refs == [f"D-{YEAR}-{n:04d}" for n in range(1, SUBMISSIONS + 1)]
    with unit_of_work(runtime.services.sessions) as session:
        stored = session.execute(sa.text("SELECT reference, object FROM quote ORDER BY seq")).all()
        audited = session.execute(sa.text(
            "SELECT count(*) FROM audit_event WHERE action = 'quote.submitted'")).scalar_one()
    assert [r for r, _ in stored] == refs and audited == SUBMISSIONS
    assert sorted(o for _, o in stored) == sorted(f"Lot {i}" for i in range(SUBMISSIONS))


def test_a_rolled_back_submission_gives_its_number_back(runtime: Runtime) -> None:
    """A submission whose transaction fails after numbering leaves no gap: the next one takes that number."""
    sessions = runtime.services.sessions
    with pytest.raises(RuntimeError), unit_of_work(sessions) as session:
        ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont", amount_cents=100,
                            amount_ht_cents=None, supplier="Arawa", object="x", platform="console", now=NOW,
                            year=YEAR)
        raise RuntimeError("the request fails after its quote was numbered")
    said = runtime.bot.message(Request("console", "lea.dupont", "devis dedale; 1; Arawa; x"))
    assert f"D-{YEAR}-0001" in said.text


def test_quotes_generated_for_benchmarks_take_their_numbers_from_the_counter(runtime: Runtime) -> None:
    """Bulk-generated quotes move the counter too: the next submission is numbered after them."""
    from bot.demo import generate_quotes

    said = runtime.bot.message(Request("console", "lea.dupont", "devis dedale; 1; Arawa; x"))
    assert f"D-{YEAR}-0001" in said.text
    generate_quotes(runtime.services.sessions, NOW, 5, batch=2)
    said = runtime.bot.message(Request("console", "lea.dupont", "devis dedale; 1; Arawa; x"))
    assert f"D-{YEAR}-0007" in said.text


# --------------------------------------------------------------------------- migration 0004


def _world_at_0003(engine: Engine) -> None:
    """The demo reference data written by today's models (at head), then the schema taken back to 0003."""
    from alembic import command

    from storage.db import alembic_config

    upgrade(engine)
    load_world(session_factory(engine), NOW)
    command.downgrade(alembic_config(engine), "0003")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0003(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database migrated up to 0003 only (before the counters), with the demo reference data."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'incubot.db'}")
        _world_at_0003(engine)
        yield engine
        engine.dispose()
        return
    from tests.conftest import throwaway_pg_database

    with throwaway_pg_database("incubot_counters") as url:
        engine = make_engine(url)
        _world_at_0003(engine)
        yield engine
        engine.dispose()


def numbered_before_0004(engine: Engine) -> None:
    """Quotes and service done numbered the old way: D-2025-0001..0003, D-2026-0001..0007, SF-2026-0001..0002."""
    with engine.begin() as conn:
        for year, count in ((YEAR - 1, 3), (YEAR, 7)):
            for seq in range(1, count + 1):
                conn.execute(sa.text(
                    "INSERT INTO quote (reference, year, seq, startup_id, submitted_by, platform, amount_cents, "
                    "supplier, object, status, created_at, certified_cents) VALUES (:ref, :year, :seq, 'dedale', "
                    "'lea.dupont', 'console', 100000, 'Arawa', 'Sprint', 'validated', :at, 0)"),
                    {"ref": f"D-{year}-{seq:04d}", "year": year, "seq": seq, "at": NOW.replace(tzinfo=None)})
        order = conn.execute(sa.text("SELECT id FROM quote WHERE reference = :r"), {"r": f"D-{YEAR}-0001"}).scalar()
        for seq in (1, 2):
            conn.execute(sa.text(
                "INSERT INTO service_done (reference, year, seq, quote_id, submitted_by, platform, amount_cents, "
                "status, created_at) VALUES (:ref, :year, :seq, :order, 'lea.dupont', 'console', 100, 'pending', "
                ":at)"), {"ref": f"SF-{YEAR}-{seq:04d}", "year": YEAR, "seq": seq, "order": order,
                          "at": NOW.replace(tzinfo=None)})


def test_migration_0004_seeds_the_counters_from_what_is_already_numbered(at_0003: Engine) -> None:
    """Upgrading a database that holds references numbers the next ones after them, per kind and year;
    a year without references starts at 0001; the downgrade drops the counters."""
    from alembic import command

    from storage.db import alembic_config

    numbered_before_0004(at_0003)
    upgrade(at_0003)
    with at_0003.connect() as conn:
        counters = conn.execute(sa.text("SELECT prefix, year, last FROM reference_counter ORDER BY prefix, year")).all()
    assert [tuple(c) for c in counters] == [("D", YEAR - 1, 3), ("D", YEAR, 7), ("SF", YEAR, 2)]

    sessions = session_factory(at_0003)
    with unit_of_work(sessions) as session:
        quote = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                    amount_cents=100, amount_ht_cents=None, supplier="Arawa", object="x",
                                    platform="console", now=NOW, year=YEAR)
        later = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                    amount_cents=100, amount_ht_cents=None, supplier="Arawa", object="x",
                                    platform="console", now=NOW, year=YEAR + 1)
        row, _ = ledger.create_service_done(session=session, quote_reference=f"D-{YEAR}-0002",
                                            submitted_by="lea.dupont", amount_cents=100, period=None,
                                            platform="console", now=NOW, year=YEAR)
        assert (quote.reference, later.reference, row.reference) == (f"D-{YEAR}-0008", f"D-{YEAR + 1}-0001",
                                                                     f"SF-{YEAR}-0003")

    command.downgrade(alembic_config(at_0003), "0003")
    assert "reference_counter" not in sa.inspect(at_0003).get_table_names()
