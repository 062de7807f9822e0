"""``incubot`` — the command line (``python -m bot`` too).

Loads ``.env`` here and only here, reads the settings once, builds the runtime.
Errors an operator can fix are printed as one French sentence, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.compose import compose
from bot.config import ConfigError, Settings, check_database_url, database_problem
from bot.runtime import Runtime


class CliError(Exception):
    """A problem the operator can fix; printed as is, exit code 2."""


# argparse's own sentences (usage, errors, help), in French: argparse looks its module-level ``_``
# and ``ngettext`` up at each call, so the command line speaks one language from end to end.
ARGPARSE_FR = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "the following arguments are required: %s": "ces arguments sont obligatoires : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (choisissez parmi %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "expected at least one argument": "une valeur au moins est attendue",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur ignorée : %r",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "unexpected option string: %s": "option inattendue : %s",
}
ARGPARSE_FR_PLURAL = {"expected %s argument": ("%s valeur attendue", "%s valeurs attendues")}


def _speak_french_in_argparse(language: str) -> None:
    if language != "fr":
        return

    def gettext(message: str) -> str:
        return ARGPARSE_FR.get(message, message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        forms = ARGPARSE_FR_PLURAL.get(singular)
        if forms is None:
            return singular if n == 1 else plural
        return forms[0] if n <= 1 else forms[1]

    argparse._ = gettext  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incubot", description="L'assistant budgétaire de l'incubateur.")
    parser.add_argument("--database", help="URL SQLAlchemy (sinon DATABASE_URL, sinon sqlite:///incubot.db)")
    sub = parser.add_subparsers(dest="command", required=True, title="commandes", metavar="COMMANDE")

    shell = sub.add_parser("shell", help="le bot dans le terminal")
    shell.add_argument("--demo", action="store_true", help="sur une base de démonstration (incubot-demo.db)")
    shell.add_argument("--as", dest="person", help="identifiant de la personne qui parle")

    serve = sub.add_parser("serve", help="le serveur HTTP (Slack, Mattermost, /stats, /healthz) et le planificateur")
    serve.add_argument("--port", type=int, help="port (sinon PORT, sinon 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="adresse d'écoute (0.0.0.0 : toutes)")
    serve.add_argument("--no-scheduler", action="store_true", help="sans planificateur (voir « incubot clock »)")

    imp = sub.add_parser("import", help="charger les données de référence (TOML)")
    imp.add_argument("file", type=Path, metavar="FICHIER", help="le fichier de référence (voir examples/)")

    budget = sub.add_parser("budget", help="AE et CP d'une année")
    budget.add_argument("--year", type=int, metavar="AAAA", help="l'année (sinon l'année en cours)")
    budget.add_argument("--json", action="store_true", help="en JSON (montants en euros, chaînes décimales)")

    export = sub.add_parser("export", help="exporter tous les devis")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (par défaut) ou json")
    export.add_argument("--output", type=Path, help="fichier (sinon la sortie standard)")

    db = sub.add_parser("db", help="la base de données")
    db.add_argument("action", choices=("upgrade", "current"),
                    help="upgrade : appliquer les migrations ; current : la révision du schéma")

    backup = sub.add_parser("backup", help="copie cohérente de la base SQLite, même pendant que le bot tourne")
    backup.add_argument("file", type=Path, metavar="FICHIER", help="le fichier de sauvegarde à écrire")
    backup.add_argument("--force", action="store_true", help="remplacer FICHIER s'il existe")
    restore = sub.add_parser("restore", help="remettre la base SQLite depuis une sauvegarde (bot arrêté)")
    restore.add_argument("file", type=Path, metavar="FICHIER", help="la sauvegarde (faite par incubot backup)")
    restore.add_argument("--force", action="store_true", help="remplacer la base existante")

    demo = sub.add_parser("demo", help="remplir une base avec les données de démonstration")
    demo.add_argument("--quotes", type=int, default=0, help="ajouter N devis générés (mesures de charge)")

    from bot import commands_ext

    commands_ext.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    language = (os.environ.get("INCUBOT_LANGUAGE") or "fr").strip().lower()
    _speak_french_in_argparse(language)
    args = _parser().parse_args(argv)
    key = "--database" if args.database else "DATABASE_URL"
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        if args.database:
            check_database_url(args.database, key)
            settings = _replace(settings, database_url=args.database)
        return _run(args, settings)
    except (ConfigError, CliError) as exc:
        print(f"incubot : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the shell's prompt, or during a long import
        print(file=sys.stderr)
        return 130
    except Exception as exc:
        problem = database_problem(settings.database_url, exc, key) if settings else None  # unusable database
        if problem is None:
            raise
        print(f"incubot : {problem}", file=sys.stderr)
        return 2


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]


# Commands that only read: on a SQLite file that does not exist they would create an empty
# database and answer « nothing » — they refuse instead, and say where they looked.
READING_COMMANDS = {"budget", "export", "report", "reminders", "outbox", "backup"}


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _check_database_exists(args: argparse.Namespace, settings: Settings) -> None:
    path = _sqlite_file(settings.database_url)
    if path is None or path.exists() or (args.command == "shell" and args.demo):
        return
    if args.command in READING_COMMANDS:
        raise CliError(f"aucune base de données à {path} : rien à lire. Lancez la commande depuis le dossier de "
                       "la base, précisez DATABASE_URL (ou --database), ou créez-la : incubot import FICHIER.toml.")
    if path.parent.is_dir():  # elsewhere opening it fails, and that error says why
        print(f"incubot : nouvelle base de données créée : {path}", file=sys.stderr)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    _check_database_exists(args, settings)
    if args.command == "shell":
        return cmd_shell(args, settings)
    if args.command == "serve":
        from bot.server import serve

        return serve(settings, port=args.port or settings.port, host=args.host, scheduler=not args.no_scheduler)
    if args.command == "db":
        return cmd_db(args, settings)
    if args.command in ("backup", "restore"):
        return cmd_backup(settings, args.file, force=args.force, restore=args.command == "restore")
    # Only the commands that send (the scheduler's) compose the configured platforms; the others
    # leave what they enqueue in the outbox for `serve` / `clock`.
    sends = args.command == "clock" or (args.command == "reminders" and args.action == "send")
    runtime = compose(settings, plugs=None if sends else ()).runtime
    if args.command == "import":
        return cmd_import(runtime, args.file)
    if args.command == "budget":
        return cmd_budget(runtime, args.year or runtime.services.today().year, args.json)
    if args.command == "export":
        return cmd_export(runtime, args.format, args.output)
    if args.command == "demo":
        return cmd_demo(runtime, args.quotes)
    from bot import commands_ext

    return commands_ext.run(args, runtime)


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms.console import PLATFORM, Console, enable_line_editing, history_file, plug

    if args.demo:
        path = Path("incubot-demo.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        settings = _replace(settings, database_url=f"sqlite:///{path}")
    person = args.person or ("lea.dupont" if args.demo else None)
    if person is None:
        raise CliError("précisez qui parle : incubot shell --as IDENTIFIANT (voir le fichier de référence).")
    incubot = compose(settings, plugs=[plug(person, color=sys.stdout.isatty())])
    runtime = incubot.runtime
    if args.demo:
        from bot.demo import load_demo

        load_demo(runtime.services.sessions, runtime.services.now())
        print(runtime.services.t("Base de démonstration recréée : {path}", path=path.resolve()))
    console = incubot.platform(PLATFORM)
    assert isinstance(console, Console)
    console.switch(person)
    if args.demo:
        console.who()
        print(console.t("Essayez : « devis dedale; 12 500 HT; Scopyleft; Sprint 7 », puis « :as julien.moreau » "
                        "et le numéro du bouton Valider.") + "\n")
    if sys.stdin.isatty():
        enable_line_editing(history_file(settings.database_url))
    console.loop()
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    if args.action == "upgrade":
        upgrade(engine)
        after = current_revision(engine)
        if after == before:
            print(f"Schéma déjà à jour (révision {after}).")
        elif before is None:
            print(f"Base créée au schéma de la révision {after}.")
        else:
            print(f"Schéma migré de la révision {before} à la révision {after}.")
        return 0
    print(f"Schéma de la base : révision {before or 'aucune (base vide)'}.")
    return 0


def cmd_backup(settings: Settings, file: Path, *, force: bool, restore: bool) -> int:
    """SQLite's online backup: a consistent copy page by page, readers and writers go on meanwhile."""
    import sqlite3

    database = _sqlite_file(settings.database_url)
    if database is None:
        raise CliError("sauvegarde et restauration ne concernent que SQLite ; sous PostgreSQL, utilisez "
                       "pg_dump et pg_restore (voir le README).")
    source, target = (file, database) if restore else (database, file)
    if restore and not _is_incubot_database(file):
        raise CliError(f"{file} n'est pas une sauvegarde d'incubot (pas de base SQLite avec son schéma) : "
                       "rien n'a été modifié.")
    if target.exists() and not force:
        what = "la base" if restore else "le fichier"
        raise CliError(f"{what} {target} existe déjà : ajoutez --force pour le remplacer.")
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    if restore:
        print(f"Base {target} restaurée depuis {source}. La prochaine commande la migrera si besoin.")
    else:
        print(f"Sauvegarde écrite : {target}.")
    return 0


