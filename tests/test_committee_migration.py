"""The committee migration (decisions, envelopes, inputs) carries a database's committees and quotes up and
down, on SQLite and PostgreSQL, and leaves the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from storage.db import alembic_config, upgrade
from tests.test_accounts import empty_engine, rows  # noqa: F401 - the fixture

REVISION = "0009"
BEFORE = "0008"
TABLES = {"envelope", "committee_decision", "envelope_quote", "committee_input"}


def seed(engine: Engine) -> None:
    """Committees, a startup and a validated quote, as a database before the migration holds them."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO committee (held_on) VALUES ('2026-06-16'), ('2026-12-15')"))
        conn.execute(sa.text("INSERT INTO person (id, name, email, is_manager, is_admin, active) "
                             "VALUES ('lea.dupont', 'Léa', '', false, false, true)"))
        conn.execute(sa.text("INSERT INTO startup (id, name, phase, active) VALUES ('dedale', 'Dédale', "
                             "'construction', true)"))
        conn.execute(sa.text(
            "INSERT INTO quote (reference, year, seq, startup_id, submitted_by, platform, amount_cents, supplier, "
            "object, status, created_at, certified_cents) VALUES ('D-2026-0001', 2026, 1, 'dedale', 'lea.dupont', "
            "'console', 100, 'Arawa', 'Audit', 'pending', '2026-11-05 09:00:00', 0)"))


def test_the_committee_migration_carries_committees_and_quotes_up_and_down(empty_engine: Engine) -> None:  # noqa: F811
    """Up: the committees keep their dates (no president, every startup reviewed) and an envelope can be written;
    down: the new tables and columns are gone, the committees and the quote are still there; up again works."""
    upgrade(empty_engine, BEFORE)
    seed(empty_engine)
    upgrade(empty_engine, REVISION)
    assert [(str(day), president, startups) for day, president, startups in
            rows(empty_engine, "SELECT held_on, president_id, startups FROM committee")] == [
        ("2026-06-16", None, None), ("2026-12-15", None, None)]
    assert set(sa.inspect(empty_engine).get_table_names()) >= TABLES
    with empty_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO envelope (startup_id, committee_id, kind, starts_on, ends_on, amount_cents, "
                             "reserved_cents) VALUES ('dedale', 1, 'poursuite', '2026-06-16', '2027-06-30', 100, 0)"))
    command.downgrade(alembic_config(empty_engine), BEFORE)
    assert not TABLES & set(sa.inspect(empty_engine).get_table_names())
    assert "president_id" not in {c["name"] for c in sa.inspect(empty_engine).get_columns("committee")}
    assert len(rows(empty_engine, "SELECT held_on FROM committee")) == 2
    assert rows(empty_engine, "SELECT reference FROM quote") == [("D-2026-0001",)]
    upgrade(empty_engine)
    assert set(sa.inspect(empty_engine).get_table_names()) >= TABLES


def test_the_migrated_committee_tables_are_the_models(empty_engine: Engine) -> None:  # noqa: F811
    """After every migration the committee tables, columns and constraints are what storage/models.py says."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401

    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    touched = [d for d in diff if any(name in repr(d) for name in (*TABLES, "'committee'", "president_id"))]
    assert touched == []
