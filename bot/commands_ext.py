"""Sub-commands that belong to the scheduler and reports (``reminders``, ``report``, ``clock``).

* ``incubot reminders due --at ISO`` — what the scheduler would send at that moment
  and has not sent yet;
* ``incubot reminders send --at ISO`` — send it (a second run sends nothing new: the
  operator's catch-up after an outage);
* ``incubot report --month YYYY-MM --format md|csv [--output FILE]`` — the monthly
  report file for the ministry;
* ``incubot clock`` — the scheduler alone, in its own process (with ``serve --no-scheduler``);
* ``incubot outbox [list]`` — the messages pending, failed or undeliverable, per platform;
  ``incubot outbox retry ID|--all-failed`` — put failed ones back (from their first try).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.runtime import Runtime


def add_parsers(sub: Any) -> None:
    """Register the extra sub-commands on the ``incubot`` parser."""
    rem = sub.add_parser("reminders", help="les rappels et alertes du planificateur")
    rem.add_argument("action", choices=("due", "send"),
                     help="due : ce qui serait envoyé et ne l'a pas été ; send : l'envoyer")
    rem.add_argument("--at", help="à cet instant (ISO, par exemple 2026-12-01T09:00 ; heure locale si sans fuseau ; "
                                  "sinon maintenant)")

    report = sub.add_parser("report", help="le rapport mensuel, en fichier (Markdown ou CSV)")
    report.add_argument("--month", help="AAAA-MM (sinon le mois précédent)")
    report.add_argument("--format", choices=("md", "csv"), default="md", help="md (par défaut) ou csv")
    report.add_argument("--output", type=Path, help="fichier (sinon la sortie standard)")

    sub.add_parser("clock", help="le planificateur seul, dans son propre processus (avec serve --no-scheduler)")

    box = sub.add_parser("outbox", help="les messages en attente, en échec ou non distribuables ; les renvoyer")
    box.add_argument("action", nargs="?", choices=("list", "retry"), default="list",
                     help="list (par défaut) : les lister ; retry : remettre en envoi ceux en échec")
    box.add_argument("id", nargs="?", type=int, help="retry : le numéro du message (voir la liste)")
    box.add_argument("--all-failed", action="store_true", help="retry : tous ceux en échec ou non distribuables")


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.command == "reminders":
        return cmd_reminders(runtime, args.action, args.at)
    if args.command == "report":
        return cmd_report(runtime, args.month, args.format, args.output)
    if args.command == "outbox":
        return cmd_outbox(runtime, args.action, args.id, args.all_failed)
    if args.command == "clock":
        from bot.scheduler import run_clock

        return run_clock(runtime)  # composed with the configured platforms' senders (bot/cli.py)
    raise SystemExit(f"unknown command {args.command}")


def at_arg(runtime: Runtime, text: str | None) -> datetime:
    """``--at``: an ISO datetime; without a zone, in the configured one."""
    from bot.cli import now_arg

    if not text:
        return runtime.services.now()
    value = now_arg(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=runtime.services.tz)
    return value


def cmd_reminders(runtime: Runtime, action: str, at_text: str | None) -> int:
    from handlers import reminders
    from handlers.markup import plain
    from storage.db import unit_of_work

    now = at_arg(runtime, at_text)
    t = runtime.services.t
    if action == "due":
        with unit_of_work(runtime.services.sessions) as session:
            found = reminders.waiting_in_outbox(session=session, now=now)
            found += reminders.due(session=session, t=t, now=now, at=runtime.settings.reminder_time)
        if not found:
            print(f"Rien à envoyer au {t.datetime(now)}.")
            return 0
        print(f"{len(found)} rappel(s) à envoyer au {t.datetime(now)} :")
        for r in found:
            first_line = plain(r.reply.text).splitlines()[0] if r.reply.text else ""
            print(f"  {t.datetime(r.due_at)}  {r.kind:<28} {r.target:<28} {r.occurrence:<22} {first_line}")
        return 0
    from bot.scheduler import sweep

    result = sweep(runtime, now)
    print(f"{len(result.enqueued)} nouveau(x) rappel(s), {result.sent} message(s) envoyé(s) au {t.datetime(now)}.",
          file=sys.stderr)
    if not runtime.courier.carriers():
        not_carried(runtime, now)
    return 0


def not_carried(runtime: Runtime, now: datetime) -> None:
    """No platform: print what waits (a preview, nothing is used up) and say why it waits, in French."""
    from bot.scheduler import StdoutSender
    from handlers import reminders
    from storage import outbox
    from storage.db import unit_of_work

    with unit_of_work(runtime.services.sessions) as session:
        waiting = list(outbox.waiting(session=session, now=now))
    preview = StdoutSender()
    for message in waiting:
        runtime.courier.send_on(preview, message, now=now)
    n_reminders = sum(m.kind.startswith(reminders.KIND_PREFIX) for m in waiting)
    others = len(waiting) - n_reminders
    parts = [f"{n_reminders} rappel{'s' if n_reminders > 1 else ''}"] if n_reminders or not others else []
    parts += [f"{others} autre{'s' if others > 1 else ''} message{'s' if others > 1 else ''}"] if others else []
    print(f"{' et '.join(parts)} en attente : aucune plateforme configurée (Slack, Mattermost). Rien n'est perdu : "
          "ils partiront dès qu'une plateforme sera configurée (« incubot outbox » les liste).", file=sys.stderr)


def cmd_report(runtime: Runtime, month: str | None, fmt: str, output: Path | None) -> int:
    from bot.cli import CliError, emit
    from handlers.errors import CommandError
    from handlers.markup import plain
    from handlers.reports import monthly_report, parse_month, report_csv, report_markdown
    from storage.db import unit_of_work

    t = runtime.services.t
    try:
        year, number = parse_month(month or "", runtime.services.today(), t)
    except CommandError as exc:
        raise CliError(plain(exc.message)) from None
    with unit_of_work(runtime.services.sessions) as session:
        report = monthly_report(session=session, t=t, year=year, month=number)
    text = report_csv(report, t) if fmt == "csv" else report_markdown(report, t)
    return emit(text, output, f"Rapport {year:04d}-{number:02d} écrit dans {output}.")


STATES = {"pending": "en attente", "claimed": "en cours d'envoi", "failed": "en échec", "skipped": "personne à joindre",
          "undeliverable": "non distribuable", "sent": "envoyé"}


def cmd_outbox(runtime: Runtime, action: str, message_id: int | None, all_failed: bool) -> int:
    from bot.cli import CliError
    from storage import outbox
    from storage.db import unit_of_work

    t = runtime.services.t
    now = runtime.services.now()
    if action == "retry":
        if (message_id is None) == (not all_failed):
            raise CliError("précisez le numéro d'un message (incubot outbox retry 12) ou --all-failed, pas les deux.")
        with unit_of_work(runtime.services.sessions) as session:
            count = outbox.retry(session=session, now=now, message_id=message_id)
        if message_id is not None and not count:
            raise CliError(f"le message {message_id} n'est ni en échec ni non distribuable (voir « incubot outbox »).")
        print(f"{count} message{'s' if count > 1 else ''} remis en envoi." if count
              else "Aucun message en échec ni non distribuable.")
        return 0
    with unit_of_work(runtime.services.sessions) as session:
        lines = outbox.open_lines(session=session)
    if not lines:
        print("Rien en attente, rien en échec.")
        return 0
    n = len({line.message.id for line in lines})
    plural = "s" if n > 1 else ""
    print(f"{n} message{plural} en attente, en échec ou non distribuable{plural} :")
    for line in lines:
        m, d = line.message, line.delivery
        state = STATES.get("undeliverable" if m.status == "undeliverable" else d.status if d else m.status, m.status)
        error = (d.last_error if d else m.last_error) or ""
        print(f"  n° {m.id:<5} {state:<19} {m.kind:<28} {m.target:<28} {d.platform if d else '—':<11} "
              f"essais {d.attempts if d else m.attempts:<2} prévu {t.datetime(d.due_at if d else m.due_at)}"
              + (f" — dernière erreur : {error[:160]}" if error else ""))
    return 0
