"""``rapport [AAAA-MM]``: the monthly report to the delegating ministry (managers)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from babel.dates import format_date
from sqlmodel import Session

from handlers.committees import kind_label
from handlers.core import Command, Context, Registry
from handlers.documents import (
    Block,
    Bullets,
    Chart,
    Document,
    Heading,
    KeyValues,
    Money,
    Rate,
    Series,
    Table,
    Value,
    render,
)
from handlers.documents.text import machine
from handlers.errors import CommandError
from handlers.i18n import N_, Translator
from handlers.markup import plain, user
from handlers.permissions import can_report
from handlers.startups import PHASE_FR
from handlers.types import Attachment, Reply
from storage import ledger, reference, reports
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
    rows = reports.month_figures(session=session, year=year, month=month)
    balance = ledger.year_balance(session=session, year=year)
    consumed = sum(r.cp_year_cents for r in rows)
    committed = sum(r.ae_year_cents for r in rows)
    return MonthlyReport(year, month, rows, balance, consumed * 12 // month, committed * 12 // month)


def report_reply(report: MonthlyReport, t: Translator, files: tuple[Attachment, ...] = ()) -> Reply:
    """The report as a chat message; with ``files`` (its PDF), the message carries them and says so."""
    b = report.balance
    lines = [t("**Rapport mensuel — {month}**", month=t.month(report.year, report.month)), *_totals(report, t)]
    lines.append("")
    lines.append(t("**Par startup** (mois / année) :"))
    for r in report.rows:
        lines.append(t("• {name} — AE {aem} / {aey} ({aer}) · CP {cpm} / {cpy} ({cpr}) · en attente {p} · "
                       "restes à payer {rap}",
                       name=user(r.name), aem=t.money(r.ae_month_cents), aey=t.money(r.ae_year_cents),
                       aer=t.percent(r.ae_year_cents, b.ae_cents),
                       cpm=t.money(r.cp_month_cents), cpy=t.money(r.cp_year_cents),
                       cpr=t.percent(r.cp_year_cents, b.cp_cents), p=r.pending_count,
                       rap=t.money(r.outstanding_cents)))
    if files:
        lines += ["", t("📄 Ci-joint le rapport complet ({name} : graphique des AE et des CP, devis en attente, "
                        "décisions) ; en tableur : `incubot report --month {year:04d}-{month:02d} --format xlsx "
                        "--output rapport.xlsx`.", name=", ".join(f.filename for f in files), year=report.year,
                        month=report.month)]
    else:
        lines += ["", t("📄 Le rapport complet (graphique des AE et des CP, devis en attente, décisions) : "
                        "`incubot report --month {year:04d}-{month:02d} --format pdf --output rapport.pdf` "
                        "(ou xlsx).", year=report.year, month=report.month)]
    return Reply("\n".join(lines), files=files)


def _totals(report: MonthlyReport, t: Translator) -> list[str]:
    """The report's totals, one line each: the chat message's first paragraph and the document's list."""
    b = report.balance
    lines = []
    lines.append(t("AE engagées dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc}) · réservées, "
                   "commande à passer : {r}",
                   m=t.money(report.total("ae_month_cents")), y=t.money(report.total("ae_year_cents")),
                   pct=t.percent(report.total("ae_year_cents"), b.ae_cents), alloc=t.money(b.ae_cents),
                   r=t.money(report.total("ae_reserved_cents"))))
    lines.append(t("CP consommés dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc}) · à payer, "
                   "services faits certifiés : {p}",
                   m=t.money(report.total("cp_month_cents")), y=t.money(report.total("cp_year_cents")),
                   pct=t.percent(report.total("cp_year_cents"), b.cp_cents), alloc=t.money(b.cp_cents),
                   p=t.money(report.total("cp_to_pay_cents"))))
    lines.append(t("Devis en attente : {n} ({amount}) · restes à payer : {rap}",
                   n=report.total("pending_count"), amount=t.money(report.total("pending_cents")),
                   rap=t.money(report.total("outstanding_cents"))))
    lines.append(_cp_projection(report, t))
    return lines


def _cp_projection(report: MonthlyReport, t: Translator) -> str:
    """CP cannot be exceeded (a payment beyond them is refused): past the allocation, the projection says
    what would be missing and that the allocation must be adjusted (art. 5)."""
    unspent = report.balance.cp_cents - report.projected_cp_cents
    if unspent >= 0:
        return t("Projection au 31 décembre au rythme actuel : {proj} de CP consommés ; reliquat prévisible {x}.",
                 proj=t.money(report.projected_cp_cents), x=t.money(unspent))
    return t("Projection au 31 décembre au rythme actuel : {proj} de CP nécessaires ; il manquerait {x} de CP "
             "pour les payer : un ajustement de la dotation est à demander (art. 5).",
             proj=t.money(report.projected_cp_cents), x=t.money(-unspent))


# --------------------------------------------------------------------------- the document for the ministry

