"""Engine, sessions and migrations.

SQLite is opened in WAL mode, every transaction starts with ``BEGIN IMMEDIATE``
(a read-then-write transaction in WAL fails with "database is locked" at once,
whatever ``busy_timeout`` says, unless it holds the write lock from the start),
and foreign keys are on. PostgreSQL needs nothing special: the guarded UPDATEs of
:mod:`storage.ledger` are safe under READ COMMITTED.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

SessionFactory = Callable[[], Session]

SQLITE_BUSY_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT_S = 10
PG_PREPARE_THRESHOLD = 0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the per-connection settings incubot relies on."""
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    options: dict[str, Any] = {}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        # A host that drops packets would otherwise hold `serve` (or any command) for minutes at start.
        options["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if sa.engine.make_url(url).get_driver_name() == "psycopg":
        # Every statement prepared on its first use on a connection, not its sixth (psycopg's default):
        # with a pool of connections a decision's few statements rarely reached the sixth, and were
        # parsed and planned again each time, on the same cores as the bot (bench/validations.py).
        options["prepare_threshold"] = PG_PREPARE_THRESHOLD
    if options:
        kwargs["connect_args"] = {**options, **kwargs.get("connect_args", {})}
    engine = sa.create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _hung_up_connection_is_replaced)
    return engine


def _hung_up_connection_is_replaced(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, ``pg_terminate_backend``, an idle
    timeout) is replaced at checkout, without a round trip: an idle connection has nothing to
    read, a closed one has its end of file (and the server's last words) waiting on the socket.
    ``pool_pre_ping``'s ``SELECT 1`` did the same for one round trip and ~0.2 ms of CPU on every
    checkout, 10-25 % of 200 clicks' rate (bench/validations.py)."""
    # poll, not select: select() refuses descriptors above 1023, which a busy process reaches.
    poller = select.poll()
    try:
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        hung_up = bool(poller.poll(0))
    except (OSError, ValueError):  # already closed on our side
        hung_up = True
    if hung_up:
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> SessionFactory:
    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    return factory


@contextlib.contextmanager
def unit_of_work(sessions: SessionFactory) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back otherwise."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Any:
    """Alembic's configuration for ``engine``, which migrations use as is (``cfg.attributes["engine"]``).

    The URL kept in it is for show only: without its password (an Alembic error or log line may
    print it), and with ``%`` doubled, since Alembic's options go through configparser
    interpolation — a ``%``-encoded password (``p%40ss``) used to stop every start with a
    ValueError that printed the whole URL.
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("storage") / "migrations").replace("%", "%%"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=True).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


# Any constant: the PostgreSQL advisory lock that lets one process migrate at a time.
MIGRATION_LOCK_KEY = 0x1BC0B07


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic). Safe to call on every start.

    On PostgreSQL several instances may start at once on a schema that is behind:
    without a lock each would run the same migration and all but one would fail
    (duplicate table). A session advisory lock makes the others wait, then find the
    schema at ``revision`` and do nothing.
    """
    from alembic import command

    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
