"""A database that cannot be reached, or a DATABASE_URL that cannot be read, stops any subcommand (serve and
shell included) with one French line naming where it looked — never the password —, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL
from tests.test_database_url import ENCODED, ENV_KEYS, EXAMPLE, PASSWORD, ROOT, assert_no_secret, incubot, quiet_env

__all__ = ["quiet_env"]  # the fixture, shared with test_database_url

UNREACHABLE = f"postgresql+psycopg://incubot:{ENCODED}@127.0.0.1:1/incubot"
SUBCOMMANDS = {
    "budget": ["budget", "--year", "2022"],
    "budget --json": ["budget", "--year", "2022", "--json"],
    "export": ["export", "--format", "csv"],
    "import": ["import", str(EXAMPLE)],
    "db upgrade": ["db", "upgrade"],
    "db current": ["db", "current"],
    "demo": ["demo"],
    "report": ["report", "--month", "2022-11"],
    "reminders due": ["reminders", "due", "--at", "2026-12-01T09:00"],
    "shell": ["shell", "--as", "lea.dupont"],
    "serve": ["serve", "--host", "127.0.0.1", "--port", "0", "--no-scheduler"],
}


@pytest.mark.parametrize("args", SUBCOMMANDS.values(), ids=SUBCOMMANDS.keys())
def test_an_unreachable_postgresql_is_one_french_line_naming_host_and_port(
        quiet_env: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """Every subcommand, serve and shell included: exit 2, one line naming 127.0.0.1:1, no password, no traceback."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    code, out, err = incubot(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("incubot : la base de données PostgreSQL sur 127.0.0.1:1 (base « incubot », "
                               "utilisateur « incubot ») est inaccessible : connexion refusée."), err
    assert "Vérifiez DATABASE_URL" in lines[0]
    assert "Traceback" not in out + err
    assert_no_secret(out, err, caplog.text)


def test_the_same_line_comes_from_python_m_bot(quiet_env: Path) -> None:
    """`python -m bot budget` as an operator types it: one line on stderr, exit code 2, nothing else."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(DATABASE_URL=UNREACHABLE, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "bot", "budget", "--year", "2022"], cwd=quiet_env, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("incubot : la base de données PostgreSQL sur 127.0.0.1:1")
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert_no_secret(done.stdout, done.stderr)


def test_a_database_that_does_not_exist_is_named(quiet_env: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The server answers but the database is not there: the line says which base is missing."""
    reachable = sa.engine.make_url(PG_ADMIN_URL)
    try:
        sa.create_engine(PG_ADMIN_URL).connect().close()
    except sa.exc.OperationalError:
        pytest.skip("PostgreSQL unreachable")
    missing = reachable.set(database=f"incubot_missing_{uuid.uuid4().hex[:6]}", password=PASSWORD)
    monkeypatch.setenv("DATABASE_URL", missing.render_as_string(hide_password=False))
    code, _, err = incubot(capsys, "budget", "--year", "2022")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"la base « {missing.database} » n'existe pas" in err
    assert_no_secret(err)


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(quiet_env: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite in a folder that does not exist: one line naming the file, exit 2."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{quiet_env / 'missing' / 'incubot.db'}")
    code, _, err = incubot(capsys, "import", str(EXAMPLE))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"la base de données SQLite « {quiet_env / 'missing' / 'incubot.db'} » est inaccessible" in err


@pytest.mark.parametrize("url", [f"postgresql+psycopg://incubot:{ENCODED}@127.0.0.1:port/incubot",
                                 f"not a url {PASSWORD}"])
def test_a_url_that_cannot_be_read_is_refused_without_echoing_it(
        quiet_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """A DATABASE_URL SQLAlchemy cannot parse is one French line explaining the form, never the URL itself."""
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = incubot(capsys, "budget", "--year", "2022")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "DATABASE_URL n'est pas une URL de base de données lisible" in err
    assert_no_secret(out, err)
    monkeypatch.delenv("DATABASE_URL")
    code, out, err = incubot(capsys, "--database", url, "budget", "--year", "2022")
    assert code == 2 and "--database n'est pas une URL de base de données lisible" in err
    assert_no_secret(out, err)


def test_an_unknown_driver_is_named(quiet_env: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`postgres://` (Heroku's spelling) is not a SQLAlchemy driver: the line says how PostgreSQL is written."""
    monkeypatch.setenv("DATABASE_URL", f"postgres://incubot:{ENCODED}@127.0.0.1:5432/incubot")
    code, _, err = incubot(capsys, "budget", "--year", "2022")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "pilote de base de données inconnu « postgres »" in err and "postgresql+psycopg://" in err
    assert_no_secret(err)
