"""``rapport final``: the final report (*bilan final*) of the convention, « au terme de la convention » (art. 5).

For each year of the convention its allocation, AE engagées and CP consommés, what was left unspent (art. 5:
unspent credits are reported to the délégant), the restes à payer at the end (what is still owed on the
orders once the convention is over), the reservations that never became orders; per startup over the whole
period, with the committees' decisions; the orders still owed, listed. The figures are those of the end of
the convention's last day (its end, or the last day of a termination), the same whatever day the report is
made afterwards (:mod:`storage.final_report`). Asked before the end, it is a *bilan provisoire* as of now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    Paragraph,
    Rate,
    Series,
    Table,
    Value,
    render,
)
from handlers.errors import CommandError
from handlers.i18n import N_, Translator
from handlers.markup import user
from handlers.permissions import can_report
from handlers.reports import AE_COLOR, CP_COLOR
from handlers.startups import PHASE_FR
from handlers.types import Attachment, Reply
from storage import committees, reference, rules
from storage.committees import DecisionView
from storage.final_report import FinalFigures, YearFigures, final_figures
from storage.models import Convention

AE_ALLOCATION_COLOR = "#8585F6"  # a lighter bleu France: the allocation beside what was engaged
CP_ALLOCATION_COLOR = "#F95C5E"


@dataclass(frozen=True)
class FinalReport:
    convention: Convention
    last_day: date  # the convention's last day in force: its end, or the last day of its termination
    terminated: bool
    at: datetime  # the figures as they stood at this instant
    provisional: bool  # asked before the end: as of now
    figures: FinalFigures
    decisions: list[DecisionView]  # every committee decision recorded by then, oldest first

    @property
    def as_of(self) -> date:
        """The day the figures are those of, at its end (``at`` is the next day's first instant)."""
        return self.last_day if not self.provisional else self.at.date()


def end_instant(convention: Convention, t: Translator) -> datetime:
    """The first instant after the convention's last day, in the configured zone: where the bilan is arrêté."""
    return datetime.combine(rules.last_day(convention) + timedelta(days=1), time(0), tzinfo=t.tz)


def final_report(*, session: Session, t: Translator, now: datetime | None = None) -> FinalReport:
    """The bilan of the convention in force at its end; when ``now`` is before its end, provisional, as of
    ``now`` (``now`` None: at the end, whenever it is)."""
    convention = reference.current_convention(session=session)
    if convention is None:
        raise CommandError(t("Aucune convention n'est enregistrée : importez d'abord le fichier de référence."))
    last_day = rules.last_day(convention)
    end = end_instant(convention, t)
    now = end if now is None else now
    provisional = now < end
    at = now if provisional else end
    years = range(convention.starts.year, last_day.year + 1)
    figures = final_figures(session=session, at=at, years=years)
    decisions = list(reversed(committees.decisions(session=session, before=at)))
    return FinalReport(convention, last_day, last_day != convention.ends, at, provisional, figures, decisions)


def _title(report: FinalReport, t: Translator) -> str:
    if report.provisional:
        return t("Bilan provisoire de la convention {ref}", ref=report.convention.reference)
    return t("Bilan final de la convention {ref}", ref=report.convention.reference)


def _how_it_ended(report: FinalReport, t: Translator, *, chat: bool = True) -> str:
    """How the convention ended (or when it will), and the day the figures are those of. ``chat``: the
    termination's reason, typed by an operator, is marked for the platforms to escape; a document has it plain."""
    c = report.convention
    if report.provisional:
        return t("Chiffres à ce jour ({date}) ; la convention prend fin le {end}. Le bilan final sera arrêté au "
                 "{end} au soir.", date=t.datetime(report.at), end=t.date(report.last_day))
    if report.terminated:
        reason = c.termination_reason or "—"
        return t("Résiliée : dernier jour le {end} (art. 7) — {reason}. Chiffres arrêtés au {end} au soir.",
                 end=t.date(report.last_day), reason=user(reason) if chat else reason)
    return t("Arrivée à son terme le {end} (art. 7). Chiffres arrêtés au {end} au soir.", end=t.date(report.last_day))


def _last_decisions(report: FinalReport) -> dict[str, DecisionView]:
    return committees.latest_of(reversed(report.decisions))


# --------------------------------------------------------------------------- in chat


def final_reply(report: FinalReport, t: Translator, files: tuple[Attachment, ...] = ()) -> Reply:
    """The bilan in a chat message: per year, the unspent credits, the restes à payer, per startup; with
    ``files`` (its PDF), the message carries them and says so."""
    f = report.figures
    c = report.convention
    lines = [t("**{title}** — du {starts} au {end}", title=_title(report, t), starts=t.date(c.starts),
               end=t.date(report.last_day)), _how_it_ended(report, t), "", t("**Par année** :")]
    for y in f.years:
        lines.append(_year_line(y, t))
    lines.append(t("• Total — AE engagées {ae} sur {alloc_ae} · CP consommés {cp} sur {alloc_cp} · restes à payer "
                   "{rap}", ae=t.money(f.total("engaged_cents")), alloc_ae=t.money(f.total("ae_cents")),
                   cp=t.money(f.total("paid_cents")), alloc_cp=t.money(f.total("cp_cents")),
                   rap=t.money(f.total("restes_cents"))))
    lines += ["", t("**Crédits non consommés** (art. 5) : AE non engagées {ae} · CP non consommés {cp}.",
                    ae=t.money(f.total("ae_unspent_cents")), cp=t.money(f.total("cp_unspent_cents")))]
    lines.append(t.plural("**Restes à payer à la fin** : {rap}, sur {n} commande ; le délégant les doit encore "
                          "après la fin de la convention.",
                          "**Restes à payer à la fin** : {rap}, sur {n} commandes ; le délégant les doit encore "
                          "après la fin de la convention.",
                          len([o for o in f.orders if o.restes_cents > 0]), rap=t.money(f.total("restes_cents"))))
    open_orders = [o for o in f.orders if o.closed_on is None]
    if open_orders:
        lines.append(t.plural("{n} commande n'est pas soldée.", "{n} commandes ne sont pas soldées.",
                              len(open_orders)))
    if f.reservations:
        lines.append(t.plural("{n} devis validé sans bon de commande ({amount} d'AE réservées jamais engagées).",
                              "{n} devis validés sans bon de commande ({amount} d'AE réservées jamais engagées).",
                              len(f.reservations), amount=t.money(sum(r.amount_cents for r in f.reservations))))
    lines += ["", t("**Par startup** (sur la période) :")]
    last = _last_decisions(report)
    for s in f.startups:
        decided = last.get(s.startup_id)
        decision = (t(" · dernière décision : {kind}, {amount} jusqu'au {until}", kind=kind_label(t, decided.kind),
                      amount=t.money(decided.amount_cents), until=t.date(decided.until)) if decided else "")
        lines.append(t("• {name} — AE engagées {ae} · CP consommés {cp} · restes à payer {rap}{decision}",
                       name=user(s.name), ae=t.money(s.engaged_cents), cp=t.money(s.paid_cents),
                       rap=t.money(s.restes_cents), decision=decision))
    if files:
        lines += ["", t("📄 Ci-joint le bilan complet ({name} : commandes ouvertes, décisions des comités, "
                        "graphique) ; en tableur : `incubot report --final --format xlsx --output bilan.xlsx`.",
                        name=", ".join(f.filename for f in files))]
    else:
        lines += ["", t("📄 Le bilan complet (commandes ouvertes, décisions des comités, graphique) : "
                        "`incubot report --final --format pdf --output bilan.pdf` (ou xlsx).")]
    return Reply("\n".join(lines), files=files)


def _year_line(y: YearFigures, t: Translator) -> str:
    return t("• {year} — AE engagées {ae} sur {alloc_ae} ({ae_rate}), non engagées {ae_left} · CP consommés {cp} "
             "sur {alloc_cp} ({cp_rate}), non consommés {cp_left} · restes à payer {rap}", year=y.year,
             ae=t.money(y.engaged_cents), alloc_ae=t.money(y.ae_cents), ae_rate=t.percent(y.engaged_cents, y.ae_cents),
             ae_left=t.money(y.ae_unspent_cents), cp=t.money(y.paid_cents), alloc_cp=t.money(y.cp_cents),
             cp_rate=t.percent(y.paid_cents, y.cp_cents), cp_left=t.money(y.cp_unspent_cents),
             rap=t.money(y.restes_cents))


# --------------------------------------------------------------------------- the document for the délégant


def _years_table(report: FinalReport, t: Translator) -> Table:
    """Each year, then the total: allocation, AE engagées and not, CP consommés and not, restes à payer."""
    def row(label: Value, y: YearFigures | None, **sums: int) -> tuple[Value, ...]:
        get = (lambda name: getattr(y, name)) if y is not None else sums.__getitem__
        return (label, Money(get("ae_cents")), Money(get("engaged_cents")), Rate(get("engaged_cents"), get("ae_cents")),
                Money(get("ae_unspent_cents")), Money(get("reserved_cents")), Money(get("cp_cents")),
                Money(get("paid_cents")), Rate(get("paid_cents"), get("cp_cents")), Money(get("cp_unspent_cents")),
                Money(get("to_pay_cents")), Money(get("restes_cents")))

    f = report.figures
    names = ("ae_cents", "engaged_cents", "ae_unspent_cents", "reserved_cents", "cp_cents", "paid_cents",
             "cp_unspent_cents", "to_pay_cents", "restes_cents")
    rows = [row(str(y.year), y) for y in f.years]
    rows.append(row(t("Total"), None, **{name: f.total(name) for name in names}))
    return Table(
        (t("Année"), t("Dotation AE"), t("AE engagées"), t("Taux AE"), t("AE non engagées"),
         t("dont AE réservées sans commande"), t("Dotation CP"), t("CP consommés"), t("Taux CP"),
         t("CP non consommés"), t("CP à payer (certifiés, non payés)"), t("Restes à payer")),
        tuple(rows), total=True, name=t("Par année"), primary=True)


def _years_chart(report: FinalReport, t: Translator) -> Chart:
    years = report.figures.years
    return Chart(
        t("AE et CP de chaque année de la convention"), tuple(str(y.year) for y in years),
        (Series(t("Dotation AE"), tuple(y.ae_cents for y in years), AE_ALLOCATION_COLOR),
         Series(t("AE engagées"), tuple(y.engaged_cents for y in years), AE_COLOR),
         Series(t("Dotation CP"), tuple(y.cp_cents for y in years), CP_ALLOCATION_COLOR),
         Series(t("CP consommés"), tuple(y.paid_cents for y in years), CP_COLOR)),
        kind="bar", caption=t("Pour chaque année : la dotation, puis ce qui en a été engagé ou consommé."))


def _unspent(report: FinalReport, t: Translator) -> Bullets:
    items = []
    for y in report.figures.years:
        items.append(t("{year} : {ae} d'AE non engagées sur {alloc_ae} ; {cp} de CP non consommés sur {alloc_cp}.",
                       year=y.year, ae=t.money(y.ae_unspent_cents), alloc_ae=t.money(y.ae_cents),
                       cp=t.money(y.cp_unspent_cents), alloc_cp=t.money(y.cp_cents)))
    return Bullets(tuple(items))


def _orders_table(report: FinalReport, t: Translator) -> Table:
    orders = report.figures.orders

    def state(closed_on: date | None) -> str:
        return t("soldée le {date}", date=t.date(closed_on)) if closed_on else t("ouverte")

    rows: list[tuple[Value, ...]] = [
        (o.reference, o.ej or "—", o.startup, o.supplier, o.object[:60], str(o.year), o.ordered_on,
         Money(o.amount_cents), Money(o.certified_cents), Money(o.paid_cents), Money(o.restes_cents),
         state(o.closed_on)) for o in orders]
    rows.append((t("Total"), None, None, None, None, None, None, Money(sum(o.amount_cents for o in orders)),
                 Money(sum(o.certified_cents for o in orders)), Money(sum(o.paid_cents for o in orders)),
                 Money(sum(o.restes_cents for o in orders)), None))
    return Table(
        (t("Devis"), t("EJ"), t("Startup"), t("Fournisseur"), t("Objet"), t("Engagée en"), t("Commandée le"),
         t("Montant engagé"), t("Service fait certifié"), t("Payé"), t("Reste à payer"), t("État")),
        tuple(rows), total=True, name=t("Commandes ouvertes"))


def _reservations_table(report: FinalReport, t: Translator) -> Table:
    return Table(
        (t("Devis"), t("Startup"), t("Fournisseur"), t("Objet"), t("Réservées en"), t("Validé le"),
         t("Montant TTC")),
        tuple((r.reference, r.startup, r.supplier, r.object[:60], str(r.year), r.validated_on, Money(r.amount_cents))
              for r in report.figures.reservations),
        title=t("Devis validés dont le bon de commande n'a pas été passé : AE réservées jamais engagées"),
        name=t("Réservées sans commande"))


def _startups_table(report: FinalReport, t: Translator) -> Table:
    last = _last_decisions(report)
    f = report.figures

    def decided(startup_id: str) -> tuple[Value, Value, Value]:
        d = last.get(startup_id)
        return (kind_label(t, d.kind), Money(d.amount_cents), d.until) if d else ("—", None, None)

    rows: list[tuple[Value, ...]] = [
        (s.name, t(PHASE_FR.get(s.phase, s.phase)).capitalize(), Money(s.engaged_cents), Money(s.paid_cents),  # type: ignore[call-overload]
         Money(s.to_pay_cents), Money(s.restes_cents), Money(s.reserved_cents), *decided(s.startup_id))
        for s in f.startups]
    rows.append((t("Total"), None, Money(f.total("engaged_cents")), Money(f.total("paid_cents")),
                 Money(f.total("to_pay_cents")), Money(f.total("restes_cents")), Money(f.total("reserved_cents")),
                 None, None, None))
    return Table(
        (t("Startup"), t("Phase"), t("AE engagées"), t("CP consommés"), t("CP à payer"), t("Restes à payer"),
         t("AE réservées sans commande"), t("Dernière décision du comité"), t("Enveloppe"), t("Jusqu'au")),
        tuple(rows), total=True, name=t("Par startup"))


def _decisions_table(report: FinalReport, t: Translator) -> Table:
    return Table(
        (t("Comité du"), t("Startup"), t("Décision"), t("Enveloppe"), t("Jusqu'au"), t("Enregistrée le"),
         t("Note")),
        tuple((d.committee_held_on, d.startup_name, kind_label(t, d.kind), Money(d.amount_cents), d.until,
               d.decided_at.astimezone(t.tz).date(), (d.note or "")[:80]) for d in report.decisions),
        name=t("Décisions"))


def final_document(report: FinalReport, t: Translator, *, created: datetime | None = None) -> Document:
    """The bilan for the délégant (art. 5): per year, the chart, the unspent credits, the restes à payer and the
    orders still owed, the reservations left, per startup, the committees' decisions."""
    c = report.convention
    f = report.figures
    metadata = (
        t("Convention {ref} — {title}", ref=c.reference, title=c.title),
        t("Délégant : {delegant} · délégataire : {delegataire} · UO {uo}", delegant=c.delegant,
          delegataire=c.delegataire, uo=c.operational_unit),
        t("Période : du {start} au {end}", start=t.date(c.starts), end=t.date(report.last_day)),
        _how_it_ended(report, t, chat=False),
    )
    blocks: list[Block] = [
        Heading(t("Exécution par année")), _years_chart(report, t), _years_table(report, t),
        Heading(t("Crédits non consommés (art. 5)")), _unspent(report, t),
        Heading(t("Restes à payer à la fin de la convention")),
        KeyValues(((t("Restes à payer"), Money(f.total("restes_cents"))),
                   (t("CP à payer (services faits certifiés, non payés)"), Money(f.total("to_pay_cents"))),
                   (t("Commandes non soldées"), len([o for o in f.orders if o.closed_on is None])))),
        Paragraph(t("Engagé et pas encore payé : ce que le délégant doit encore payer après la fin de la "
                    "convention, commande par commande.")),
    ]
    if f.orders:
        blocks.append(_orders_table(report, t))
    if f.reservations:
        blocks.append(_reservations_table(report, t))
    if f.pending_quotes:
        blocks.append(Paragraph(t.plural("{n} devis attendait encore la décision de son intrapreneur à la fin : il "
                                         "n'a pas été validé.",
                                         "{n} devis attendaient encore la décision de leur intrapreneur à la fin : "
                                         "ils n'ont pas été validés.", f.pending_quotes)))
    blocks += [Heading(t("Par startup sur la période")), _startups_table(report, t),
               Heading(t("Décisions des comités d'investissement"))]
    blocks.append(_decisions_table(report, t) if report.decisions else
                  Paragraph(t("Aucune décision de comité n'a été enregistrée.")))
    return Document(
        title=_title(report, t), metadata=metadata, blocks=tuple(blocks), landscape=True, author=c.delegataire,
        subject=t("Compte rendu au terme de la convention (art. 5)"), created=created,
        footer=t("incubot · {ref} · bilan au délégant (art. 5)", ref=c.reference))


def final_file(*, session: Session, t: Translator, now: datetime, fmt: str, created: datetime | None = None) -> bytes:
    """The bilan as the bytes of a ``fmt`` file (md, csv, xlsx, pdf)."""
    return render(final_document(final_report(session=session, t=t, now=now), t, created=created), fmt, t)


# --------------------------------------------------------------------------- the chat command


def cmd_final_report(ctx: Context, args: str) -> Reply:
    if not can_report(ctx.actor):
        raise CommandError(ctx.t("Le bilan final est réservé aux gestionnaires."))
    return final_reply(final_report(session=ctx.session, t=ctx.t, now=ctx.now()), ctx.t)


def register(registry: Registry) -> None:
    # « rapport final » is found as « rapport-final » (handlers/core.py, Registry.lookup), before « rapport ».
    registry.command(Command("rapport-final", ("bilan", "report-final", "final-report"), cmd_final_report,
                             N_("rapport final"), N_("le bilan final de la convention, à son terme (gestionnaires)"),
                             allowed=lambda actor: actor.is_manager))