REPORT_COLUMNS_FR = {
    "startup": N_("Startup"),
    "ae_reserved": N_("AE réservées"),
    "ae_month": N_("AE engagées (mois)"),
    "ae_year": N_("AE engagées (année)"),
    "ae_rate": N_("Taux AE (année)"),
    "cp_to_pay": N_("CP à payer"),
    "cp_month": N_("CP consommés (mois)"),
    "cp_year": N_("CP consommés (année)"),
    "cp_rate": N_("Taux CP (année)"),
    "pending_count": N_("Devis en attente"),
    "pending": N_("Montant en attente"),
    "outstanding": N_("Restes à payer"),
    "cp_projection": N_("Projection CP au 31/12"),
}
AE_COLOR = "#000091"  # bleu France
CP_COLOR = "#E1000F"  # rouge Marianne


def _startup_table(report: MonthlyReport, t: Translator) -> Table:
    """Per startup then the total: every figure of the month, typed (amounts, rates, counts)."""
    b = report.balance
    names = ("ae_reserved_cents", "ae_month_cents", "ae_year_cents", "cp_to_pay_cents", "cp_month_cents",
             "cp_year_cents", "pending_count", "pending_cents", "outstanding_cents")

    def row(name: str, aer: int, aem: int, aey: int, cpp: int, cpm: int, cpy: int, pc: int, pend: int,
            out: int) -> tuple[Value, ...]:
        return (name, Money(aer), Money(aem), Money(aey), Rate(aey, b.ae_cents), Money(cpp), Money(cpm), Money(cpy),
                Rate(cpy, b.cp_cents), pc, Money(pend), Money(out), Money(report.projected(cpy)))

    rows = [row(r.name, *(getattr(r, name) for name in names)) for r in report.rows]
    rows.append(row(t("Total"), *(report.total(name) for name in names)))
    return Table(tuple(t(label) for label in REPORT_COLUMNS_FR.values()), tuple(rows), title=t("Par startup"),
                 total=True, name=t("Par startup"), primary=True)


def _expenses_table(report: MonthlyReport, t: Translator) -> Table:
    """The month and the year so far, against the year's allocation, at each step of the order chain:
    AE réservées then engagées, CP à payer then consommés; what is left of each allocation."""
    b = report.balance
    reserved, ae_year = report.total("ae_reserved_cents"), report.total("ae_year_cents")
    to_pay, cp_year = report.total("cp_to_pay_cents"), report.total("cp_year_cents")
    return Table(
        ("", t("Dans le mois"), t("Depuis le 1er janvier"), t("Dotation {year}", year=report.year),
         t("Taux"), t("Disponible")),
        ((t("AE réservées (commande à passer)"), None, Money(reserved), None, Rate(reserved, b.ae_cents), None),
         (t("AE engagées"), Money(report.total("ae_month_cents")), Money(ae_year), Money(b.ae_cents),
          Rate(ae_year, b.ae_cents), Money(b.ae_cents - ae_year - reserved)),
         (t("CP à payer (services faits certifiés)"), None, Money(to_pay), None, Rate(to_pay, b.cp_cents), None),
         (t("CP consommés (payés)"), Money(report.total("cp_month_cents")), Money(cp_year), Money(b.cp_cents),
          Rate(cp_year, b.cp_cents), Money(b.cp_cents - cp_year - to_pay))),
        name=t("Dépenses"))


def consumption_chart(*, year: int, until_month: int, ae: Mapping[int, int], cp: Mapping[int, int],
                      ae_ceiling: int | None, cp_ceiling: int | None, t: Translator) -> Chart:
    """AE engagées and CP consommés of ``year`` (``ae``/``cp``: what each month 1…12 moved), cumulated at the
    end of each month up to ``until_month``, with the year's allocations as dashed lines."""

    def cumulated(by_month: Mapping[int, int]) -> tuple[int, ...]:
        total, values = 0, []
        for month in range(1, until_month + 1):
            total += by_month.get(month, 0)
            values.append(total)
        return tuple(values)

    months = tuple(format_date(date(year, m, 1), format="MMM", locale=t.locale) for m in range(1, until_month + 1))
    return Chart(
        t("Consommation des AE et des CP en {year}", year=year), months,
        (Series(t("AE engagées"), cumulated(ae), AE_COLOR, ae_ceiling, t("Dotation AE {year}", year=year)),
         Series(t("CP consommés"), cumulated(cp), CP_COLOR, cp_ceiling, t("Dotation CP {year}", year=year))),
        kind="line", caption=t("Cumul à la fin de chaque mois ; en pointillés, la dotation de l'année."))


