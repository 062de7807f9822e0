"""``en-attente``: what waits for me (intrapreneur), for my teams (coach), or everything (manager)."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.actions import ActionId
from handlers.cards import person_name, startup_name
from handlers.core import Command, Context, Registry
from handlers.i18n import N_
from handlers.markup import user
from handlers.types import Button, Reply
from storage import ledger
from storage.models import Quote, QuoteStatus, ServiceDone

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
    buttons: list[Button] = []
    lines = _decisions_lines(ctx, quote_count, quotes, services, buttons) if quotes or services else []
    if actor.is_manager:
        lines += _managers_lines(ctx, buttons)
    if not lines:
        return Reply(t("Rien n'est en attente. 🎉"))
    return Reply("\n".join(lines).strip("\n"), buttons=tuple(buttons))


def _decisions_lines(ctx: Context, quote_count: int, quotes: Sequence[Quote],
                     services: Sequence[tuple[ServiceDone, Quote]], buttons: list[Button]) -> list[str]:
    """What waits for an intrapreneur's decision, with their buttons."""
    t, actor, now = ctx.t, ctx.actor, ctx.now()
    lines = [t("**En attente de décision** : {quotes}, {services}",
               quotes=t.plural("{n} devis", "{n} devis", quote_count),
               services=t.plural("{n} service fait", "{n} services faits", len(services)))]
    hidden = max(quote_count - len(quotes), 0) + max(len(services) - (MAX_LINES - len(quotes)), 0)
    services = services[:max(MAX_LINES - len(quotes), 0)]
    for q in quotes:
        days = (now - q.created_at).days
        lines.append(t("• {ref} · {startup} · {amount} · {supplier} — par {who}, depuis {days} j",
                       ref=q.reference, startup=startup_name(ctx, q.startup_id), amount=t.money(q.amount_cents),
                       supplier=user(q.supplier), who=person_name(ctx, q.submitted_by), days=days))
        if q.startup_id in actor.intrapreneur_of and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(t("Valider {ref}", ref=q.reference), ActionId.QUOTE_VALIDATE, q.reference, "primary"))
    for sd, q in services:
        days = (now - sd.created_at).days
        line = t("• {ref} sur {quote} · {startup} · {amount} — par {who}, depuis {days} j",
                 ref=sd.reference, quote=q.reference, startup=startup_name(ctx, q.startup_id),
                 amount=t.money(sd.amount_cents), who=person_name(ctx, sd.submitted_by), days=days)
        lines.append(line + _no_order_yet(ctx, q))
        if q.startup_id in actor.intrapreneur_of and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(t("Certifier {ref}", ref=sd.reference), ActionId.SERVICE_DONE_CERTIFY, sd.reference,
                                  "primary"))
    if hidden:
        lines.append(t.plural("… et {n} autre demande en attente (les plus anciennes sont en tête).",
                              "… et {n} autres demandes en attente (les plus anciennes sont en tête).", hidden))
    if actor.intrapreneur_of:
        lines.append(t("Pour refuser : **refuser RÉF; motif**."))
    return lines


def _no_order_yet(ctx: Context, quote: Quote) -> str:
    return " · " + ctx.t("bon de commande pas encore enregistré") if quote.status == QuoteStatus.VALIDATED else ""


def _managers_lines(ctx: Context, buttons: list[Button]) -> list[str]:
    """What waits for the managers: bons de commande to record (validated quotes, with Passer commande)
    and payments to record (certified service done, CP à payer); the oldest first."""
    t, now = ctx.t, ctx.now()
    orders = ledger.orders_to_place(session=ctx.session, limit=MAX_LINES + 1)
    payments = ledger.payments_due(session=ctx.session, limit=MAX_LINES + 1)
    lines: list[str] = []
    if orders:
        lines += ["", _counted(ctx, len(orders), t.plural("**{n} bon de commande à enregistrer** (devis validés)",
                                                          "**{n} bons de commande à enregistrer** (devis validés)",
                                                          min(len(orders), MAX_LINES)))]
        for q in orders[:MAX_LINES]:
            days = (now - q.decided_at).days if q.decided_at else 0
            lines.append(t("• {ref} · {startup} · {amount} · {supplier} — validé depuis {days} j", ref=q.reference,
                           startup=startup_name(ctx, q.startup_id), amount=t.money(q.amount_cents),
                           supplier=user(q.supplier), days=days))
            if len(buttons) < MAX_BUTTONS:
                buttons.append(Button(t("Passer commande {ref}", ref=q.reference), ActionId.ORDER_PLACE, q.reference,
                                      "primary"))
    if payments:
        lines += ["", _counted(ctx, len(payments), t.plural(
            "**{n} paiement à enregistrer** (services faits certifiés, CP à payer)",
            "**{n} paiements à enregistrer** (services faits certifiés, CP à payer)", min(len(payments), MAX_LINES)))]
        for sd, q in payments[:MAX_LINES]:
            days = (now - sd.decided_at).days if sd.decided_at else 0
            lines.append(t("• {ref} sur {quote} · {startup} · {amount} — certifié depuis {days} j", ref=sd.reference,
                           quote=q.reference, startup=startup_name(ctx, q.startup_id), amount=t.money(sd.amount_cents),
                           days=days) + _no_order_yet(ctx, q))
        lines.append(t("Pour enregistrer un paiement : **paiement SF-RÉF[; AAAA-MM-JJ]**."))
    return lines


def _counted(ctx: Context, found: int, heading: str) -> str:
    """A heading, and « les 30 plus anciens » when there are more than the list shows."""
    return heading + (" " + ctx.t("(les {n} plus anciens ci-dessous)", n=MAX_LINES) if found > MAX_LINES else "")


def register(registry: Registry) -> None:
    registry.command(Command("en-attente", ("pending", "attente", "enattente"), cmd_pending, N_("en-attente"),
                             N_("ce qui attend une décision"), reads_only=True))
