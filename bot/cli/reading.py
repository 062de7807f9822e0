"""Commands that only read: ``incubot budget`` (``report``: bot.cli.documents; ``export``: bot.cli.exchange)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.common import CliError
from bot.cli.wiring import runtime_for
from bot.config import Settings
from handlers.i18n import Translator
from handlers.money import decimal_euros
from storage import ledger
from storage.db import unit_of_work


def add_parsers(sub: Any, t: Translator) -> None:
    budget = sub.add_parser("budget", help=t("AE et CP d'une année"))
    budget.add_argument("--year", type=int, metavar=t("AAAA"), help=t("l'année (sinon l'année en cours)"))
    budget.add_argument("--json", action="store_true", help=t("en JSON (montants en euros, chaînes décimales)"))
    budget.set_defaults(run=run_budget, reads_only=True)


def run_budget(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings)
    year = args.year or runtime.services.today().year
    with unit_of_work(runtime.services.sessions) as session:
        b = ledger.year_balance(session=session, year=year)
        known = ledger.allocation_years(session=session)
    if not b.exists:
        years = ", ".join(map(str, known)) if known else t("aucune (importez un fichier de référence)")
        raise CliError(t("aucune dotation pour {year}. Années connues : {years}.", year=year, years=years))
    if args.json:  # the contract of SPEC.md (version 2): euros as decimal strings, whatever the language
        print(json.dumps(budget_json(b)))
        return 0
    print(t("AE {year} : allouées {allocated}, réservées {reserved}, engagées {engaged}, disponibles {available}",
            year=year, allocated=t.money(b.ae_cents), reserved=t.money(b.ae_reserved_cents),
            engaged=t.money(b.ae_engaged_cents), available=t.money(b.ae_available_cents)))
    print(t("CP {year} : alloués {allocated}, à payer {to_pay}, consommés {consumed}, disponibles {available}",
            year=year, allocated=t.money(b.cp_cents), to_pay=t.money(b.cp_to_pay_cents),
            consumed=t.money(b.cp_consumed_cents), available=t.money(b.cp_free_cents)))
    print(t("Restes à payer : {restes} (toutes années ; dont {year_part} sur les commandes de {year})",
            restes=t.money(b.restes_all_years_cents), year_part=t.money(b.restes_cents), year=year))
    return 0


def budget_json(b: ledger.YearBalance) -> dict[str, Any]:
    """``incubot budget --json`` (SPEC, version 2; keys added, none removed): ``committed`` = reserved +
    engaged; ``consumed`` = paid; CP ``available`` = allocated − consumed − to pay; ``restes_a_payer``
    over the open orders of every year, as ``budget`` shows them."""
    return {
        "year": b.year,
        "ae": {"allocated": decimal_euros(b.ae_cents), "reserved": decimal_euros(b.ae_reserved_cents),
               "engaged": decimal_euros(b.ae_engaged_cents), "committed": decimal_euros(b.ae_committed_cents),
               "available": decimal_euros(b.ae_available_cents)},
        "cp": {"allocated": decimal_euros(b.cp_cents), "to_pay": decimal_euros(b.cp_to_pay_cents),
               "consumed": decimal_euros(b.cp_consumed_cents), "available": decimal_euros(b.cp_free_cents)},
        "restes_a_payer": decimal_euros(b.restes_all_years_cents),
    }

