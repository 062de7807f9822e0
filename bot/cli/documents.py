"""Documents: ``incubot report`` (the monthly report; ``--final``: the convention's final report),
``incubot pv`` (a PV de service fait) and ``incubot committee-file`` (the investment committee's file)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.cli.common import CliError
from bot.cli.wiring import runtime_for
from bot.config import Settings
from bot.runtime import Runtime
from handlers.documents import FORMATS, from_markdown, render
from handlers.errors import CommandError
from handlers.final_report import final_file
from handlers.i18n import Translator
from handlers.markup import plain
from handlers.preparation import committee_file
from handlers.pv import pv_file
from handlers.reports import parse_month, report_file
from storage.committees import committee_by_date
from storage.db import unit_of_work
from storage.reference import next_committee

BINARY = ("xlsx", "pdf")


def add_parsers(sub: Any, t: Translator) -> None:
    report = sub.add_parser("report", help=t("le rapport mensuel, ou le bilan final de la convention, en fichier "
                                             "(Markdown, CSV, XLSX ou PDF)"))
    which = report.add_mutually_exclusive_group()
    which.add_argument("--month", metavar=t("AAAA-MM"), help=t("AAAA-MM (sinon le mois précédent)"))
    which.add_argument("--final", action="store_true",
                       help=t("le bilan final de la convention, arrêté à son dernier jour (avant la fin : un bilan "
                              "provisoire à ce jour)"))
    report.add_argument("--format", choices=FORMATS, default="md",
                        help=t("md (par défaut), csv, xlsx ou pdf (avec le graphique des AE et des CP)"))
    report.add_argument("--output", type=Path, metavar=t("FICHIER"), help=t("fichier (sinon la sortie standard)"))
    report.set_defaults(run=run_report, reads_only=True)

    pv = sub.add_parser("pv", help=t("le PV de service fait d'un service fait certifié, en PDF à signer"))
    pv.add_argument("reference", metavar="SF-AAAA-NNNN", help=t("la référence du service fait"))
    pv.add_argument("--output", type=Path, required=True, metavar=t("FICHIER.pdf"), help=t("le fichier PDF à écrire"))
    pv.add_argument("--format", choices=("pdf", "md"), default="pdf", help=t("pdf (par défaut) ou md"))
    pv.set_defaults(run=run_pv, reads_only=True)

    dossier = sub.add_parser("committee-file", help=t("le dossier du comité d'investissement (Markdown ou PDF)"))
    dossier.add_argument("--date", metavar=t("AAAA-MM-JJ"),
                         help=t("la date du comité (sinon le prochain)"))
    dossier.add_argument("--format", choices=("md", "pdf"), default="md", help=t("md (par défaut) ou pdf"))
    dossier.add_argument("--output", type=Path, metavar=t("FICHIER"), help=t("fichier (sinon la sortie standard)"))
    dossier.set_defaults(run=run_committee_file, reads_only=True)


def write_document(data: bytes, output: Path | None, fmt: str, written: str, t: Translator) -> int:
    """``data`` into ``output`` (saying ``written`` on stderr), or text formats to standard output."""
    if output is None:
        if fmt in BINARY:
            raise CliError(t("le format {fmt} s'écrit dans un fichier : ajoutez --output FICHIER.{fmt}.", fmt=fmt))
        sys.stdout.write(data.decode("utf-8"))
        return 0
    if output.is_dir():
        raise CliError(t("{file} est un dossier : donnez un nom de fichier, par exemple {file}/rapport.{fmt}.",
                         file=output, fmt=fmt))
    if not output.parent.is_dir():
        raise CliError(t("le dossier {folder} n'existe pas : rien n'a été écrit.", folder=output.parent))
    try:
        output.write_bytes(data)
    except OSError:
        raise CliError(t("impossible d'écrire {file} (droits insuffisants ou disque plein) : rien n'a été écrit.",
                         file=output)) from None
    print(written, file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings)
    try:
        year, number = parse_month(args.month or "", runtime.services.today(), t)
    except CommandError as exc:
        raise CliError(plain(exc.message)) from None
    if args.output is None and args.format in BINARY:
        write_document(b"", None, args.format, "", t)
    if args.final:
        return run_final_report(args, runtime, t)
    with unit_of_work(runtime.services.sessions) as session:
        data = report_file(session=session, t=t, year=year, month=number, fmt=args.format,
                           created=runtime.services.now())
    return write_document(data, args.output, args.format,
                          t("Rapport {year:04d}-{month:02d} écrit dans {file}.", year=year, month=number,
                            file=args.output), t)


def run_final_report(args: argparse.Namespace, runtime: Runtime, t: Translator) -> int:
    """The bilan at the convention's end (the same figures whatever day it runs afterwards)."""
    try:
        with unit_of_work(runtime.services.sessions) as session:
            data = final_file(session=session, t=t, now=runtime.services.now(), fmt=args.format,
                              created=runtime.services.now())
    except CommandError as exc:
        raise CliError(plain(exc.message)) from None
    return write_document(data, args.output, args.format, t("Bilan de la convention écrit dans {file}.",
                                                             file=args.output), t)


def run_pv(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings)
    try:
        with unit_of_work(runtime.services.sessions) as session:
            data = pv_file(session=session, reference=args.reference, t=t, fmt=args.format)
    except CommandError as exc:
        raise CliError(plain(exc.message)) from None
    return write_document(data, args.output, args.format,
                          t("PV de service fait {ref} écrit dans {file}.", ref=args.reference.strip().upper(),
                            file=args.output), t)


def run_committee_file(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    """The committee file the managers receive two days before, on demand, as Markdown or PDF."""
    runtime = runtime_for(settings)
    today = runtime.services.today()
    if args.output is None and args.format in BINARY:
        write_document(b"", None, args.format, "", t)
    with unit_of_work(runtime.services.sessions) as session:
        if args.date:
            try:
                held_on = date.fromisoformat(args.date)
            except ValueError:
                raise CliError(t("« {text} » n'est pas une date : écrivez AAAA-MM-JJ, par exemple 2026-12-15.",
                                 text=args.date)) from None
            committee = committee_by_date(session=session, held_on=held_on)
            if committee is None:
                raise CliError(t("aucun comité n'est prévu le {date} (voir les [[committee]] du fichier de "
                                 "référence).", date=t.date(held_on)))
        else:
            committee = next_committee(session=session, today=today)
            if committee is None:
                raise CliError(t("aucun comité à venir n'est enregistré (ajoutez-le au fichier de référence)."))
        text = committee_file(session=session, t=t, committee=committee, today=today)
    data = text.encode("utf-8") if args.format == "md" else render(
        from_markdown(text, footer=t("incubot · dossier du comité du {date}", date=t.date(committee.held_on))),
        "pdf", t)
    return write_document(data, args.output, args.format,
                          t("Dossier du comité du {date} écrit dans {file}.", date=t.date(committee.held_on),
                            file=args.output), t)
