"""DATABASE_URL as operators write it: a %-encoded password works, on PostgreSQL for real, and is never shown."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main
from tests.conftest import PG_ADMIN_URL, throwaway_pg_database
from tests.servers import free_port, http_client

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "convention-culture.toml"
ENV_KEYS = ("DATABASE_URL", "INCUBOT_LANGUAGE", "INCUBOT_TIMEZONE", "PORT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN", "MATTERMOST_URL", "MATTERMOST_BOT_TOKEN", "MATTERMOST_COMMAND_TOKENS", "INCUBOT_SECRET")

PASSWORD = "p@ss%word"  # an @ and a % : both must be %-encoded in the URL
ENCODED = "p%40ss%25word"
SECRETS = (PASSWORD, ENCODED, "ss%word", "ss%25word")


@pytest.fixture
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No incubot setting from the environment, and a working directory of the test's own (no .env)."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def incubot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``incubot ARGS`` in this process; exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"the password shows in: {text[-2000:]!r}"


@contextlib.contextmanager
def role_with_a_percent_password() -> Iterator[str]:
    """A throw-away PostgreSQL role whose password has an @ and a %, owning a throw-away database: its URL."""
    with throwaway_pg_database("incubot_pct") as url:
        role = f"incubot_pct_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}'"))
            conn.execute(sa.text(f'ALTER DATABASE "{name}" OWNER TO "{role}"'))
        inside = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with inside.connect() as conn:
            conn.execute(sa.text(f'ALTER SCHEMA public OWNER TO "{role}"'))
        inside.dispose()
        host = sa.engine.make_url(url)
        try:
            yield f"postgresql+psycopg://{role}:{ENCODED}@{host.host}:{host.port or 5432}/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
            admin.dispose()


def test_the_alembic_config_takes_a_percent_and_holds_no_password() -> None:
    """configparser reads % as interpolation: the migration config must take any URL and keep no password."""
    from storage.db import alembic_config, make_engine

    engine = make_engine(f"postgresql+psycopg://incubot:{ENCODED}@127.0.0.1:5432/incubot")
    config = alembic_config(engine)
    assert config.attributes["engine"] is engine
    shown = config.get_main_option("sqlalchemy.url") or ""
    assert shown.startswith("postgresql+psycopg://incubot:***@127.0.0.1:5432/incubot")
    assert_no_secret(shown)
    engine.dispose()


@pytest.mark.postgres
def test_a_percent_encoded_password_works_on_postgresql_and_is_never_printed(
        quiet_env: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A role whose password is `p@ss%word` (URL `p%40ss%25word`): migrate, import, budget all work; the
    password is in no output and no log line."""
    caplog.set_level(logging.DEBUG)
    with role_with_a_percent_password() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        code, out, err = incubot(capsys, "db", "upgrade")
        assert code == 0, err
        assert "Base créée au schéma de la révision" in out
        code, out, err = incubot(capsys, "import", str(EXAMPLE))
        assert code == 0 and "importé" in out, err
        code, out, err = incubot(capsys, "budget", "--year", "2022", "--json")
        assert code == 0 and '"allocated": "1500000.00"' in out, err
        assert_no_secret(out, err, caplog.text)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar_one().startswith("incubot_pct_")
        engine.dispose()


@pytest.mark.postgres
def test_serve_starts_with_a_percent_encoded_password_and_never_logs_it(quiet_env: Path) -> None:
    """`incubot serve` on that role migrates, answers /healthz, and its whole log holds no password."""
    with role_with_a_percent_password() as url:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
        env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT))
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                                    str(port), "--no-scheduler"], cwd=quiet_env, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        log: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:  # blocks until serve says something: no polling
                log.append(line)
                if "Uvicorn running on" in line:
                    break
            assert "Uvicorn running on" in "".join(log), "".join(log)
            with http_client() as client:
                health = client.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200, health.text
        finally:
            process.terminate()
            rest, _ = process.communicate(timeout=30)
            log.append(rest or "")
        assert_no_secret("".join(log))
        assert "Traceback" not in "".join(log)
