"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL), a fixed
clock, the demo reference data, and the chat drivers of ``tests/chat.py``."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.db import make_engine, session_factory, upgrade

pytest_plugins = ["tests.synapse"]  # the real Matrix homeserver: fixtures synapse, matrix_people
PG_ADMIN_URL = os.environ.get("INCUBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# Thursday 5 November 2026, 10:00 in Paris: a working day, in the seed's third year.
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@contextlib.contextmanager
def throwaway_pg_database(prefix: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (its URL), dropped afterwards; skips if no server answers."""
    from tests.pg import throwaway_database

    reason = _pg_reachable()
    if reason:
        pytest.skip(reason)
    with throwaway_database(PG_ADMIN_URL, prefix) as url:
        yield url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, migrated once."""
    with throwaway_pg_database("incubot_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def pytest_collection_finish(session: pytest.Session) -> None:
    """The cyclic garbage collector, tuned for a test run (gc.callbacks measured it: 5.7 and 6.1 s of the two
    workers' time, 27 to 29 full passes each, every other thread of the test held meanwhile; 2.6 and 3.0 s
    with this). What collection imported (SQLAlchemy, the models, Bolt, mautrix, the test modules) stays for
    the whole run: frozen out of the full passes. And the passes come less often — every 10,000 allocations
    instead of 700, full ones after 100 middle ones instead of 10: a test makes many short-lived objects."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


_EMPTYING: dict[str, str] = {}


def _sequences(conn: sa.Connection) -> list[str]:
    """The schema's sequences (the ``id`` columns'), quoted for SQL."""
    return list(conn.execute(sa.text(
        "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name) "
        "FROM information_schema.sequences WHERE sequence_schema = 'public'")).scalars())


def _truncate_all(engine: Engine) -> None:
    """Empty every table and restart every sequence, as ``TRUNCATE … RESTART IDENTITY`` would: one
    ``DO`` block of DELETEs (children first) and ``setval``s — a few milliseconds on tables of a few
    rows, where TRUNCATE's fixed cost per table made it 95 ms, in each PostgreSQL test's set-up."""
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401

    url = engine.url.render_as_string(hide_password=False)
    if url not in _EMPTYING:
        with engine.begin() as conn:
            sequences = _sequences(conn)
        # The audit trail refuses DELETE (a trigger): it alone is truncated.
        steps = [f'TRUNCATE "{t.name}";' if t.name == "audit_event" else f'DELETE FROM "{t.name}";'
                 for t in reversed(SQLModel.metadata.sorted_tables)]
        steps += [f"PERFORM setval('{s}', 1, false);" for s in sequences]
        _EMPTYING[url] = "DO $$ BEGIN " + " ".join(steps) + " END $$"
    with engine.begin() as conn:
        conn.exec_driver_sql(_EMPTYING[url])


# A PDF's bytes depend only on its document and the translator's language, time zone and typography (its
# creation date is the document's): a worker renders each distinct document once. fpdf2 lays every table
# cell out in Python, and the suite asked for 117 PDFs of 48 distinct documents, 18 s of CPU in all, half
# of it for the same monthly reports again. What a test reads is still that document's real PDF.
_PDFS: dict[bytes, bytes] = {}


@pytest.fixture(autouse=True)
def _each_pdf_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import pickle

    import handlers.documents as documents

    render = documents.to_pdf

    def once(document: Any, t: Any) -> bytes:
        key = hashlib.sha256(pickle.dumps((document, t.language, t.tz.key, t.fine))).digest()
        if key not in _PDFS:
            _PDFS[key] = render(document, t)
        return _PDFS[key]

    monkeypatch.setattr(documents, "to_pdf", once)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test session; each test gets a copy (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("template") / "incubot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the main file and removes it
    assert not path.with_name(path.name + "-wal").exists()
    return path


# One dialect and one compiled-statement cache per backend for every test engine. SQLAlchemy caches
# compiled SQL per engine, keyed by the dialect object: a fresh engine per test compiled each statement
# again in each test, a quarter of a chat test's time. The database is still the test's own.
_SHARED_COMPILATION: dict[str, tuple[Any, Any]] = {}


def test_engine(url: str) -> Engine:
    """``make_engine(url)`` that reuses the compiled SQL of the other tests on the same backend."""
    engine = make_engine(url)
    dialect, cache = _SHARED_COMPILATION.setdefault(engine.dialect.name, (engine.dialect, engine._compiled_cache))
    engine.dialect = engine.pool._dialect = dialect
    engine._compiled_cache = cache
    return engine


def fresh_sqlite(template: Path, folder: Path) -> Engine:
    """A migrated SQLite database of its own, copied from the session's template."""
    path = folder / "incubot.db"
    shutil.copyfile(template, path)
    return test_engine(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A fresh, migrated database: once on SQLite, once on PostgreSQL; with the demo world in it when the
    test asks for ``any_world``."""
    with_world = "any_world" in request.fixturenames
    if request.param == "sqlite":
        engine = fresh_sqlite(request.getfixturevalue("world_template") if with_world else sqlite_template, tmp_path)
    else:
        url = request.getfixturevalue("pg_database")
        engine = test_engine(url)
        _truncate_all(engine)
        if with_world:
            with engine.begin() as conn:
                conn.exec_driver_sql(request.getfixturevalue("pg_world"))
    yield engine
    engine.dispose()


@pytest.fixture
def any_world(any_engine: Engine) -> Engine:
    """``any_engine`` with the demo world already in it (``load_world`` at ``NOW``): SQLite copies the
    session's ``world_template``, PostgreSQL restores the ``pg_world`` snapshot — a few milliseconds where
    importing the world again took 70 ms, in about a hundred tests."""
    return any_engine


SNAPSHOT_SCHEMA = "world_snapshot"


@pytest.fixture(scope="session")
def pg_world(pg_database: str) -> str:
    """The demo world loaded once in the session's PostgreSQL database and copied, table by table, into a
    schema of its own; what this returns (one ``DO`` block) puts it back in the emptied tables, sequences
    included."""
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401

    engine = test_engine(pg_database)
    _truncate_all(engine)
    load_world(session_factory(engine), NOW)
    tables = [t.name for t in SQLModel.metadata.sorted_tables]  # parents first
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}")
        steps = []
        for name in tables:
            conn.exec_driver_sql(f'CREATE TABLE {SNAPSHOT_SCHEMA}."{name}" AS TABLE public."{name}"')
            if conn.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM {SNAPSHOT_SCHEMA}."{name}")').scalar():
                steps.append(f'INSERT INTO public."{name}" OVERRIDING SYSTEM VALUE '
                             f'SELECT * FROM {SNAPSHOT_SCHEMA}."{name}";')
        for sequence in _sequences(conn):
            last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {sequence}").one()
            steps.append(f"PERFORM setval('{sequence}', {int(last)}, {'true' if called else 'false'});")
    _truncate_all(engine)
    engine.dispose()
    return "DO $$ BEGIN " + " ".join(steps) + " END $$"


@pytest.fixture(scope="session")
def world_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated template with the demo world loaded, once per session (copying it is cheaper than importing)."""
    path = tmp_path_factory.mktemp("world") / "incubot.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    load_world(session_factory(engine), NOW)
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite file database; with the demo world in it when the test asks for ``world``."""
    with_world = "world" in request.fixturenames
    engine = fresh_sqlite(request.getfixturevalue("world_template") if with_world else sqlite_template, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(engine: Engine):  # type: ignore[no-untyped-def]
    return session_factory(engine)


# --------------------------------------------------------------------------- the world


def load_world(sessions, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """The demo reference data (no sample quotes), with Slack and Mattermost ids for everyone (and the demo's
    Matrix ids)."""
    from bot.demo import demo_reference_text
    from handlers.importer import parse_reference
    from storage.db import unit_of_work
    from storage.reference import import_reference

    data = parse_reference(demo_reference_text(now.year))
    for person in data.people:
        data.accounts.setdefault(person.id, {}).update(slack=slack_id(person.id), mattermost=mattermost_id(person.id))
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=data, now=now)


def slack_id(person_id: str) -> str:
    return "U" + person_id.replace(".", "").upper()[:10]


def mattermost_id(person_id: str) -> str:
    return (person_id.replace(".", "") + "x" * 26)[:26]


@pytest.fixture
def world(sessions, clock):  # type: ignore[no-untyped-def]
    """The demo world (``load_world`` at the test clock's date), already in the database ``engine`` copied."""
    assert clock().year == NOW.year, "world_template was loaded for NOW's year"
    return sessions


def _stub_chat(engine: Engine, clock: Clock):  # type: ignore[no-untyped-def]
    from tests.chat import runtime_of
    from tests.stub import StubChat, StubPlatform

    stub = StubPlatform()
    return StubChat(runtime_of(engine, clock, stub), stub)


# Platform drivers register here: {"neutral": factory(engine, clock, request) -> ChatDriver}; "neutral" is
# the transcript stub (tests/stub.py), which calls the bot directly.
CHAT_DRIVERS = {"neutral": lambda engine, clock, request: _stub_chat(engine, clock)}
CHAT_DRIVERS["mattermost"] = lambda engine, clock, request: __import__(
    "tests.chat_mattermost", fromlist=["mattermost_chat"]).mattermost_chat(engine, clock, request)
CHAT_DRIVERS["slack"] = lambda engine, clock, request: __import__(
    "tests.chat_slack", fromlist=["slack_chat"]).slack_chat(engine, clock, request)
# Matrix drives real people on the session's Synapse (about a second a test): a test file opts in with
# ``pytestmark = ON_EVERY_PLATFORM`` (tests/test_dialogues.py does), the others run on the drivers above.
MATRIX_DRIVER = {"matrix": lambda engine, clock, request: __import__(
    "tests.chat_matrix", fromlist=["matrix_chat"]).matrix_chat(engine, clock, request)}
ON_EVERY_PLATFORM = pytest.mark.parametrize("chat", sorted({**CHAT_DRIVERS, **MATRIX_DRIVER}), indirect=True)


@pytest.fixture
def bot(engine: Engine, world, clock: Clock):  # type: ignore[no-untyped-def]
    """The platform-neutral bot in the demo world, for tests that talk to it directly (see tests/chat.py ``say``)."""
    from tests.chat import runtime_of

    return runtime_of(engine, clock).bot


@pytest.fixture
def stub(engine: Engine, world, clock: Clock):  # type: ignore[no-untyped-def]
    """The bot on the transcript stub (tests/stub.py) in the demo world: when the test ends, it fails if
    the bot said anything the test did not expect."""
    chat = _stub_chat(engine, clock)
    yield chat
    chat.expect_nothing_more()


@pytest.fixture
def slack(engine: Engine, world, clock: Clock, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The bot behind signed Slack requests and a fake Web API (tests/chat_slack.py), in the demo world."""
    from tests.chat_slack import slack_chat

    return slack_chat(engine, clock, request)


@pytest.fixture
def mattermost(engine: Engine, world, clock: Clock, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The bot behind Mattermost requests and a fake REST API (tests/chat_mattermost.py), in the demo world."""
    from tests.chat_mattermost import mattermost_chat

    return mattermost_chat(engine, clock, request)


@pytest.fixture(params=sorted(CHAT_DRIVERS))
def chat(request: pytest.FixtureRequest, engine: Engine, world, clock: Clock):  # type: ignore[no-untyped-def]
    """The bot on one platform, in the demo world: the same dialogue runs on each."""
    return {**CHAT_DRIVERS, **MATRIX_DRIVER}[request.param](engine, clock, request)
