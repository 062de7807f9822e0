"""The PostgreSQL engine prepares a statement on its first use on a connection."""

from __future__ import annotations

import sqlalchemy as sa

from storage.db import make_engine


def test_postgresql_statements_are_prepared_from_their_first_use(pg_database: str) -> None:
    """A statement sent once on a pooled connection is already a server-side prepared statement."""
    engine = make_engine(pg_database)
    try:
        with engine.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold == 0  # type: ignore[union-attr]
            conn.execute(sa.text("SELECT 41 + :n"), {"n": 1})
            prepared = conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements "
                                            "WHERE statement LIKE 'SELECT 41 + %'")).scalar_one()
        assert prepared == 1
    finally:
        engine.dispose()



def test_a_connection_the_server_closed_is_replaced_at_checkout(pg_database: str) -> None:
    """After the server ends every pooled connection (a restart), the next transaction runs on a new one."""
    engine = make_engine(pg_database, pool_size=2, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with make_engine(pg_database).begin() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
        with engine.begin() as conn:
            again = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        assert again != first
    finally:
        engine.dispose()
