"""The files that leave and enter incubot: ``incubot export`` and ``incubot import-payments``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import CliError, emit
from bot.cli.wiring import runtime_for
from bot.config import Settings
from handlers.export import FORMATS, WHAT, export_table, table_csv, table_json, to_xlsx
from handlers.i18n import Translator
from handlers.markup import plain
from handlers.payments_file import LineError, PaymentsFileError, Reconciliation, import_payments, parse_payments
from storage import reference
from storage.db import unit_of_work

MAX_FAULTS_SHOWN = 20


def add_parsers(sub: Any, t: Translator) -> None:
    export = sub.add_parser("export", help=t("exporter les devis, les services faits ou les paiements"))
    export.add_argument("--format", choices=FORMATS, default="csv",
                        help=t("csv (par défaut), json ou xlsx (tableur : montants et dates typés)"))
    export.add_argument("--what", choices=WHAT, default="quotes",
                        help=t("quotes (les devis, par défaut), service-done (les services faits) ou payments "
                               "(les paiements)"))
    export.add_argument("--output", type=Path, metavar=t("FICHIER"),
                        help=t("fichier (sinon la sortie standard ; obligatoire en xlsx sur un terminal)"))
    export.set_defaults(run=run_export, reads_only=True)

    payments = sub.add_parser("import-payments", help=t("enregistrer les paiements d'un fichier CSV "
                                                        "(reference;amount;paid_on, voir examples/)"))
    payments.add_argument("file", type=Path, metavar=t("FICHIER"), help=t("le fichier des paiements (CSV, « ; »)"))
    payments.add_argument("--as", dest="person", metavar=t("IDENTIFIANT"),
                          help=t("le gestionnaire qui enregistre (nommé dans l'historique)"))
    payments.add_argument("--dry-run", action="store_true",
                          help=t("vérifier et rapprocher sans rien enregistrer"))
    # A missing SQLite file is refused as for the reading commands: there is nothing to match payments to.
    payments.set_defaults(run=run_import_payments, reads_only=True)


def _written(t: Translator, what: str, n: int, file: Path | None) -> str:
    if what == "service-done":
        return t.plural("{n} service fait exporté dans {file}.", "{n} services faits exportés dans {file}.", n,
                        file=file)
    if what == "payments":
        return t.plural("{n} paiement exporté dans {file}.", "{n} paiements exportés dans {file}.", n, file=file)
    return t.plural("{n} devis exporté dans {file}.", "{n} devis exportés dans {file}.", n, file=file)


def run_export(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    output: Path | None = args.output
    if args.format == "xlsx" and output is None and sys.stdout.isatty():
        raise CliError(t("un fichier xlsx ne s'affiche pas dans un terminal : précisez --output FICHIER.xlsx "
                         "(ou redirigez la sortie vers un fichier)."))
    runtime = runtime_for(settings)
    with unit_of_work(runtime.services.sessions) as session:
        table = export_table(session=session, what=args.what)
    written = _written(t, args.what, len(table.rows), output)
    if args.format != "xlsx":
        return emit(table_json(table) if args.format == "json" else table_csv(table), output, written)
    data = to_xlsx([table], t=t, tz=settings.tz)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CliError(t("impossible d'écrire {file} ({reason}).", file=output, reason=exc.strerror)) from None
    print(written, file=sys.stderr)
    return 0


class _DryRun(Exception):
    """Rolls the dry run's transaction back once everything was matched."""


def _refused(t: Translator, file: Path, errors: list[LineError]) -> CliError:
    shown = [t("ligne {line} : {reason}", line=e.line, reason=plain(e.reason)) for e in errors[:MAX_FAULTS_SHOWN]]
    if len(errors) > MAX_FAULTS_SHOWN:
        more = len(errors) - MAX_FAULTS_SHOWN
        shown.append(t.plural("… et {n} autre ligne en faute", "… et {n} autres lignes en faute", more))
    return CliError(t("{file} refusé, aucun paiement n'a été enregistré :", file=file) + "\n  " + "\n  ".join(shown))


