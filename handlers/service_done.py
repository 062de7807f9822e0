"""``service-fait``: ask the intrapreneurs to certify service done on a validated quote.

``service-fait REF; MONTANT[; PÉRIODE]`` — partial certifications are normal
(monthly, per sprint); each shows its share of the order.
"""

from __future__ import annotations

from collections.abc import Mapping

from handlers import notify
from handlers.actions import ActionId
from handlers.cards import service_done_card, startup_name
from handlers.core import Command, Context, Registry
from handlers.errors import CommandError, FieldErrors
from handlers.i18n import N_
from handlers.markup import user
from handlers.money import parse_amount
from handlers.permissions import can_submit
from handlers.refusals import explain
from handlers.types import Choice, Form, Input, Reply
from storage import ledger
from storage.errors import LedgerRefusal, NotFound

MAX_PERIOD = 200


def service_done_form(ctx: Context) -> Form:
    t = ctx.t
    orders = [q for q in ledger.open_orders(session=ctx.session) if can_submit(ctx.actor, q.startup_id)]
    if not orders:
        raise CommandError(t("Aucune commande validée de vos startups n'attend de service fait."))
    choices = tuple(
        Choice(q.reference, t("{ref} · {startup} · {supplier} · reste {left}", ref=q.reference,
                              startup=startup_name(ctx, q.startup_id), supplier=q.supplier[:40],
                              left=t.money(q.amount_cents - q.certified_cents)))
        for q in orders[:100]
    )
    return Form(
        callback=ActionId.SERVICE_DONE_SUBMIT,
        title=t("Service fait"),
        submit_label=t("Envoyer"),
        inputs=(
            Input("quote", t("Commande"), kind="select", choices=choices),
            Input("amount", t("Montant TTC"), placeholder="3 000,00", max_length=40),
            Input("period", t("Période"), required=False, placeholder=t("octobre 2026, sprint 12…"),
                  max_length=MAX_PERIOD),
        ),
    )


def submit_service_done(ctx: Context, fields: Mapping[str, str]) -> Reply:
    t = ctx.t
    errors: dict[str, str] = {}
    ref = (fields.get("quote") or "").strip()
    quote = None
    if not ref:
        errors["quote"] = t("Indiquez la référence du devis (D-AAAA-NNNN).")
    else:
        try:
            quote = ledger.get_quote(session=ctx.session, reference=ref)
        except NotFound:
            errors["quote"] = t("Je ne trouve pas le devis {ref}.", ref=user(ref[:40]))
    amount_cents = 0
    try:
        amount = parse_amount(fields.get("amount", ""), t)
        amount_cents = amount.ttc_cents
    except CommandError as exc:
        errors["amount"] = exc.message
    period = (fields.get("period") or "").strip() or None
    if period and len(period) > MAX_PERIOD:
        errors["period"] = t("La période tient en {n} caractères au plus.", n=MAX_PERIOD)
    if quote is not None and not can_submit(ctx.actor, quote.startup_id):
        raise CommandError(t("Vous ne faites pas partie de {startup} : vous ne pouvez pas demander de service "
                             "fait sur {ref}.", startup=startup_name(ctx, quote.startup_id), ref=quote.reference))
    if errors or quote is None:
        raise FieldErrors(errors, "\n".join(errors.values()))
    try:
        with ctx.session.begin_nested():
            row, quote = ledger.create_service_done(
                session=ctx.session, quote_reference=quote.reference, submitted_by=ctx.actor.id,
                amount_cents=amount_cents, period=period, platform=ctx.platform, now=ctx.now(), year=ctx.year,
            )
    except LedgerRefusal as exc:
        raise FieldErrors({"amount": explain(t, exc)}, explain(t, exc)) from exc
    card = service_done_card(ctx, row, quote, with_buttons=True)
    deciders = notify.to_intrapreneurs(ctx, quote.startup_id, kind="service_done.request", subject=row.reference,
                                       reply=card)
    text = t("Service fait **{ref}** enregistré sur {quote} : {amount} ({pct} de la commande).",
             ref=row.reference, quote=quote.reference, amount=t.money(row.amount_cents),
             pct=t.percent(row.amount_cents, quote.amount_cents))
    if deciders:
        text += "\n" + t("Demande de certification envoyée à {names}.", names=", ".join(deciders))
    else:
        text += "\n" + t("⚠️ Personne ne peut certifier : la startup n'a pas d'intrapreneur enregistré.")
    return Reply(text, facts=card.facts)


def cmd_service_done(ctx: Context, args: str) -> Reply:
    if not args.strip():
        return Reply(ctx.t("Remplissez le formulaire du service fait."), form=service_done_form(ctx))
    parts = [p.strip() for p in args.split(";", 2)]
    if len(parts) < 2:
        raise CommandError(ctx.t("Il manque des champs. Format : service-fait D-AAAA-NNNN; MONTANT[; PÉRIODE] "
                                 "(par exemple : service-fait D-2026-0003; 4 000; octobre)."))
    fields = dict(zip(("quote", "amount", "period"), parts, strict=False))
    return submit_service_done(ctx, fields)


def form_service_done(ctx: Context, _value: str, values: Mapping[str, str]) -> Reply:
    return submit_service_done(ctx, values)


def register(registry: Registry) -> None:
    registry.command(Command("service-fait", ("sf", "service-done", "servicefait"), cmd_service_done,
                             N_("service-fait D-AAAA-NNNN; MONTANT[; PÉRIODE]"),
                             N_("demander la certification d'un service fait (sans argument : le formulaire)")))
    registry.forms[ActionId.SERVICE_DONE_SUBMIT] = form_service_done