def report_document(report: MonthlyReport, t: Translator, *, session: Session | None = None,
                    created: datetime | None = None) -> Document:
    """The monthly report to the délégant (art. 5): expenses of the month and cumulated, a chart of AE and CP
    consumption, per startup, the forecast (pending quotes, projection to 31 December), the progress."""
    b = report.balance
    start, end = month_bounds(report.year, report.month, t)
    last_day = (end - timedelta(days=1)).date()
    convention = reference.current_convention(session=session) if session is not None else None
    metadata = []
    if convention is not None:
        metadata.append(t("Convention {ref} — {title}", ref=convention.reference, title=convention.title))
        metadata.append(t("Délégant : {delegant} · délégataire : {delegataire} · UO {uo}",
                          delegant=convention.delegant, delegataire=convention.delegataire,
                          uo=convention.operational_unit))
    metadata.append(t("Période : du {start} au {end}", start=t.date(start.date()), end=t.date(last_day)))
    metadata.append(t("Chiffres arrêtés au {date} au soir, à partir des décisions datées.", date=t.date(last_day)))
    blocks: list[Block] = [Heading(t("Dépenses")), _expenses_table(report, t),
                           KeyValues(((t("Restes à payer"), Money(report.total("outstanding_cents"))),))]
    if session is not None:
        ae, cp = reports.monthly_consumption(session=session, year=report.year, until_month=report.month)
        blocks.append(consumption_chart(year=report.year, until_month=report.month, ae=ae, cp=cp,
                                        ae_ceiling=b.ae_cents or None, cp_ceiling=b.cp_cents or None, t=t))
    blocks += [Heading(t("Par startup")), replace(_startup_table(report, t), title="")]
    blocks.append(Heading(t("Prévisions")))
    blocks.append(Bullets((
        plain(_totals(report, t)[2]),
        t("Projection au 31 décembre au rythme actuel : {proj} d'AE engagées.",
          proj=t.money(report.projected_ae_cents)),
        _cp_projection(report, t),
    )))
    if session is not None:
        pending = reports.pending_quotes_at(session=session, end=end)
        if pending:
            blocks.append(Table(
                (t("Devis"), t("Startup"), t("Fournisseur"), t("Objet"), t("Montant TTC"), t("Déposé le")),
                tuple((p.reference, p.startup, p.supplier, p.object[:80], Money(p.amount_cents),
                       p.created_at.astimezone(t.tz).date()) for p in pending),
                title=t("Devis en attente de validation à la fin du mois"), name=t("Devis en attente")))
    blocks.append(Heading(t("Avancement")))
    decisions = reports.decisions_as_of(session=session, start=start, end=end) if session is not None else {}

    def decided(startup_id: str) -> tuple[Value, Value, Value, Value]:
        d = decisions.get(startup_id)
        if d is None:
            return "—", None, None, 0
        return kind_label(t, d.kind), Money(d.amount_cents), d.until, d.in_month

    blocks.append(Table(
        (t("Startup"), t("Phase"), t("Dernière décision du comité"), t("Enveloppe"), t("Jusqu'au"),
         t("Décisions du mois"), t("AE engagées (année)"), t("CP consommés (année)")),
        tuple((r.name, t(PHASE_FR.get(r.phase, r.phase)).capitalize(), *decided(r.startup_id),
               Money(r.ae_year_cents), Money(r.cp_year_cents)) for r in report.rows),
        name=t("Avancement")))
    ref = convention.reference if convention is not None else ""
    return Document(
        title=t("Rapport mensuel — {month}", month=t.month(report.year, report.month)),
        metadata=tuple(metadata), blocks=tuple(blocks), landscape=True,
        author=convention.delegataire if convention is not None else "",
        subject=t("Compte rendu mensuel au délégant (convention, art. 5)"), created=created,
        footer=t("incubot · {ref} · rapport au délégant (art. 5)", ref=ref) if ref else
        t("incubot · rapport au délégant (art. 5)"))


def report_table(report: MonthlyReport, t: Translator) -> list[dict[str, str]]:
    """One row per startup and a total row, as plain values (euros as decimal strings, rates in %)."""
    table = _startup_table(report, t)
    return [dict(zip(REPORT_COLUMNS_FR, (machine(v) for v in row), strict=True)) for row in table.rows]


def report_csv(report: MonthlyReport, t: Translator) -> str:
    """The report as CSV (``;``-separated, as French spreadsheets expect), one line per startup plus the total."""
    return render(Document(t("Rapport mensuel"), (_startup_table(report, t),)), "csv", t).decode("utf-8")


def report_markdown(report: MonthlyReport, t: Translator, *, session: Session | None = None) -> str:
    """The report as a Markdown document (see :func:`report_document`)."""
    return render(report_document(report, t, session=session), "md", t).decode("utf-8")


def report_file(*, session: Session, t: Translator, year: int, month: int, fmt: str,
                created: datetime | None = None) -> bytes:
    """The month's report as the bytes of a ``fmt`` file (md, csv, xlsx, pdf)."""
    report = monthly_report(session=session, t=t, year=year, month=month)
    return render(report_document(report, t, session=session, created=created), fmt, t)


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
