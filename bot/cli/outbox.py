"""``incubot reminders due|send --at ISO`` and ``incubot outbox [list|retry]``: what the scheduler sends, what waits."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from bot.cli.common import CliError, at_moment
from bot.cli.wiring import runtime_for
from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import StdoutSender, sweep
from handlers import reminders
from handlers.i18n import N_, Translator
from handlers.markup import plain
from storage import outbox
from storage.db import unit_of_work


def add_parsers(sub: Any, t: Translator) -> None:
    rem = sub.add_parser("reminders", help=t("les rappels et alertes du planificateur"))
    rem.add_argument("action", choices=("due", "send"),
                     help=t("due : ce qui serait envoyé et ne l'a pas été ; send : l'envoyer"))
    rem.add_argument("--at", help=t("à cet instant (ISO, par exemple 2026-12-01T09:00 ; heure locale si sans "
                                    "fuseau ; sinon maintenant)"))
    rem.set_defaults(run=run_reminders, reads_only=True)

    box = sub.add_parser("outbox", help=t("les messages en attente, en échec ou non distribuables ; les renvoyer"))
    box.add_argument("action", nargs="?", choices=("list", "retry"), default="list",
                     help=t("list (par défaut) : les lister ; retry : remettre en envoi ceux en échec"))
    box.add_argument("id", nargs="?", type=int, help=t("retry : le numéro du message (voir la liste)"))
    box.add_argument("--all-failed", action="store_true", help=t("retry : tous ceux en échec ou non distribuables"))
    box.set_defaults(run=run_outbox, reads_only=True)


def run_reminders(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings, sends=args.action == "send")
    now = at_moment(args.at, runtime.services.now(), runtime.services.tz, t)
    if args.action == "due":
        with unit_of_work(runtime.services.sessions) as session:
            found = reminders.waiting_in_outbox(session=session, now=now)
            found += reminders.due(session=session, t=t, now=now, at=runtime.settings.reminder_time)
        if not found:
            print(t("Rien à envoyer au {when}.", when=t.datetime(now)))
            return 0
        print(t.plural("{n} rappel à envoyer au {when} :", "{n} rappels à envoyer au {when} :", len(found),
                       when=t.datetime(now)))
        for r in found:
            first_line = plain(r.reply.text).splitlines()[0] if r.reply.text else ""
            print(f"  {t.datetime(r.due_at)}  {r.kind:<28} {r.target:<28} {r.occurrence:<22} {first_line}")
        return 0
    result = sweep(runtime, now)
    print(t.plural("{n} nouveau rappel", "{n} nouveaux rappels", len(result.enqueued)) + ", "
          + t.plural("{n} message envoyé au {when}.", "{n} messages envoyés au {when}.", result.sent,
                     when=t.datetime(now)), file=sys.stderr)
    if not runtime.courier.carriers():
        not_carried(runtime, now, t)
    return 0


def not_carried(runtime: Runtime, now: datetime, t: Translator) -> None:
    """No platform: print what waits (a preview, nothing is used up) and say why it waits."""
    with unit_of_work(runtime.services.sessions) as session:
        waiting = list(outbox.waiting(session=session, now=now))
    preview = StdoutSender(t=t)
    for message in waiting:
        runtime.courier.send_on(preview, message, now=now)
    n_reminders = sum(m.kind.startswith(reminders.KIND_PREFIX) for m in waiting)
    others = len(waiting) - n_reminders
    parts = [t.plural("{n} rappel", "{n} rappels", n_reminders)] if n_reminders or not others else []
    parts += [t.plural("{n} autre message", "{n} autres messages", others)] if others else []
    print(t("{what} en attente : aucune plateforme configurée (Slack, Mattermost). Rien n'est perdu : ils "
            "partiront dès qu'une plateforme sera configurée (« incubot outbox » les liste).",
            what=t(" et ").join(parts)), file=sys.stderr)


STATES = {"pending": N_("en attente"), "claimed": N_("en cours d'envoi"), "failed": N_("en échec"),
          "skipped": N_("personne à joindre"), "undeliverable": N_("non distribuable"), "sent": N_("envoyé")}


def run_outbox(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    runtime = runtime_for(settings)
    now = runtime.services.now()
    if args.action == "retry":
        if (args.id is None) == (not args.all_failed):
            raise CliError(t("précisez le numéro d'un message (incubot outbox retry 12) ou --all-failed, "
                             "pas les deux."))
        with unit_of_work(runtime.services.sessions) as session:
            count = outbox.retry(session=session, now=now, message_id=args.id)
        if args.id is not None and not count:
            raise CliError(t("le message {id} n'est ni en échec ni non distribuable (voir « incubot outbox »).",
                             id=args.id))
        print(t.plural("{n} message remis en envoi.", "{n} messages remis en envoi.", count) if count
              else t("Aucun message en échec ni non distribuable."))
        return 0
    with unit_of_work(runtime.services.sessions) as session:
        lines = outbox.open_lines(session=session)
    if not lines:
        print(t("Rien en attente, rien en échec."))
        return 0
    print(t.plural("{n} message en attente, en échec ou non distribuable :",
                   "{n} messages en attente, en échec ou non distribuables :",
                   len({line.message.id for line in lines})))
    for line in lines:
        m, d = line.message, line.delivery
        status = "undeliverable" if m.status == "undeliverable" else d.status if d else m.status
        state = t(STATES[status]) if status in STATES else status
        error = (d.last_error if d else m.last_error) or ""
        print(t("  n° {id:<5} {state:<19} {kind:<28} {target:<28} {platform:<11} essais {attempts:<2} prévu {due}",
                id=m.id, state=state, kind=m.kind, target=m.target, platform=d.platform if d else "—",
                attempts=d.attempts if d else m.attempts, due=t.datetime(d.due_at if d else m.due_at))
              + (t(" — dernière erreur : {error}", error=error[:160]) if error else ""))
    return 0
