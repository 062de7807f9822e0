"""Configuration: every key is documented, and a wrong value stops the start with a sentence in the
operator's language (French unless INCUBOT_LANGUAGE=en)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import ConfigError, Settings, database_problem
from handlers.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_key_the_bot_reads() -> None:
    """Each key read in bot/config.py has a line KEY= in .env.example, and nothing there is unknown."""
    read = set(re.findall(r'get\("([A-Z_]+)"\)', (ROOT / "bot" / "config.py").read_text(encoding="utf-8")))
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert read and read == listed


def test_defaults_are_the_specs() -> None:
    """With nothing set: SQLite file, port 3000, Paris, French, reminders at 09:00, no platform."""
    s = Settings.from_env({})
    assert (s.database_url, s.port, s.timezone, s.language) == ("sqlite:///incubot.db", 3000, "Europe/Paris", "fr")
    assert s.reminder_time.isoformat(timespec="minutes") == "09:00"
    assert s.platforms_status() == {"slack": "off", "mattermost": "off", "matrix": "off"}
    assert s.effective_public_url == "http://localhost:3000"


@pytest.mark.parametrize(("env", "key"), [
    ({"PORT": "http"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"INCUBOT_TIMEZONE": "Mars/Olympus"}, "INCUBOT_TIMEZONE"),
    ({"INCUBOT_LANGUAGE": "de"}, "INCUBOT_LANGUAGE"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "xapp-"),
    ({"MATTERMOST_URL": "http://mm", "MATTERMOST_BOT_TOKEN": "t", "MATTERMOST_COMMAND_TOKENS": "c"},
     "INCUBOT_SECRET"),
])
def test_a_wrong_setting_is_refused_with_its_name(env: dict[str, str], key: str) -> None:
    """A wrong or incomplete setting raises ConfigError naming the key to fix."""
    with pytest.raises(ConfigError, match=key):
        Settings.from_env(env)


@pytest.mark.parametrize(("env", "french", "english"), [
    ({"PORT": "http"}, "PORT doit être un numéro de port (1-65535), pas « http ».",
     "PORT must be a port number (1-65535), not “http”."),
    ({"INCUBOT_TIMEZONE": "Mars/Olympus"}, "INCUBOT_TIMEZONE : fuseau horaire inconnu « Mars/Olympus ».",
     "INCUBOT_TIMEZONE: unknown time zone “Mars/Olympus”."),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN est défini mais ni SLACK_SIGNING_SECRET",
     "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET"),
    ({"DATABASE_URL": "postgresql://u:p@h:notaport/db"}, "DATABASE_URL n'est pas une URL de base de données lisible",
     "DATABASE_URL is not a database URL that can be read"),
])
def test_a_wrong_setting_is_explained_in_the_operators_language(env: dict[str, str], french: str,
                                                                 english: str) -> None:
    """The sentences come from the catalogs: French by default, English with INCUBOT_LANGUAGE=en."""
    with pytest.raises(ConfigError) as in_french:
        Settings.from_env(env)
    assert french in str(in_french.value)
    with pytest.raises(ConfigError) as in_english:
        Settings.from_env({**env, "INCUBOT_LANGUAGE": "en"})
    assert english in str(in_english.value)


def test_an_unknown_language_is_refused_in_french() -> None:
    """INCUBOT_LANGUAGE itself wrong: the sentence is French, the language incubot speaks until told otherwise."""
    with pytest.raises(ConfigError, match="INCUBOT_LANGUAGE vaut « fr » ou « en », pas « de »."):
        Settings.from_env({"INCUBOT_LANGUAGE": "de"})


def test_an_unreachable_database_is_explained_in_english_too() -> None:
    """database_problem's sentence, where the database is and why it cannot be used, in the chosen language."""
    url = "postgresql+psycopg://incubot:secret@127.0.0.1:9/incubot"
    refused = sa.exc.OperationalError(None, None, Exception("connection refused"))
    said = database_problem(url, refused, t=Translator("en"))
    assert said == ("the database PostgreSQL on 127.0.0.1:9 (database “incubot”, user “incubot”) cannot be reached: "
                    "connection refused. Check DATABASE_URL and that the server is running and accepts connections.")
    assert "secret" not in said
