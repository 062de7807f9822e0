"""Settings, read once from the environment (``.env`` is loaded by the CLI entry point only).

Every sentence an operator reads about a wrong setting or an unusable database goes through the
catalogs (:class:`handlers.i18n.Translator`): French, or English with ``INCUBOT_LANGUAGE=en`` —
the language is read first, so the other settings' errors already speak it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from handlers.i18n import LOCALES, N_, TYPOGRAPHIES, Translator


class ConfigError(Exception):
    """A setting is wrong; the message says which and why (in the operator's language)."""


def check_database_url(url: str, key: str = "DATABASE_URL", t: Translator | None = None) -> None:
    """Refuse a URL SQLAlchemy cannot read, without repeating it (it may hold a password)."""
    t = t or Translator()
    try:
        make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise ConfigError(t(
            "{key} n'est pas une URL de base de données lisible : écrivez-la "
            "postgresql+psycopg://UTILISATEUR:MOT_DE_PASSE@HÔTE:5432/BASE ou sqlite:///CHEMIN.db "
            "(dans le mot de passe, « @ » s'écrit %40, « : » %3A, « / » %2F et « % » %25).", key=key)) from None


def database_where(url: str, t: Translator | None = None) -> str:
    """Where ``url`` points, for messages and logs — never its password."""
    t = t or Translator()
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return t("SQLite « {file} »", file=u.database or ":memory:")
    name = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}.get(backend, backend)
    host = u.host or str(u.query.get("host") or "localhost")
    port = u.port or {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(backend)
    details = ([t("base « {name} »", name=u.database)] if u.database else []) + (
        [t("utilisateur « {name} »", name=u.username)] if u.username else [])
    where = t("{server} sur {host}", server=name, host=f"{host}:{port}" if port else host)
    return where + (f" ({', '.join(details)})" if details else "")


# The driver's words (psycopg, sqlite3) for the usual causes, translated when shown.
_CAUSES = (
    ("connection refused", N_("connexion refusée")),
    ("timeout expired", N_("pas de réponse dans le délai")),
    ("timed out", N_("pas de réponse dans le délai")),
    ("password authentication failed", N_("authentification refusée (utilisateur ou mot de passe)")),
    ("no password supplied", N_("mot de passe manquant")),
    ("could not translate host name", N_("nom d'hôte inconnu")),
    ("name or service not known", N_("nom d'hôte inconnu")),
    ("no route to host", N_("hôte injoignable")),
    ("network is unreachable", N_("réseau injoignable")),
    ("unable to open database file", N_("fichier impossible à ouvrir (le dossier existe-t-il, est-il accessible ?)")),
)


def database_problem(url: str, exc: BaseException, key: str = "DATABASE_URL",
                     t: Translator | None = None) -> str | None:
    """The one sentence for ``exc`` when it means the database at ``url`` cannot be used at all
    (not reached, unknown driver); ``None`` for anything else. Never the password, never the raw URL."""
    t = t or Translator()
    if isinstance(exc, sa_exc.NoSuchModuleError):
        driver = str(exc).rsplit(":", 1)[-1].strip() or "?"
        return t("{key} : pilote de base de données inconnu « {driver} » (PostgreSQL s'écrit "
                 "postgresql+psycopg://…, SQLite sqlite:///CHEMIN.db).", key=key, driver=driver)
    if isinstance(exc, sa_exc.ArgumentError):
        try:
            check_database_url(url, key, t)
        except ConfigError as refused:
            return str(refused)
        return None
    if not isinstance(exc, sa_exc.DBAPIError) or not (exc.statement is None or exc.connection_invalidated):
        return None
    u = make_url(url)
    said = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
    missing = re.search(r'(database|role) "([^"]+)" does not exist', said)
    if missing:
        cause = (t("la base « {name} » n'existe pas", name=missing.group(2)) if missing.group(1) == "database"
                 else t("l'utilisateur « {name} » n'existe pas", name=missing.group(2)))
    else:
        cause = next((t(french) for english, french in _CAUSES if english in said.lower()), "")
    if not cause:  # the driver's own words, without anything that could be the password
        cause = re.sub(r"^connection failed:\s*", "", said)[:200]
        for secret in {u.password, str(u.password or "")} - {None, ""}:
            cause = cause.replace(str(secret), "***")
    if u.get_backend_name() == "sqlite":
        return t("la base de données {where} est inaccessible : {cause}. Vérifiez {key} et que le dossier existe "
                 "et est accessible en écriture.", where=database_where(url, t), cause=cause, key=key)
    return t("la base de données {where} est inaccessible : {cause}. Vérifiez {key} et que le serveur est démarré "
             "et accepte les connexions.", where=database_where(url, t), cause=cause, key=key)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///incubot.db"
    port: int = 3000
    timezone: str = "Europe/Paris"
    language: str = "fr"
    typography: str = "plain"  # INCUBOT_TYPOGRAPHY: plain | fine (handlers/i18n.py)
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
    # Tchap (Matrix): on when the homeserver, the bot's account and its token are set; no public URL needed.
    matrix_homeserver_url: str | None = None  # MATRIX_HOMESERVER_URL
    matrix_user_id: str | None = None  # MATRIX_USER_ID, @incubot-…:server
    matrix_access_token: str | None = None  # MATRIX_ACCESS_TOKEN (log in once; never a password login per start)
    matrix_device_id: str | None = None  # MATRIX_DEVICE_ID, the device of that token (encryption keys are per device)
    matrix_recovery_key: str | None = None  # MATRIX_RECOVERY_KEY: cross-signs the bot's device at start
    matrix_store: str = "incubot-matrix.db"  # MATRIX_STORE: the key store (SQLite file, or postgres://…)
    matrix_pickle_key: str | None = None  # MATRIX_PICKLE_KEY: encrypts the stored keys (default: INCUBOT_SECRET)
    matrix_encrypt_direct: str = "auto"  # MATRIX_ENCRYPT_DIRECT: auto | always | never, for direct rooms it opens
    drain_seconds: float = 10.0  # SIGTERM: how long `serve` lets the inbox workers finish
    max_body: int = 1_048_576  # bytes: a larger request body gets 413 before anything reads it

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
    def matrix_enabled(self) -> bool:
        return bool(self.matrix_homeserver_url and self.matrix_user_id and self.matrix_access_token)

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(key, "").strip()
            return value or None

        # First: the other settings' errors are written in this language (French until it is known).
        t = Translator()
        language = (get("INCUBOT_LANGUAGE") or "fr").lower()
        if language not in LOCALES:
            raise ConfigError(t("INCUBOT_LANGUAGE vaut « fr » ou « en », pas « {value} ».", value=language))
        t = Translator(language)
        typography = (get("INCUBOT_TYPOGRAPHY") or "plain").lower()
        if typography not in TYPOGRAPHIES:
            raise ConfigError(t("INCUBOT_TYPOGRAPHY vaut « plain » ou « fine », pas « {value} ».", value=typography))
        port_text = get("PORT") or "3000"
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise ConfigError(t("PORT doit être un numéro de port (1-65535), pas « {value} ».",
                                value=port_text)) from None
        timezone = get("INCUBOT_TIMEZONE") or "Europe/Paris"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(t("INCUBOT_TIMEZONE : fuseau horaire inconnu « {value} ».", value=timezone)) from None
        reminder_text = get("INCUBOT_REMINDER_TIME") or "09:00"
        try:
            reminder_time = time.fromisoformat(reminder_text)
        except ValueError:
            raise ConfigError(t("INCUBOT_REMINDER_TIME est une heure HH:MM (par exemple 09:00), pas « {value} ».",
                                value=reminder_text)) from None
        drain_text = get("INCUBOT_DRAIN_SECONDS") or "10"
        try:
            drain_seconds = float(drain_text)
            if not 0 <= drain_seconds <= 3600:
                raise ValueError
        except ValueError:
            raise ConfigError(t("INCUBOT_DRAIN_SECONDS est un nombre de secondes (0 à 3600), pas « {value} ».",
                                value=drain_text)) from None
        body_text = get("INCUBOT_MAX_BODY") or "1048576"
        try:
            max_body = int(body_text)
            if max_body < 1024:
                raise ValueError
        except ValueError:
            raise ConfigError(t("INCUBOT_MAX_BODY est une taille en octets (1024 au moins), pas « {value} ».",
                                value=body_text)) from None
        settings = cls(
            database_url=get("DATABASE_URL") or "sqlite:///incubot.db",
            port=port,
            timezone=timezone,
            language=language,
            typography=typography,
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
            matrix_homeserver_url=(get("MATRIX_HOMESERVER_URL") or "").rstrip("/") or None,
            matrix_user_id=get("MATRIX_USER_ID"),
            matrix_access_token=get("MATRIX_ACCESS_TOKEN"),
            matrix_device_id=get("MATRIX_DEVICE_ID"),
            matrix_recovery_key=get("MATRIX_RECOVERY_KEY"),
            matrix_store=get("MATRIX_STORE") or "incubot-matrix.db",
            matrix_pickle_key=get("MATRIX_PICKLE_KEY"),
            matrix_encrypt_direct=(get("MATRIX_ENCRYPT_DIRECT") or "auto").lower(),
            drain_seconds=drain_seconds,
            max_body=max_body,
        )
        settings.check()
        return settings

    @property
    def t(self) -> Translator:
        """The operator's language, for what incubot says about its settings."""
        return Translator(self.language)

    def check(self) -> None:
        t = self.t
        check_database_url(self.database_url, t=t)
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ConfigError(t("SLACK_BOT_TOKEN est défini mais ni SLACK_SIGNING_SECRET (HTTP) "
                                "ni SLACK_APP_TOKEN (Socket Mode)."))
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError(t("SLACK_APP_TOKEN doit commencer par « xapp- »."))
        if self.mattermost_enabled and not self.secret:
            raise ConfigError(t("Mattermost a besoin de INCUBOT_SECRET pour signer les boutons et formulaires."))
        if self.mattermost_enabled and not self.mattermost_command_tokens:
            raise ConfigError(t("Mattermost a besoin de MATTERMOST_COMMAND_TOKENS (jeton de la commande slash)."))

        if self.matrix_enabled and not self.matrix_device_id:
            raise ConfigError(t("Matrix a besoin de MATRIX_DEVICE_ID (l'appareil du jeton MATRIX_ACCESS_TOKEN)."))
        if self.matrix_encrypt_direct not in ("auto", "always", "never"):
            raise ConfigError(t("MATRIX_ENCRYPT_DIRECT vaut « auto », « always » ou « never »."))

    def platforms_status(self) -> dict[str, str]:
        return {
            "slack": ("socket mode" if self.slack_socket_mode else "http") if self.slack_enabled else "off",
            "mattermost": "on" if self.mattermost_enabled else "off",
            "matrix": "on" if self.matrix_enabled else "off",
        }
