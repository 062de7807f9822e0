"""How a quote or a service done looks in a message, pending or decided."""

from __future__ import annotations

from handlers.actions import ActionId
from handlers.core import Context
from handlers.i18n import N_
from handlers.markup import user
from handlers.types import Button, Fact, Reply
from storage import reference
from storage.models import Quote, QuoteStatus, ServiceDone, ServiceDoneStatus


def person_name(ctx: Context, person_id: str | None) -> str:
    if person_id is None:
        return "?"
    if person_id == ctx.actor.person.id:  # the decider of a card being decided: no lookup
        return ctx.actor.person.name
    person = reference.get_person(session=ctx.session, person_id=person_id)
    return person.name if person else person_id


def startup_name(ctx: Context, startup_id: str) -> str:
    startup = reference.get_startup(session=ctx.session, startup_id=startup_id)
    return startup.name if startup else startup_id


def amount_text(ctx: Context, quote: Quote) -> str:
    t = ctx.t
    if quote.amount_ht_cents is not None:
        return t("{ttc} TTC ({ht} HT)", ttc=t.money(quote.amount_cents), ht=t.money(quote.amount_ht_cents))
    return t("{ttc} TTC", ttc=t.money(quote.amount_cents))


def quote_facts(ctx: Context, quote: Quote) -> tuple[Fact, ...]:
    t = ctx.t
    return (
        Fact(t("Startup"), startup_name(ctx, quote.startup_id)),
        Fact(t("Montant"), amount_text(ctx, quote)),
        Fact(t("Fournisseur"), user(quote.supplier)),
        Fact(t("Objet"), user(quote.object)),
        Fact(t("Demandé par"), t("{who}, le {when}", who=person_name(ctx, quote.submitted_by),
                                 when=t.datetime(quote.created_at))),
    )


def decision_line(ctx: Context, row: Quote | ServiceDone) -> str:
    """Where a request stands, under its card: the decision, then each step of the order chain."""
    t = ctx.t
    who = person_name(ctx, row.decided_by)
    when = t.datetime(row.decided_at) if row.decided_at else "?"
    if row.status in (QuoteStatus.REFUSED, ServiceDoneStatus.REFUSED):
        return t("❌ **Refusé** par {who} le {when} — motif : {reason}", who=who, when=when,
                 reason=user(row.refusal_reason))
    if row.status == QuoteStatus.WITHDRAWN:
        line = t("↩️ **Retiré** par {who} le {when}", who=who, when=when)
        return line + (" — " + t("motif : {reason}", reason=user(row.refusal_reason)) if row.refusal_reason else "")
    if row.status == QuoteStatus.PENDING:  # the same value for a pending service done
        return t("⏳ En attente de décision d'un intrapreneur")
    word = N_("validé") if isinstance(row, Quote) else N_("certifié")
    line = t("✅ **{status}** par {who} le {when}", status=t(word).capitalize(), who=who, when=when)
    return "\n".join([line, *_chain_lines(ctx, row)])


def _chain_lines(ctx: Context, row: Quote | ServiceDone) -> list[str]:
    """After the decision: the bon de commande, the closing (a quote), the payment (a service done)."""
    t = ctx.t
    if isinstance(row, ServiceDone):
        if row.status == ServiceDoneStatus.PAID and row.paid_on is not None:
            return [t("💶 **Payé** le {day} (CP consommés), enregistré par {who}", day=t.date(row.paid_on),
                      who=person_name(ctx, row.paid_by))]
        return [t("CP à payer : paiement à enregistrer par les gestionnaires (paiement {ref}).", ref=row.reference)]
    if row.status == QuoteStatus.VALIDATED:
        return [t("AE réservées. 📝 Bon de commande pas encore enregistré (gestionnaires : commande {ref}; EJ …).",
                  ref=row.reference)]
    lines = []
    if row.ej:
        ordered = t("🧾 **Commandé** : EJ {ej}", ej=row.ej)
        if row.bc:
            ordered += " · " + t("BC {bc}", bc=user(row.bc))
        if row.ordered_at is not None:
            ordered += " " + t("le {when} par {who} (AE engagées)", when=t.datetime(row.ordered_at),
                               who=person_name(ctx, row.ordered_by))
        lines.append(ordered)
    if row.status == QuoteStatus.CLOSED:
        closed = t("🔒 **Soldé** le {when} par {who} : {released} non certifiés libérés",
                   when=t.datetime(row.closed_at) if row.closed_at else "?", who=person_name(ctx, row.closed_by),
                   released=t.money(row.released_cents or 0))
        lines.append(closed + (" — " + t("motif : {reason}", reason=user(row.close_reason))
                               if row.close_reason else ""))
    return lines


