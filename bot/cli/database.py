"""``incubot db upgrade|current``, ``incubot backup FILE``, ``incubot restore FILE``."""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from bot.cli.common import CliError, sqlite_file
from bot.config import Settings
from handlers.i18n import Translator
from storage.db import current_revision, make_engine, upgrade


def add_parsers(sub: Any, t: Translator) -> None:
    db = sub.add_parser("db", help=t("la base de données"))
    db.add_argument("action", choices=("upgrade", "current"),
                    help=t("upgrade : appliquer les migrations ; current : la révision du schéma"))
    db.set_defaults(run=run_db)

    backup = sub.add_parser("backup", help=t("copie cohérente de la base SQLite, même pendant que le bot tourne"))
    backup.add_argument("file", type=Path, metavar=t("FICHIER"), help=t("le fichier de sauvegarde à écrire"))
    backup.add_argument("--force", action="store_true", help=t("remplacer FICHIER s'il existe"))
    backup.set_defaults(run=run_backup, reads_only=True)

    restore = sub.add_parser("restore", help=t("remettre la base SQLite depuis une sauvegarde (bot arrêté)"))
    restore.add_argument("file", type=Path, metavar=t("FICHIER"), help=t("la sauvegarde (faite par incubot backup)"))
    restore.add_argument("--force", action="store_true", help=t("remplacer la base existante"))
    restore.set_defaults(run=run_restore)


def run_db(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    if args.action == "upgrade":
        upgrade(engine)
        after = current_revision(engine)
        if after == before:
            print(t("Schéma déjà à jour (révision {revision}).", revision=after))
        elif before is None:
            print(t("Base créée au schéma de la révision {revision}.", revision=after))
        else:
            print(t("Schéma migré de la révision {before} à la révision {after}.", before=before, after=after))
    elif before is None:
        print(t("Schéma de la base : aucune révision (base vide)."))
    else:
        print(t("Schéma de la base : révision {revision}.", revision=before))
    engine.dispose()
    return 0


def run_backup(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    return _copy(settings, args.file, force=args.force, restore=False, t=t)


def run_restore(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    return _copy(settings, args.file, force=args.force, restore=True, t=t)


def _copy(settings: Settings, file: Path, *, force: bool, restore: bool, t: Translator) -> int:
    """SQLite's online backup: a consistent copy page by page, readers and writers go on meanwhile."""
    database = sqlite_file(settings.database_url)
    if database is None:
        raise CliError(t("sauvegarde et restauration ne concernent que SQLite ; sous PostgreSQL, utilisez "
                         "pg_dump et pg_restore (voir le README)."))
    source, target = (file, database) if restore else (database, file)
    if restore and not _is_incubot_database(file):
        raise CliError(t("{file} n'est pas une sauvegarde d'incubot (pas de base SQLite avec son schéma) : "
                         "rien n'a été modifié.", file=file))
    if target.exists() and not force:
        if restore:
            raise CliError(t("la base {path} existe déjà : ajoutez --force pour la remplacer.", path=target))
        raise CliError(t("le fichier {path} existe déjà : ajoutez --force pour le remplacer.", path=target))
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    if restore:
        print(t("Base {target} restaurée depuis {source}. La prochaine commande la migrera si besoin.",
                target=target, source=source))
    else:
        print(t("Sauvegarde écrite : {path}.", path=target))
    return 0


def _is_incubot_database(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return bool(conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1)
    except sqlite3.Error:
        return False
