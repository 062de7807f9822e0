"""``incubot import`` (the reference file) and ``incubot demo`` (the demonstration data)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.cli.common import CliError
from bot.cli.wiring import runtime_for
from bot.config import Settings
from bot.demo import generate_quotes, load_demo
from handlers.i18n import Translator
from handlers.importer import ImportFileError, parse_reference
from storage import reference
from storage.db import unit_of_work
from storage.reference import AllocationBelowUse, ImportConflict, import_reference


def add_parsers(sub: Any, t: Translator) -> None:
    imp = sub.add_parser("import", help=t("charger les données de référence (TOML)"))
    imp.add_argument("file", type=Path, metavar=t("FICHIER"), help=t("le fichier de référence (voir examples/)"))
    imp.set_defaults(run=run_import)

    demo = sub.add_parser("demo", help=t("remplir une base avec les données de démonstration"))
    demo.add_argument("--quotes", type=int, default=0, help=t("ajouter N devis générés (mesures de charge)"))
    demo.set_defaults(run=run_demo)


def run_import(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    file: Path = args.file
    runtime = runtime_for(settings)
    refused = t("fichier refusé, rien n'a été modifié")
    try:
        data = parse_reference(file.read_bytes(), t)
    except OSError as exc:
        raise CliError(t("impossible de lire {file} ({reason}).", file=file, reason=exc.strerror)) from None
    except ImportFileError as exc:
        raise CliError(f"{refused} — {exc.key} : {exc.reason}") from None
    try:
        with unit_of_work(runtime.services.sessions) as session:
            report = import_reference(session=session, data=data, now=runtime.services.now())
    except ImportConflict as exc:
        if exc.key == "allocation":
            reason = t("aucune convention dans le fichier ni dans la base : ajoutez la section [convention]")
        else:
            reason = t("« {value} » est déjà donné à {holder} dans la base", value=exc.value, holder=exc.holder)
        raise CliError(f"{refused} — {exc.key} : {reason}.") from None
    except AllocationBelowUse as exc:
        allocated, used = t.money(exc.allocated_cents), t.money(exc.used_cents)
        if exc.credits == "AE":
            reason = t("dotation {year} : les AE passeraient à {allocated}, sous les {used} déjà engagées.",
                       year=exc.year, allocated=allocated, used=used)
        else:
            reason = t("dotation {year} : les CP passeraient à {allocated}, sous les {used} déjà consommés.",
                       year=exc.year, allocated=allocated, used=used)
        raise CliError(f"{refused} — {reason}") from None
    except IntegrityError as exc:
        raise CliError(f"{refused} — " + t("une dotation ne peut pas descendre sous ce qui est déjà engagé ou "
                                           "consommé ({detail}).", detail=exc.orig)) from None
    if not report.changed:
        print(t("{file} : déjà à jour, rien n'a changé.", file=file))
    else:
        print(t("{file} importé : {summary}.", file=file,
                summary=import_summary(t, report.created, report.updated, report.deactivated)))
    return 0


def _counted(t: Translator) -> dict[tuple[str, str], Callable[[int], str]]:
    """What an import counts, in words, with the participle agreeing (« 1 dotation créée », « 2 comités créés »)."""
    return {
        ("created", "convention"): lambda n: t.plural("{n} convention créée", "{n} conventions créées", n),
        ("created", "allocation"): lambda n: t.plural("{n} dotation créée", "{n} dotations créées", n),
        ("created", "person"): lambda n: t.plural("{n} personne créée", "{n} personnes créées", n),
        ("created", "startup"): lambda n: t.plural("{n} startup créée", "{n} startups créées", n),
        ("created", "membership"): lambda n: t.plural("{n} rattachement à une startup créé",
                                                      "{n} rattachements à une startup créés", n),
        ("created", "committee"): lambda n: t.plural("{n} comité créé", "{n} comités créés", n),
        ("updated", "convention"): lambda n: t.plural("{n} convention mise à jour", "{n} conventions mises à jour", n),
        ("updated", "allocation"): lambda n: t.plural("{n} dotation mise à jour", "{n} dotations mises à jour", n),
        ("updated", "person"): lambda n: t.plural("{n} personne mise à jour", "{n} personnes mises à jour", n),
        ("updated", "startup"): lambda n: t.plural("{n} startup mise à jour", "{n} startups mises à jour", n),
        ("updated", "membership"): lambda n: t.plural("{n} rattachement à une startup mis à jour",
                                                      "{n} rattachements à une startup mis à jour", n),
        ("updated", "committee"): lambda n: t.plural("{n} comité mis à jour", "{n} comités mis à jour", n),
        ("deactivated", "convention"): lambda n: t.plural("{n} convention désactivée",
                                                          "{n} conventions désactivées", n),
        ("deactivated", "allocation"): lambda n: t.plural("{n} dotation désactivée", "{n} dotations désactivées", n),
        ("deactivated", "person"): lambda n: t.plural("{n} personne désactivée", "{n} personnes désactivées", n),
        ("deactivated", "startup"): lambda n: t.plural("{n} startup désactivée", "{n} startups désactivées", n),
        ("deactivated", "membership"): lambda n: t.plural("{n} rattachement à une startup désactivé",
                                                          "{n} rattachements à une startup désactivés", n),
        ("deactivated", "committee"): lambda n: t.plural("{n} comité désactivé", "{n} comités désactivés", n),
    }


KINDS = ("convention", "allocation", "person", "startup", "membership", "committee")


def import_summary(t: Translator, created: dict[str, int], updated: dict[str, int],
                   deactivated: dict[str, int] | None = None) -> str:
    """« 3 dotations créées, 1 personne mise à jour, 1 startup désactivée » (plural and gender from the catalog)."""
    counted = _counted(t)
    parts = []
    for verb, counts in (("created", created), ("updated", updated), ("deactivated", deactivated or {})):
        parts += [counted[verb, kind](counts[kind]) for kind in KINDS if counts.get(kind)]
    return ", ".join(parts)


def run_demo(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings)
    sessions, now = runtime.services.sessions, runtime.services.now()
    with unit_of_work(sessions) as session:
        empty = reference.current_convention(session=session) is None
    if empty:
        load_demo(sessions, now)
    if args.quotes:
        generate_quotes(sessions, now, args.quotes)
    print(t.plural("Données de démonstration prêtes ({n} devis généré).",
                   "Données de démonstration prêtes ({n} devis générés).", args.quotes))
    return 0
