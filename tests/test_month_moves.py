"""The monthly report's moves (``startup_month_move``, migration 0012): each step of the order chain writes
its move in the month it happens, and the upgrade of a database that predates them rebuilds the very same
rows from the dated steps, so a past month's report gives the figures it gave."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from bot.demo import load_demo
from storage.db import alembic_config, session_factory, unit_of_work, upgrade
from storage.ledger.writes import month_of
from storage.reports import month_figures
from tests.test_accounts import rows

NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
MOVES = ("SELECT startup_id, year, month, reserved_cents, engaged_cents, to_pay_cents, paid_cents, restes_cents, "
         "pending_quotes, pending_cents FROM startup_month_move WHERE reserved_cents <> 0 OR engaged_cents <> 0 "
         "OR to_pay_cents <> 0 OR paid_cents <> 0 OR restes_cents <> 0 OR pending_quotes <> 0 OR pending_cents <> 0")


def test_a_step_is_kept_in_the_month_it_happened_in_paris_time() -> None:
    """A step at 23:30 UTC on 30 November is made on 1 December in Paris: December's."""
    assert month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == 202612
    assert month_of(datetime(2026, 11, 30, 22, 30)) == 202611  # naive: UTC, 23:30 in Paris


def test_the_upgrade_rebuilds_the_moves_the_steps_wrote(any_engine: Engine) -> None:
    """The demo's chain (validated, ordered, certified, paid, closed, withdrawn, refused, pending) written by the
    ledger, then the table dropped (downgrade to 0011) and rebuilt by the upgrade: the same rows, the same
    October report."""
    load_demo(session_factory(any_engine), NOW)
    written = rows(any_engine, MOVES)
    with unit_of_work(session_factory(any_engine)) as session:
        october = month_figures(session=session, year=2026, month=10)
    assert len({r[0] for r in written}) >= 3 and len({r[2] for r in written}) >= 4  # startups, months

    command.downgrade(alembic_config(any_engine), "0011")
    assert "startup_month_move" not in sa.inspect(any_engine).get_table_names()
    upgrade(any_engine)

    assert rows(any_engine, MOVES) == written
    with unit_of_work(session_factory(any_engine)) as session:
        assert month_figures(session=session, year=2026, month=10) == october
