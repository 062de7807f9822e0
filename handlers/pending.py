"""``en-attente``: what waits for me (intrapreneur), for my teams (coach), or everything (manager)."""

from __future__ import annotations

from handlers.actions import ActionId
from handlers.cards import person_name, startup_name
from handlers.core import Command, Context, Registry
from handlers.i18n import N_
from handlers.markup import user
from handlers.types import Button, Reply
from storage import ledger

MAX_BUTTONS = 10
MAX_LINES = 30


def cmd_pending(ctx: Context, _args: str) -> Reply:
    t = ctx.t
    actor = ctx.actor
    scope: set[str] | None = None if actor.is_manager else actor.member_of
    if scope is not None and not scope:
        return Reply(t("Vous n'êtes rattaché(e) à aucune startup : rien ne vous attend."))
    # Counted from the per-startup totals and listed up to MAX_LINES: with thousands of
    # pending quotes the answer must stay one readable message (and one cheap query).
    quote_count = sum(n for sid, (n, _) in ledger.pending_by_startup(session=ctx.session).items()
                      if scope is None or sid in scope)
    quotes = ledger.pending_quotes(session=ctx.session, startup_ids=scope, limit=MAX_LINES)
    services = ledger.pending_service_done(session=ctx.session, startup_ids=scope)
    if not quotes and not services:
        return Reply(t("Rien n'est en attente. 🎉"))
    now = ctx.now()
    lines = [t("**En attente de décision** : {quotes}, {services}",
               quotes=t.plural("{n} devis", "{n} devis", quote_count),
               services=t.plural("{n} service fait", "{n} services faits", len(services)))]
    hidden = max(quote_count - len(quotes), 0) + max(len(services) - (MAX_LINES - len(quotes)), 0)
    services = services[:max(MAX_LINES - len(quotes), 0)]
    buttons: list[Button] = []
    for q in quotes:
        days = (now - q.created_at).days
        lines.append(t("• {ref} · {startup} · {amount} · {supplier} — par {who}, depuis {days} j",
                       ref=q.reference, startup=startup_name(ctx, q.startup_id), amount=t.money(q.amount_cents),
                       supplier=user(q.supplier), who=person_name(ctx, q.submitted_by), days=days))
        if q.startup_id in actor.intrapreneur_of and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(t("Valider {ref}", ref=q.reference), ActionId.QUOTE_VALIDATE, q.reference, "primary"))
    for sd, q in services:
        days = (now - sd.created_at).days
        lines.append(t("• {ref} sur {quote} · {startup} · {amount} — par {who}, depuis {days} j",
                       ref=sd.reference, quote=q.reference, startup=startup_name(ctx, q.startup_id),
                       amount=t.money(sd.amount_cents), who=person_name(ctx, sd.submitted_by), days=days))
        if q.startup_id in actor.intrapreneur_of and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(t("Certifier {ref}", ref=sd.reference), ActionId.SERVICE_DONE_CERTIFY, sd.reference,
                                  "primary"))
    if hidden:
        lines.append(t.plural("… et {n} autre demande en attente (les plus anciennes sont en tête).",
                              "… et {n} autres demandes en attente (les plus anciennes sont en tête).", hidden))
    if actor.intrapreneur_of:
        lines.append(t("Pour refuser : **refuser RÉF; motif**."))
    return Reply("\n".join(lines), buttons=tuple(buttons))


def register(registry: Registry) -> None:
    registry.command(Command("en-attente", ("pending", "attente", "enattente"), cmd_pending, N_("en-attente"),
                             N_("ce qui attend une décision")))
