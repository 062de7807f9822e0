"""``incubot convention end --on DATE --reason "…"``: record that the convention ends early (art. 7).

The termination lives in the database, not in the reference file: it is an act of the parties
dated after the convention was signed, and importing the file again must not undo it. It is
audited on ``convention:<reference>``; from the day after ``--on`` nothing is validated nor
ordered (storage/rules.py), and the convention-end reminders use that day.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from bot.cli.common import CliError
from bot.cli.wiring import runtime_for
from bot.config import Settings
from handlers.i18n import Translator
from handlers.reminders import add_months
from storage import convention, reference
from storage.db import unit_of_work
from storage.rules import last_day

MAX_REASON = 1000


def add_parsers(sub: Any, t: Translator) -> None:
    parser = sub.add_parser("convention", help=t("la vie de la convention : sa résiliation (art. 7)"))
    actions = parser.add_subparsers(dest="action", required=True, title=t("actions"), metavar=t("ACTION"))
    end = actions.add_parser("end", help=t("enregistrer la fin anticipée de la convention (résiliation, art. 7)"))
    end.add_argument("--on", required=True, metavar=t("AAAA-MM-JJ"),
                     help=t("son dernier jour en vigueur (rien n'est validé ni commandé après)"))
    end.add_argument("--reason", required=True, metavar=t("MOTIF"), help=t("le motif de la résiliation"))
    end.set_defaults(run=run_end)


def _day(text: str, t: Translator) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(t("« {text} » n'est pas une date (AAAA-MM-JJ, par exemple 2026-03-31) : rien n'a changé.",
                         text=text)) from None


def run_end(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    on = _day(args.on, t)
    reason = (args.reason or "").strip()
    if not reason:
        raise CliError(t("le motif de la résiliation est obligatoire (--reason \"…\") : rien n'a changé."))
    if len(reason) > MAX_REASON:
        raise CliError(t("le motif dépasse {n} caractères : rien n'a changé.", n=MAX_REASON))
    runtime = runtime_for(settings)
    now = runtime.services.now()
    with unit_of_work(runtime.services.sessions) as session:
        current = reference.current_convention(session=session)
        if current is None:
            raise CliError(t("aucune convention n'est enregistrée : importez d'abord le fichier de référence."))
        if on < current.starts:
            raise CliError(t("la convention {ref} prend effet le {starts} : elle ne peut pas finir avant "
                             "(--on {on}) ; rien n'a changé.", ref=current.reference, starts=t.date(current.starts),
                             on=on.isoformat()))
        if on > current.ends:
            raise CliError(t("la convention {ref} prend fin d'elle-même le {ends} : une fin au {on} n'a pas lieu "
                             "d'être enregistrée ; rien n'a changé.", ref=current.reference,
                             ends=t.date(current.ends), on=t.date(on)))
        done = convention.terminate(session=session, on=on, reason=reason, now=now)
        ends, notice = last_day(done.convention), current.notice_months
        ref = done.convention.reference
    if not done.changed:
        print(t("Convention {ref} : sa fin au {on} est déjà enregistrée ; rien n'a changé.", ref=ref, on=t.date(on)))
        return 0
    print(t("Convention {ref} : fin anticipée enregistrée, dernier jour {on} (art. 7). Motif : {reason}. Aucun "
            "devis ne sera validé ni commandé après cette date.", ref=ref, on=t.date(ends), reason=reason))
    if notice and on < add_months(now.date(), notice):
        print(t("Préavis de {n} mois (art. 7) : cette date est à moins de {n} mois d'aujourd'hui ; la résiliation "
                "doit avoir été notifiée au plus tard le {notified}.", n=notice,
                notified=t.date(add_months(on, -notice))))
    return 0
