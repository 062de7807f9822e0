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
from storage.db import unit_of_work


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
