"""``incubot shell``: the bot in the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import CliError, with_database
from bot.cli.wiring import console_for
from bot.config import Settings
from bot.demo import load_demo
from bot.platforms.console import enable_line_editing, history_file
from handlers.i18n import Translator

DEMO_DATABASE = Path("incubot-demo.db")


def add_parsers(sub: Any, t: Translator) -> None:
    shell = sub.add_parser("shell", help=t("le bot dans le terminal"))
    shell.add_argument("--demo", action="store_true", help=t("sur une base de démonstration (incubot-demo.db)"))
    shell.add_argument("--as", dest="person", help=t("identifiant de la personne qui parle"))
    shell.set_defaults(run=run_shell)


def run_shell(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    if args.demo:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        settings = with_database(settings, f"sqlite:///{DEMO_DATABASE}")
    person = args.person or ("lea.dupont" if args.demo else None)
    if person is None:
        raise CliError(t("précisez qui parle : incubot shell --as IDENTIFIANT (voir le fichier de référence)."))
    runtime, console = console_for(settings, person, color=sys.stdout.isatty())
    if args.demo:
        load_demo(runtime.services.sessions, runtime.services.now())
        print(t("Base de démonstration recréée : {path}", path=DEMO_DATABASE.resolve()))
    console.switch(person)
    if args.demo:
        console.who()
        print(t("Essayez : « devis dedale; 12 500 HT; Scopyleft; Sprint 7 », puis « :as julien.moreau » "
                "et le numéro du bouton Valider.") + "\n")
    if sys.stdin.isatty():
        enable_line_editing(history_file(settings.database_url))
    console.loop()
    return 0