def _is_incubot_database(path: Path) -> bool:
    import sqlite3

    if not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def cmd_import(runtime: Runtime, file: Path) -> int:
    from handlers.importer import ImportFileError, parse_reference
    from storage.db import unit_of_work
    from storage.reference import AllocationBelowUse, ImportConflict, import_reference

    try:
        data = parse_reference(file.read_bytes(), runtime.services.t)
    except OSError as exc:
        raise CliError(f"impossible de lire {file} ({exc.strerror}).") from None
    except ImportFileError as exc:
        raise CliError(f"fichier refusé, rien n'a été modifié — {exc.key} : {exc.reason}") from None
    from sqlalchemy.exc import IntegrityError

    try:
        with unit_of_work(runtime.services.sessions) as session:
            report = import_reference(session=session, data=data)
    except ImportConflict as exc:
        if exc.key == "allocation":
            reason = "aucune convention dans le fichier ni dans la base : ajoutez la section [convention]"
        else:
            reason = f"« {exc.value} » est déjà donné à {exc.holder} dans la base"
        raise CliError(f"fichier refusé, rien n'a été modifié — {exc.key} : {reason}.") from None
    except AllocationBelowUse as exc:
        t = runtime.services.t
        used = "déjà engagées" if exc.credits == "AE" else "déjà consommés"
        raise CliError(f"fichier refusé, rien n'a été modifié — dotation {exc.year} : les {exc.credits} passeraient à "
                       f"{t.money(exc.allocated_cents)}, sous les {t.money(exc.used_cents)} {used}.") from None
    except IntegrityError as exc:
        raise CliError("fichier refusé, rien n'a été modifié — une dotation ne peut pas descendre sous ce qui "
                       f"est déjà engagé ou consommé ({exc.orig}).") from None
    if not report.changed:
        print(f"{file} : déjà à jour, rien n'a changé.")
    else:
        print(f"{file} importé : {import_summary(report.created, report.updated, report.deactivated)}.")
    return 0


