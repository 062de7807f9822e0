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
    t = ctx.t
    return [
        t("**AE** : allouées {alloc} · engagées {used} ({pct}) · disponibles {left}",
          alloc=t.money(b.ae_cents), used=t.money(b.ae_committed_cents),
          pct=t.percent(b.ae_committed_cents, b.ae_cents), left=t.money(b.ae_available_cents)),
        t("**CP** : alloués {alloc} · consommés {used} ({pct}) · disponibles {left}",
          alloc=t.money(b.cp_cents), used=t.money(b.cp_consumed_cents),
          pct=t.percent(b.cp_consumed_cents, b.cp_cents), left=t.money(b.cp_available_cents)),
    ]


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
            t("AE engagées : {committed} ({pct} des AE de l'année)", committed=t.money(usage.committed_cents),
              pct=t.percent(usage.committed_cents, balance.ae_cents)),
            t("CP consommés : {consumed}", consumed=t.money(usage.consumed_cents)),
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
        lines.append(t("**Par startup** (AE engagées / CP consommés en {year}) :", year=year))
        usages = ledger.startup_usage(session=ctx.session, year=year)
        for u in usages:
            line = t("• {name} : {committed} / {consumed}", name=u.name, committed=t.money(u.committed_cents),
                     consumed=t.money(u.consumed_cents))
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
                             N_("AE et CP de l'année : allouées, engagées, consommées, disponibles")))
