"""``rapport [AAAA-MM]``: the monthly report to the delegating ministry (managers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session

from handlers.core import Command, Context, Registry
from handlers.errors import CommandError
from handlers.export import to_csv
from handlers.i18n import N_, Translator
from handlers.markup import plain, user
from handlers.money import decimal_euros
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
    projected_ae_cents: int = 0  # AE committed by 31/12 at this month's pace

    def total(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.rows)

    def projected(self, cents: int) -> int:
        """``cents`` used by the end of the report's month, extended to 31 December at the same pace."""
        return cents * 12 // self.month


def month_bounds(year: int, month: int, t: Translator) -> tuple[datetime, datetime]:
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=t.tz)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0), tzinfo=t.tz)


def monthly_report(*, session: Session, t: Translator, year: int, month: int) -> MonthlyReport:
    start, end = month_bounds(year, month, t)
    rows = reports.month_figures(session=session, year=year, start=start, end=end)
    balance = ledger.year_balance(session=session, year=year)
    consumed = sum(r.cp_year_cents for r in rows)
    committed = sum(r.ae_year_cents for r in rows)
    return MonthlyReport(year, month, rows, balance, consumed * 12 // month, committed * 12 // month)


def report_reply(report: MonthlyReport, t: Translator) -> Reply:
    b = report.balance
    lines = [t("**Rapport mensuel — {month}**", month=t.month(report.year, report.month)), *_totals(report, t)]
    lines.append("")
    lines.append(t("**Par startup** (mois / année) :"))
    for r in report.rows:
        lines.append(t("• {name} — AE {aem} / {aey} ({aer}) · CP {cpm} / {cpy} ({cpr}) · en attente {p} · "
                       "reste à payer {rap}",
                       name=user(r.name), aem=t.money(r.ae_month_cents), aey=t.money(r.ae_year_cents),
                       aer=t.percent(r.ae_year_cents, b.ae_cents),
                       cpm=t.money(r.cp_month_cents), cpy=t.money(r.cp_year_cents),
                       cpr=t.percent(r.cp_year_cents, b.cp_cents), p=r.pending_count,
                       rap=t.money(r.outstanding_cents)))
    return Reply("\n".join(lines))


def _totals(report: MonthlyReport, t: Translator) -> list[str]:
    """The report's totals, one line each: the chat message's first paragraph and the document's list."""
    b = report.balance
    lines = []
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
    return lines


# --------------------------------------------------------------------------- files for the ministry

REPORT_COLUMNS_FR = {
    "startup": N_("Startup"),
    "ae_month": N_("AE engagées (mois)"),
    "ae_year": N_("AE engagées (année)"),
    "ae_rate": N_("Taux AE (année)"),
    "cp_month": N_("CP consommés (mois)"),
    "cp_year": N_("CP consommés (année)"),
    "cp_rate": N_("Taux CP (année)"),
    "pending_count": N_("Devis en attente"),
    "pending": N_("Montant en attente"),
    "outstanding": N_("Restes à payer"),
    "cp_projection": N_("Projection CP au 31/12"),
}


def _rate(part: int, whole: int) -> str:
    """A rate in percent with one decimal, computed exactly (Decimal, no binary floating point)."""
    if whole <= 0:
        return ""
    tenths = (part * 1000 * 2 + whole) // (2 * whole)  # rounded half up
    return f"{tenths // 10}.{tenths % 10}"


def _figures(report: MonthlyReport, t: Translator) -> list[tuple[str, dict[str, int]]]:
    """Per startup then the total: every figure of the table, in cents (rates excepted)."""

    def figures(aem: int, aey: int, cpm: int, cpy: int, pc: int, pend: int, out: int) -> dict[str, int]:
        return {"ae_month": aem, "ae_year": aey, "cp_month": cpm, "cp_year": cpy, "pending_count": pc,
                "pending": pend, "outstanding": out, "cp_projection": report.projected(cpy)}

    rows = [(r.name, figures(r.ae_month_cents, r.ae_year_cents, r.cp_month_cents, r.cp_year_cents, r.pending_count,
                             r.pending_cents, r.outstanding_cents)) for r in report.rows]
    rows.append((t("Total"), figures(report.total("ae_month_cents"), report.total("ae_year_cents"),
                                     report.total("cp_month_cents"), report.total("cp_year_cents"),
                                     report.total("pending_count"), report.total("pending_cents"),
                                     report.total("outstanding_cents"))))
    return rows


def report_table(report: MonthlyReport, t: Translator) -> list[dict[str, str]]:
    """One row per startup and a total row, as plain values (euros as decimal strings, rates in %)."""
    b = report.balance
    table = []
    for name, f in _figures(report, t):
        row = {key: (str(f[key]) if key == "pending_count" else decimal_euros(f[key]))
               for key in REPORT_COLUMNS_FR if key in f}
        row.update(startup=name, ae_rate=_rate(f["ae_year"], b.ae_cents), cp_rate=_rate(f["cp_year"], b.cp_cents))
        table.append(row)
    return table


def report_csv(report: MonthlyReport, t: Translator) -> str:
    """The report as CSV (``;``-separated, as French spreadsheets expect), one line per startup plus the total."""
    rows = [{t(label): r[key] for key, label in REPORT_COLUMNS_FR.items()} for r in report_table(report, t)]
    return to_csv(rows, columns=[t(label) for label in REPORT_COLUMNS_FR.values()], delimiter=";")


def report_markdown(report: MonthlyReport, t: Translator) -> str:
    """The report as a Markdown document: the chat text's totals, then the table with every figure."""
    b = report.balance
    lines = [f"# {plain(t('**Rapport mensuel — {month}**', month=t.month(report.year, report.month)))}", ""]
    lines.append(t("Dotation {year} : AE {ae} · CP {cp}.", year=report.year, ae=t.money(b.ae_cents),
                   cp=t.money(b.cp_cents)))
    lines.append("")
    lines += [f"- {plain(line)}" for line in _totals(report, t)]
    lines.append("- " + t("Projection au 31 décembre au rythme actuel : {proj} d'AE engagées.",
                          proj=t.money(report.projected_ae_cents)))
    lines += ["", "## " + t("Par startup"), ""]
    lines.append("| " + " | ".join(t(label) for label in REPORT_COLUMNS_FR.values()) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(REPORT_COLUMNS_FR) - 1)) + "|")
    for name, f in _figures(report, t):
        cells = [plain(name).replace("|", "\\|")]
        for key in list(REPORT_COLUMNS_FR)[1:]:
            if key == "ae_rate":
                cells.append(t.percent(f["ae_year"], b.ae_cents))
            elif key == "cp_rate":
                cells.append(t.percent(f["cp_year"], b.cp_cents))
            elif key == "pending_count":
                cells.append(str(f[key]))
            else:
                cells.append(t.money(f[key]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


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
    registry.command(Command("rapport", ("report",), cmd_report, N_("rapport [AAAA-MM]"),
                             N_("le rapport mensuel (gestionnaires)"), allowed=lambda actor: actor.is_manager))