# What an import counts, in words: (singular, plural, feminine).
IMPORTED_FR = {
    "convention": ("convention", "conventions", True),
    "allocation": ("dotation", "dotations", True),
    "person": ("personne", "personnes", True),
    "startup": ("startup", "startups", True),
    "membership": ("rattachement à une startup", "rattachements à une startup", False),
    "committee": ("comité", "comités", False),
}


def import_summary(created: dict[str, int], updated: dict[str, int],
                   deactivated: dict[str, int] | None = None) -> str:
    """« 3 dotations créées, 1 personne mise à jour, 1 startup désactivée » (French plural and gender)."""
    parts = []
    # (participle, what follows it): the participle agrees in gender and number, « à jour » does not.
    for counts, (participle, rest) in ((created, ("créé", "")), (updated, ("mis", " à jour")),
                                       (deactivated or {}, ("désactivé", ""))):
        for kind, (singular, plural, feminine) in IMPORTED_FR.items():
            n = counts.get(kind, 0)
            if not n:
                continue
            agreed = participle + ("e" if feminine else "")
            if n > 1 and not agreed.endswith("s"):
                agreed += "s"
            parts.append(f"{n} {singular if n == 1 else plural} {agreed}{rest}")
    return ", ".join(parts)


def cmd_budget(runtime: Runtime, year: int, as_json: bool) -> int:
    from handlers.budget import balance_lines  # noqa: F401 - same figures as the chat command
    from handlers.money import decimal_euros
    from storage import ledger
    from storage.db import unit_of_work

    with unit_of_work(runtime.services.sessions) as session:
        b = ledger.year_balance(session=session, year=year)
        known = ledger.allocation_years(session=session)
    if not b.exists:
        years = ", ".join(map(str, known)) if known else "aucune (importez un fichier de référence)"
        raise CliError(f"aucune dotation pour {year}. Années connues : {years}.")
    data = {
        "year": year,
        "ae": {"allocated": decimal_euros(b.ae_cents), "committed": decimal_euros(b.ae_committed_cents),
               "available": decimal_euros(b.ae_available_cents)},
        "cp": {"allocated": decimal_euros(b.cp_cents), "consumed": decimal_euros(b.cp_consumed_cents),
               "available": decimal_euros(b.cp_available_cents)},
    }
    if as_json:
        print(json.dumps(data))
    else:
        t = runtime.services.t
        print(f"AE {year} : allouées {t.money(b.ae_cents)}, engagées {t.money(b.ae_committed_cents)}, "
              f"disponibles {t.money(b.ae_available_cents)}")
        print(f"CP {year} : alloués {t.money(b.cp_cents)}, consommés {t.money(b.cp_consumed_cents)}, "
              f"disponibles {t.money(b.cp_available_cents)}")
    return 0


