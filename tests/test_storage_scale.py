"""Storage at scale: the pending totals kept by triggers, and the migrations up and down on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage import ledger
from storage.db import SessionFactory, current_revision, make_engine, session_factory, unit_of_work, upgrade
from storage.errors import InsufficientCredits
from storage.models import Quote
from tests.conftest import NOW, load_world

YEAR = NOW.year


@pytest.fixture
def db(any_world: Engine) -> SessionFactory:
    return session_factory(any_world)


def submit(sessions: SessionFactory, euros: int, startup: str) -> str:
    with unit_of_work(sessions) as session:
        return ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont",
                                   amount_cents=euros * 100, amount_ht_cents=None, supplier="Scopyleft",
                                   object="Sprint", platform="console", now=NOW, year=YEAR).reference


def summed_from_quotes(sessions: SessionFactory) -> dict[str, tuple[int, int]]:
    with unit_of_work(sessions) as session:
        rows = session.exec(select(Quote.startup_id, sa.func.count(), sa.func.sum(Quote.amount_cents))
                            .where(Quote.status == "pending").group_by(Quote.startup_id)).all()
    return {sid: (int(n), int(total)) for sid, n, total in rows}


def kept_totals(sessions: SessionFactory) -> dict[str, tuple[int, int]]:
    with unit_of_work(sessions) as session:
        return {sid: v for sid, v in ledger.pending_by_startup(session=session).items() if v != (0, 0)}


def test_pending_totals_follow_every_submission_decision_and_bulk_insert(db: SessionFactory) -> None:
    """Submitting, validating, refusing and a bulk insert keep pending_total equal to the sum over quotes."""
    refs = [submit(db, euros, startup) for euros, startup in
            [(1000, "dedale"), (2500, "dedale"), (700, "euphrosyne"), (90, "locadocs")]]
    assert kept_totals(db) == summed_from_quotes(db) == {
        "dedale": (2, 350_000), "euphrosyne": (1, 70_000), "locadocs": (1, 9_000)}

    with unit_of_work(db) as session:
        ledger.validate_quote(session=session, reference=refs[0], actor_id="julien.moreau", platform="console",
                              now=NOW, year=YEAR)
        ledger.refuse_quote(session=session, reference=refs[3], actor_id="nadia.benali", platform="console",
                            reason="non", now=NOW)
    assert kept_totals(db) == summed_from_quotes(db) == {"dedale": (1, 250_000), "euphrosyne": (1, 70_000)}

    from bot.demo import generate_quotes

    generate_quotes(db, NOW, 300, batch=100)
    assert kept_totals(db) == summed_from_quotes(db)


def test_a_rolled_back_validation_leaves_the_pending_totals_alone(db: SessionFactory) -> None:
    """A validation refused for lack of AE rolls back the status change, and the totals with it."""
    ref = submit(db, 2_000_000, "dedale")  # more than the year's 1 500 000 € of AE
    with pytest.raises(InsufficientCredits), unit_of_work(db) as session:
        ledger.validate_quote(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                              now=NOW, year=YEAR)
    assert kept_totals(db) == summed_from_quotes(db) == {"dedale": (1, 200_000_000)}


@pytest.fixture
def empty_pg() -> Iterator[Engine]:
    """A brand-new PostgreSQL database with no schema at all."""
    from tests.conftest import throwaway_pg_database

    with throwaway_pg_database("incubot_migr") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.mark.postgres
def test_migrations_go_up_down_and_up_again_on_postgresql(empty_pg: Engine) -> None:
    """`incubot db upgrade` builds the schema on PostgreSQL; every downgrade undoes it, triggers included."""
    from alembic import command

    from storage.db import alembic_config

    upgrade(empty_pg)
    head = current_revision(empty_pg)
    tables = set(sa.inspect(empty_pg).get_table_names())
    assert {"quote", "allocation", "outbox", "pending_total", "alembic_version"} <= tables

    command.downgrade(alembic_config(empty_pg), "base")
    assert current_revision(empty_pg) is None
    assert set(sa.inspect(empty_pg).get_table_names()) <= {"alembic_version"}
    with empty_pg.connect() as conn:
        functions = conn.execute(sa.text("SELECT proname FROM pg_proc WHERE proname LIKE 'incubot_%'")).all()
    assert functions == []

    upgrade(empty_pg)
    assert current_revision(empty_pg) == head
    sessions = session_factory(empty_pg)
    load_world(sessions, NOW)
    submit(sessions, 1000, "dedale")
    assert kept_totals(sessions) == {"dedale": (1, 100_000)}


@pytest.mark.postgres
def test_instances_starting_together_on_an_empty_postgresql_database_migrate_it_once(empty_pg: Engine) -> None:
    """Three upgrade() at the same instant on an empty database: one migrates, the others wait; none fails."""
    import threading

    url = empty_pg.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(3)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert current_revision(empty_pg) is not None
    assert "pending_total" in sa.inspect(empty_pg).get_table_names()
