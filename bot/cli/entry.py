"""``main``: loads ``.env`` here and only here, reads the settings once, runs one sub-command.

Errors an operator can fix are printed as one sentence in their language, exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.cli.common import CliError, sqlite_file, with_database
from bot.cli.parser import build_parser, speak_in_argparse
from bot.config import ConfigError, Settings, check_database_url, database_problem
from handlers.i18n import Translator


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Before the settings (which may be wrong): the parser's help and errors already speak the language.
    t = Translator((os.environ.get("INCUBOT_LANGUAGE") or "fr").strip().lower())
    speak_in_argparse(t)
    args = build_parser(t).parse_args(argv)
    key = "--database" if args.database else "DATABASE_URL"
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        if args.database:
            check_database_url(args.database, key, t)
            settings = with_database(settings, args.database)
        return _run(args, settings, t)
    except (ConfigError, CliError) as exc:
        print(f"incubot : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the shell's prompt, or during a long import
        print(file=sys.stderr)
        return 130
    except Exception as exc:
        problem = database_problem(settings.database_url, exc, key, t) if settings else None  # unusable database
        if problem is None:
            raise
        print(f"incubot : {problem}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    _check_database_exists(args, settings, t)
    return int(args.run(args, settings, t))


def _check_database_exists(args: argparse.Namespace, settings: Settings, t: Translator) -> None:
    """A command that only reads refuses a SQLite file that does not exist (it would create an empty
    database and answer « nothing »); any other says it creates one."""
    path = sqlite_file(settings.database_url)
    if path is None or path.exists() or (args.command == "shell" and args.demo):
        return
    if getattr(args, "reads_only", False):
        raise CliError(t("aucune base de données à {path} : rien à lire. Lancez la commande depuis le dossier de la "
                         "base, précisez DATABASE_URL (ou --database), ou créez-la : incubot import FICHIER.toml.",
                         path=path))
    if path.parent.is_dir():  # elsewhere opening it fails, and that error says why
        print("incubot : " + t("nouvelle base de données créée : {path}", path=path), file=sys.stderr)