def _summary(t: Translator, result: Reconciliation, *, dry_run: bool) -> list[str]:
    """The reconciliation, as the operator reads it against CHORUS: matched, already recorded, unknown."""
    out: list[str] = []
    matched, already, unknown = result.of("matched"), result.of("already"), result.of("unknown")
    if dry_run:
        out.append(t.plural("À enregistrer : {n} paiement", "À enregistrer : {n} paiements", len(matched)))
    else:
        out.append(t.plural("Rapproché et enregistré : {n} paiement", "Rapprochés et enregistrés : {n} paiements",
                            len(matched)))
    for o in matched:
        via = "" if o.line.is_service_done else t(" (EJ {ej})", ej=o.line.reference)
        out.append("  " + t("ligne {line} — {reference}{via} : {amount} payé le {day} (commande {order})",
                            line=o.line.line, reference=o.service_done, via=via, amount=t.money(o.line.amount_cents),
                            day=t.date(o.line.paid_on), order=o.order))
    out.append(t.plural("Déjà enregistré : {n} paiement", "Déjà enregistrés : {n} paiements", len(already)))
    for o in already:
        via = "" if o.line.is_service_done else t(" (EJ {ej})", ej=o.line.reference)
        day = t.date(o.paid_on) if o.paid_on else "?"
        out.append("  " + t("ligne {line} — {reference}{via} : {amount}, déjà enregistré (payé le {day})",
                            line=o.line.line, reference=o.service_done, via=via, amount=t.money(o.line.amount_cents),
                            day=day))
    out.append(t.plural("Inconnu : {n} paiement", "Inconnus : {n} paiements", len(unknown)))
    for o in unknown:
        if o.line.is_service_done:
            what = t("aucun service fait ne porte cette référence")
        else:
            what = t("aucune commande ne porte ce numéro d'EJ")
        out.append("  " + t("ligne {line} — {reference} : {amount} — {what}", line=o.line.line,
                            reference=o.line.reference, amount=t.money(o.line.amount_cents), what=what))
    return out


def run_import_payments(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    file: Path = args.file
    runtime = runtime_for(settings)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(t("impossible de lire {file} ({reason}).", file=file, reason=exc.strerror)) from None
    now, today = runtime.services.clock(), runtime.services.today()
    try:
        lines = parse_payments(data, t, today=today)
    except PaymentsFileError as exc:
        raise _refused(t, file, exc.errors) from None
    result: Reconciliation | None = None
    try:
        with unit_of_work(runtime.services.sessions) as session:
            if args.person:
                person = reference.get_person(session=session, person_id=args.person)
                if person is None or not person.active:
                    raise CliError(t("personne inconnue « {person} » (voir le fichier de référence).",
                                     person=args.person))
                if not (person.is_manager or person.is_admin):
                    raise CliError(t("{name} n'est pas gestionnaire : les paiements sont enregistrés par les "
                                     "gestionnaires.", name=person.name))
            result = import_payments(session=session, lines=lines, t=t, actor_id=args.person, now=now)
            if args.dry_run:
                raise _DryRun
    except PaymentsFileError as exc:
        raise _refused(t, file, exc.errors) from None
    except _DryRun:
        pass
    assert result is not None
    heading = (t.plural("{file} vérifié, rien n'a été enregistré (--dry-run) : {n} ligne.",
                        "{file} vérifié, rien n'a été enregistré (--dry-run) : {n} lignes.", len(lines), file=file)
               if args.dry_run else t.plural("{file} : {n} ligne lue.", "{file} : {n} lignes lues.", len(lines),
                                             file=file))
    print(heading)
    for text in _summary(t, result, dry_run=args.dry_run):
        print(text)
    if not args.dry_run and not result.of("matched") and result.of("already"):
        print(t("Rien de nouveau : ce fichier est déjà enregistré."))
    return 0
