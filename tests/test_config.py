"""Configuration: every key is documented, and a wrong value stops the start with a French sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings

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