def heading(ctx: Context, reference: str) -> str:
    """« **Devis D-2026-0001** » or « **Service fait SF-2026-0001** »: what a request is called above its trail."""
    if reference.startswith("SF-"):
        return ctx.t("**Service fait {ref}**", ref=reference)
    return ctx.t("**Devis {ref}**", ref=reference)


def quote_card(ctx: Context, quote: Quote, *, with_buttons: bool) -> Reply:
    """The quote as sent to intrapreneurs; once decided, without buttons and with the decision."""
    t = ctx.t
    title = t("**Devis {ref}** — demande de validation", ref=quote.reference)
    lines = [title]
    if quote.status != QuoteStatus.PENDING:
        lines.append(decision_line(ctx, quote))
    buttons: tuple[Button, ...] = ()
    if with_buttons and quote.status == QuoteStatus.PENDING:
        buttons = (
            Button(t("Valider"), ActionId.QUOTE_VALIDATE, quote.reference, "primary"),
            Button(t("Refuser"), ActionId.QUOTE_REFUSE, quote.reference, "danger"),
        )
    return Reply("\n".join(lines), facts=quote_facts(ctx, quote), buttons=buttons)


def order_subject(reference: str) -> str:
    """The key under which the managers' « bon de commande à passer » card is updated in place
    (the intrapreneurs' copies are under the reference itself)."""
    return f"{reference}:commande"


def order_card(ctx: Context, quote: Quote) -> Reply:
    """The validated quote as posted to the managers' channel: **Passer commande** while its bon de
    commande is not recorded; once ordered (or closed), the same card with where it stands, no button."""
    t = ctx.t
    lines = [t("**Devis {ref}** — bon de commande à passer", ref=quote.reference), decision_line(ctx, quote)]
    buttons: tuple[Button, ...] = ()
    if quote.status == QuoteStatus.VALIDATED:
        buttons = (Button(t("Passer commande"), ActionId.ORDER_PLACE, quote.reference, "primary"),)
    return Reply("\n".join(lines), facts=quote_facts(ctx, quote), buttons=buttons)


def service_done_facts(ctx: Context, row: ServiceDone, quote: Quote) -> tuple[Fact, ...]:
    t = ctx.t
    after = quote.certified_cents + (row.amount_cents if row.status == ServiceDoneStatus.PENDING else 0)
    facts = [
        Fact(t("Commande"), t("{ref} — {supplier}", ref=quote.reference, supplier=user(quote.supplier))),
        Fact(t("Startup"), startup_name(ctx, quote.startup_id)),
        Fact(t("Montant"), t("{amount} TTC, soit {pct} de la commande ({order})",
                             amount=t.money(row.amount_cents), pct=t.percent(row.amount_cents, quote.amount_cents),
                             order=t.money(quote.amount_cents))),
        Fact(t("Cumul si certifié") if row.status == ServiceDoneStatus.PENDING else t("Cumul certifié"),
             t("{cum} ({pct})", cum=t.money(after), pct=t.percent(after, quote.amount_cents))),
    ]
    if quote.status == QuoteStatus.VALIDATED:
        facts.append(Fact(t("Bon de commande"), t("pas encore enregistré : le paiement attendra l'EJ")))
    elif quote.ej:
        facts.append(Fact(t("Bon de commande"), t("EJ {ej}", ej=quote.ej) + (f" · BC {user(quote.bc)}"
                                                                             if quote.bc else "")))
    if row.period:
        facts.append(Fact(t("Période"), user(row.period)))
    facts.append(Fact(t("Demandé par"), t("{who}, le {when}", who=person_name(ctx, row.submitted_by),
                                          when=t.datetime(row.created_at))))
    return tuple(facts)


def service_done_card(ctx: Context, row: ServiceDone, quote: Quote, *, with_buttons: bool) -> Reply:
    t = ctx.t
    lines = [t("**Service fait {ref}** — demande de certification", ref=row.reference)]
    if row.status != ServiceDoneStatus.PENDING:
        lines.append(decision_line(ctx, row))
    buttons: tuple[Button, ...] = ()
    if with_buttons and row.status == ServiceDoneStatus.PENDING:
        buttons = (
            Button(t("Certifier"), ActionId.SERVICE_DONE_CERTIFY, row.reference, "primary"),
            Button(t("Refuser"), ActionId.SERVICE_DONE_REFUSE, row.reference, "danger"),
        )
    return Reply("\n".join(lines), facts=service_done_facts(ctx, row, quote), buttons=buttons)
