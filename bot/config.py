"""Settings, read once from the environment (``.env`` is loaded by the CLI entry point only)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """A setting is wrong; the message says which and why (in French, for operators)."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///incubot.db"
    port: int = 3000
    timezone: str = "Europe/Paris"
    language: str = "fr"
    reminder_time: time = time(9, 0)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    mattermost_url: str | None = None
    mattermost_bot_token: str | None = None
    mattermost_command_tokens: tuple[str, ...] = field(default_factory=tuple)
    public_url: str | None = None
    secret: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def slack_socket_mode(self) -> bool:
        return bool(self.slack_bot_token and self.slack_app_token)

    @property
    def mattermost_enabled(self) -> bool:
        return bool(self.mattermost_url and self.mattermost_bot_token)

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(key, "").strip()
            return value or None

        port_text = get("PORT") or "3000"
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise ConfigError(f"PORT doit être un numéro de port (1-65535), pas « {port_text} ».") from None
        timezone = get("INCUBOT_TIMEZONE") or "Europe/Paris"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"INCUBOT_TIMEZONE : fuseau horaire inconnu « {timezone} ».") from None
        reminder_text = get("INCUBOT_REMINDER_TIME") or "09:00"
        try:
            reminder_time = time.fromisoformat(reminder_text)
        except ValueError:
            raise ConfigError(f"INCUBOT_REMINDER_TIME est une heure HH:MM (par exemple 09:00), "
                              f"pas « {reminder_text} ».") from None
        language = (get("INCUBOT_LANGUAGE") or "fr").lower()
        if language not in ("fr", "en"):
            raise ConfigError(f"INCUBOT_LANGUAGE vaut « fr » ou « en », pas « {language} ».")
        settings = cls(
            database_url=get("DATABASE_URL") or "sqlite:///incubot.db",
            port=port,
            timezone=timezone,
            language=language,
            reminder_time=reminder_time,
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL") or "https://slack.com/api/",
            mattermost_url=(get("MATTERMOST_URL") or "").rstrip("/") or None,
            mattermost_bot_token=get("MATTERMOST_BOT_TOKEN"),
            mattermost_command_tokens=tuple(
                t.strip() for t in (get("MATTERMOST_COMMAND_TOKENS") or "").split(",") if t.strip()
            ),
            public_url=get("INCUBOT_PUBLIC_URL"),
            secret=get("INCUBOT_SECRET"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ConfigError("SLACK_BOT_TOKEN est défini mais ni SLACK_SIGNING_SECRET (HTTP) "
                              "ni SLACK_APP_TOKEN (Socket Mode).")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN doit commencer par « xapp- ».")
        if self.mattermost_enabled and not self.secret:
            raise ConfigError("Mattermost a besoin de INCUBOT_SECRET pour signer les boutons et formulaires.")
        if self.mattermost_enabled and not self.mattermost_command_tokens:
            raise ConfigError("Mattermost a besoin de MATTERMOST_COMMAND_TOKENS (jeton de la commande slash).")

    def platforms_status(self) -> dict[str, str]:
        return {
            "slack": ("socket mode" if self.slack_socket_mode else "http") if self.slack_enabled else "off",
            "mattermost": "on" if self.mattermost_enabled else "off",
        }