def cmd_export(runtime: Runtime, fmt: str, output: Path | None) -> int:
    from handlers.export import export_rows, to_csv
    from storage.db import unit_of_work

    with unit_of_work(runtime.services.sessions) as session:
        rows = export_rows(session=session)
    text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n" if fmt == "json" else to_csv(rows)
    return emit(text, output, f"{len(rows)} devis exportés dans {output}.")


def emit(text: str, output: Path | None, written: str) -> int:
    """Write ``text`` to ``output`` (saying ``written`` on stderr) or to standard output."""
    if output:
        output.write_text(text, encoding="utf-8")
        print(written, file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_demo(runtime: Runtime, quotes: int) -> int:
    from bot.demo import load_demo
    from storage import reference
    from storage.db import unit_of_work

    with unit_of_work(runtime.services.sessions) as session:
        empty = reference.current_convention(session=session) is None
    if empty:
        load_demo(runtime.services.sessions, runtime.services.now())
    if quotes:
        from bot.demo import generate_quotes

        generate_quotes(runtime.services.sessions, runtime.services.now(), quotes)
    print(f"Données de démonstration prêtes ({quotes} devis générés).")
    return 0


def now_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"« {text} » n'est pas une date ISO (par exemple 2026-12-01T09:00).") from None
    return value


if __name__ == "__main__":
    raise SystemExit(main())
