"""``budget [ANNÉE] [STARTUP]``: AE and CP of a year; managers also get the breakdown."""

from __future__ import annotations

import re

from handlers.core import Command, Context, Registry
from handlers.envelopes import envelope_lines
from handlers.errors import CommandError
from handlers.i18n import N_
from handlers.markup import user
from handlers.permissions import can_see_breakdown, can_see_startup
from handlers.types import Fact, Reply
from storage import ledger, reference
from storage.ledger import YearBalance

_YEAR = re.compile(r"^(19|20|21)\d\d$")


def balance_lines(ctx: Context, b: YearBalance) -> list[str]:
    """The year's AE and CP in the words of the chain, and the restes à payer of every year."""
    t = ctx.t
    lines = [
        t("**AE** : allouées {alloc} · réservées {reserved} · engagées {engaged} ({pct} utilisées) · "
          "disponibles {left}", alloc=t.money(b.ae_cents), reserved=t.money(b.ae_reserved_cents),
          engaged=t.money(b.ae_engaged_cents), pct=t.percent(b.ae_committed_cents, b.ae_cents),
          left=t.money(b.ae_available_cents)),
        t("**CP** : alloués {alloc} · à payer {to_pay} · consommés {used} ({pct}) · disponibles {left}",
          alloc=t.money(b.cp_cents), to_pay=t.money(b.cp_to_pay_cents), used=t.money(b.cp_consumed_cents),
          pct=t.percent(b.cp_consumed_cents, b.cp_cents), left=t.money(b.cp_free_cents)),
        t("**Restes à payer** : {restes} (engagé et pas encore payé, toutes années ; dont {year_part} sur les "
          "commandes de {year})", restes=t.money(b.restes_all_years_cents), year_part=t.money(b.restes_cents),
          year=b.year),
    ]
    if b.cp_short_cents:
        lines.append(t("⚠️ Les CP {year} ne couvrent pas tout ce qui est certifié : il manque {short}.",
                       year=b.year, short=t.money(b.cp_short_cents)))
    return lines


def parse_budget_args(ctx: Context, args: str) -> tuple[int, str]:
    year = ctx.year
    rest: list[str] = []
    for token in args.split():
        if _YEAR.match(token):
            year = int(token)
        else:
            rest.append(token)
    return year, " ".join(rest)


def cmd_budget(ctx: Context, args: str) -> Reply:
    t = ctx.t
    year, startup_text = parse_budget_args(ctx, args)
    balance = ledger.year_balance(session=ctx.session, year=year)
    convention = reference.current_convention(session=ctx.session)
    if startup_text:
        startup = reference.find_startup(session=ctx.session, text=startup_text)
        if startup is None:
            raise CommandError(t("Startup inconnue : « {name} ». Tapez **startups** pour la liste.",
                                 name=user(startup_text[:100])))
        if not can_see_startup(ctx.actor, startup.id):
            raise CommandError(t("Le détail de {startup} est réservé à son équipe et aux gestionnaires.",
                                 startup=startup.name))
        usage = ledger.startup_usage(session=ctx.session, year=year, startup_ids=[startup.id])[0]
        lines = [
            t("**Budget {year} — {startup}**", year=year, startup=startup.name),
            t("AE réservées : {reserved} · engagées : {engaged} ({pct} des AE de l'année)",
              reserved=t.money(usage.reserved_cents), engaged=t.money(usage.engaged_cents),
              pct=t.percent(usage.committed_cents, balance.ae_cents)),
            t("CP à payer : {to_pay} · consommés : {consumed}", to_pay=t.money(usage.to_pay_cents),
              consumed=t.money(usage.consumed_cents)),
            t("Restes à payer (toutes années) : {restes}", restes=t.money(usage.restes_cents)),
            t("Devis en attente : {n} ({amount})", n=usage.pending_count, amount=t.money(usage.pending_cents)),
        ]
        lines += ["", *envelope_lines(ctx, startup)]
        return Reply("\n".join(lines))
    if not balance.exists:
        years = ledger.allocation_years(session=ctx.session)
        known = ", ".join(str(y) for y in years) or t("aucune")
        return Reply(t("Aucune dotation n'est enregistrée pour {year}. Années connues : {known}.",
                       year=year, known=known))
    title = t("**Budget {year}**", year=year)
    if convention is not None:
        title += t(" — convention {ref}", ref=convention.reference)
    lines = [title, *balance_lines(ctx, balance)]
    facts: list[Fact] = []
    if can_see_breakdown(ctx.actor):
        lines.append("")
        lines.append(t("**Par startup** (AE réservées / engagées, CP à payer / consommés en {year} ; restes à "
                       "payer) :", year=year))
        usages = ledger.startup_usage(session=ctx.session, year=year)
        for u in usages:
            line = t("• {name} : AE {reserved} / {engaged} · CP {to_pay} / {consumed} · restes {restes}", name=u.name,
                     reserved=t.money(u.reserved_cents), engaged=t.money(u.engaged_cents),
                     to_pay=t.money(u.to_pay_cents), consumed=t.money(u.consumed_cents),
                     restes=t.money(u.restes_cents))
            if u.pending_count:
                line += t.plural(" — {n} devis en attente ({amount})", " — {n} devis en attente ({amount})",
                                  u.pending_count, amount=t.money(u.pending_cents))
            lines.append(line)
        # Totals come from the per-startup aggregates: loading every pending quote made
        # this reply grow with the table (bench/scaling.py).
        pending_count = sum(u.pending_count for u in usages)
        if pending_count:
            total = sum(u.pending_cents for u in usages)
            lines.append("")
            lines.append(t("**Devis en attente** : {n}, pour {amount}", n=pending_count, amount=t.money(total)))
            names = {u.startup_id: u.name for u in usages}
            for q in ledger.pending_quotes(session=ctx.session, limit=10):
                lines.append(t("• {ref} · {startup} · {amount} · {supplier}", ref=q.reference,
                               startup=names.get(q.startup_id, q.startup_id),
                               amount=t.money(q.amount_cents), supplier=user(q.supplier)))
            if pending_count > 10:
                lines.append(t.plural("… et {n} autre (tapez **en-attente**).",
                                      "… et {n} autres (tapez **en-attente**).", pending_count - 10))
    return Reply("\n".join(lines), facts=tuple(facts))


def register(registry: Registry) -> None:
    registry.command(Command("budget", ("solde", "balance"), cmd_budget, N_("budget [ANNÉE] [STARTUP]"),
                             N_("AE de l'année (allouées, réservées, engagées, disponibles), CP (alloués, à "
                                "payer, consommés, disponibles) et restes à payer"), reads_only=True))
