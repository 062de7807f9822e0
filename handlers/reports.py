"""``rapport [AAAA-MM]``: the monthly report to the delegating ministry (managers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session

from handlers.core import Command, Context, Registry
from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import user
from handlers.permissions import can_report
from handlers.types import Reply
from storage import ledger, reports
from storage.reports import StartupFigures

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class MonthlyReport:
    year: int
    month: int
    rows: list[StartupFigures]
    balance: ledger.YearBalance
    projected_cp_cents: int  # CP consumed by 31/12 at this month's pace

    def total(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.rows)


def month_bounds(year: int, month: int, t: Translator) -> tuple[datetime, datetime]:
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=t.tz)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0), tzinfo=t.tz)


def monthly_report(*, session: Session, t: Translator, year: int, month: int) -> MonthlyReport:
    start, end = month_bounds(year, month, t)
    rows = reports.month_figures(session=session, year=year, start=start, end=end)
    balance = ledger.year_balance(session=session, year=year)
    consumed = sum(r.cp_year_cents for r in rows)
    projected = consumed * 12 // month
    return MonthlyReport(year, month, rows, balance, projected)


def report_reply(report: MonthlyReport, t: Translator) -> Reply:
    b = report.balance
    lines = [t("**Rapport mensuel — {month}**", month=t.month(report.year, report.month))]
    lines.append(t("AE engagées dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc})",
                   m=t.money(report.total("ae_month_cents")), y=t.money(report.total("ae_year_cents")),
                   pct=t.percent(report.total("ae_year_cents"), b.ae_cents), alloc=t.money(b.ae_cents)))
    lines.append(t("CP consommés dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc})",
                   m=t.money(report.total("cp_month_cents")), y=t.money(report.total("cp_year_cents")),
                   pct=t.percent(report.total("cp_year_cents"), b.cp_cents), alloc=t.money(b.cp_cents)))
    lines.append(t("Devis en attente : {n} ({amount}) · restes à payer : {rap}",
                   n=report.total("pending_count"), amount=t.money(report.total("pending_cents")),
                   rap=t.money(report.total("outstanding_cents"))))
    unspent = b.cp_cents - report.projected_cp_cents
    lines.append(t("Projection au 31 décembre au rythme actuel : {proj} de CP consommés ; {left}.",
                   proj=t.money(report.projected_cp_cents),
                   left=t("reliquat prévisible {x}", x=t.money(unspent)) if unspent > 0
                   else t("dépassement prévisible {x}", x=t.money(-unspent))))
    lines.append("")
    lines.append(t("**Par startup** (mois / année) :"))
    for r in report.rows:
        lines.append(t("• {name} — AE {aem} / {aey} · CP {cpm} / {cpy} · en attente {p} · reste à payer {rap}",
                       name=user(r.name), aem=t.money(r.ae_month_cents), aey=t.money(r.ae_year_cents),
                       cpm=t.money(r.cp_month_cents), cpy=t.money(r.cp_year_cents), p=r.pending_count,
                       rap=t.money(r.outstanding_cents)))
    return Reply("\n".join(lines))


def previous_month(today: date) -> tuple[int, int]:
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def parse_month(text: str, today: date, t: Translator) -> tuple[int, int]:
    text = text.strip()
    if not text:
        return previous_month(today)
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise CommandError(t("« {text} » n'est pas un mois : écrivez AAAA-MM, par exemple 2026-10.",
                             text=user(text[:40])))
    return int(match.group(1)), int(match.group(2))


def cmd_report(ctx: Context, args: str) -> Reply:
    if not can_report(ctx.actor):
        raise CommandError(ctx.t("Le rapport mensuel est réservé aux gestionnaires."))
    year, month = parse_month(args, ctx.today(), ctx.t)
    return report_reply(monthly_report(session=ctx.session, t=ctx.t, year=year, month=month), ctx.t)


def register(registry: Registry) -> None:
    registry.command(Command("rapport", ("report",), cmd_report, "rapport [AAAA-MM]",
                             "le rapport mensuel (gestionnaires)", allowed=lambda actor: actor.is_manager))
