"""``devis``: submit a quote, by form or in one line; the intrapreneurs get it to decide.

``devis STARTUP; MONTANT; FOURNISSEUR; OBJET`` — the amount is TTC, or HT when
followed by ``HT`` (converted at 20 % VAT).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from handlers import decisions, envelopes, notify
from handlers.actions import ActionId
from handlers.cards import amount_text, quote_card
from handlers.core import Command, Context, Registry
from handlers.errors import CommandError, FieldErrors
from handlers.i18n import N_
from handlers.markup import user
from handlers.money import Amount, parse_amount, stated_tax
from handlers.permissions import can_submit
from handlers.types import Choice, Form, Input, Reply
from storage import ledger, reference, reports
from storage.models import Quote

MAX_SUPPLIER = 200
MAX_OBJECT = 1000


def quote_form(ctx: Context) -> Form:
    t = ctx.t
    choices = tuple(
        Choice(s.id, s.name)
        for s in reference.startups(session=ctx.session)
        if can_submit(ctx.actor, s.id)
    )
    if not choices:
        raise CommandError(t("Vous n'êtes rattaché(e) à aucune startup : vous ne pouvez pas soumettre de devis."))
    return Form(
        callback=ActionId.QUOTE_SUBMIT,
        title=t("Nouveau devis"),
        submit_label=t("Envoyer"),
        inputs=(
            Input("startup", t("Startup"), kind="select", choices=choices,
                  initial=choices[0].value if len(choices) == 1 else ""),
            Input("amount", t("Montant"), placeholder="12 500,00", max_length=40,
                  hint=t("En euros ; ajoutez HT si le devis est hors taxes (TVA 20 %).")),
            Input("tax", t("Le montant est"), kind="select", required=False, initial="TTC",
                  choices=(Choice("TTC", t("TTC")), Choice("HT", t("HT (TVA 20 % ajoutée)")))),
            Input("supplier", t("Fournisseur"), max_length=MAX_SUPPLIER),
            Input("object", t("Objet"), kind="textarea", max_length=MAX_OBJECT),
        ),
    )


def submit_quote(ctx: Context, fields: Mapping[str, str]) -> Reply:
    """Check every field, record the quote, send it to the startup's intrapreneurs."""
    t = ctx.t
    errors: dict[str, str] = {}
    startup = None
    startup_text = (fields.get("startup") or "").strip()
    if not startup_text:
        errors["startup"] = t("Indiquez la startup.")
    else:
        startup = reference.find_startup(session=ctx.session, text=startup_text)
        if startup is None:
            known = ", ".join(s.id for s in reference.startups(session=ctx.session))
            errors["startup"] = t("Startup inconnue : « {name} ». Startups connues : {known}.",
                                  name=user(startup_text[:100]), known=known)
    amount: Amount | None = None
    chosen, stated = (fields.get("tax") or "").strip().upper(), stated_tax(fields.get("amount", ""))
    try:
        amount = parse_amount(fields.get("amount", ""), t)
        if chosen and stated and chosen != stated:  # « 12 500 HT » typed, then TTC chosen: ask, never guess
            errors["tax"] = t("Le montant est écrit « {stated} » mais vous avez choisi {chosen} : choisissez {stated}, "
                              "ou retirez « {stated} » du montant.", stated=stated, chosen=chosen)
        elif chosen == "HT":
            amount = Amount(amount.cents, True)
    except CommandError as exc:
        errors["amount"] = exc.message
    supplier = (fields.get("supplier") or "").strip()
    if not supplier:
        errors["supplier"] = t("Indiquez le fournisseur.")
    elif len(supplier) > MAX_SUPPLIER:
        errors["supplier"] = t("Le fournisseur tient en {n} caractères au plus.", n=MAX_SUPPLIER)
    obj = (fields.get("object") or "").strip()
    if not obj:
        errors["object"] = t("Indiquez l'objet du devis.")
    elif len(obj) > MAX_OBJECT:
        errors["object"] = t("L'objet tient en {n} caractères au plus.", n=MAX_OBJECT)
    if startup is not None and not startup.active:
        raise CommandError(t("{startup} n'est plus suivie par l'incubateur (elle n'est plus dans le fichier de "
                             "référence) : elle ne reçoit plus de devis.", startup=startup.name))
    if startup is not None and not can_submit(ctx.actor, startup.id):
        raise CommandError(t("Vous ne faites pas partie de {startup} : seuls ses coachs, ses intrapreneurs "
                             "et les gestionnaires peuvent soumettre un devis pour elle.", startup=startup.name))
    if startup is not None:
        envelopes.refuse_if_stopped(ctx, startup)
    if errors or startup is None or amount is None:
        raise FieldErrors(errors, "\n".join(errors.values()))
    ttc = amount.ttc_cents
    if ttc > 100_000_000_00:
        raise FieldErrors({"amount": t("Montant TTC trop élevé.")}, t("Montant TTC trop élevé."))
    quote = ledger.create_quote(
        session=ctx.session,
        startup_id=startup.id,
        submitted_by=ctx.actor.id,
        amount_cents=ttc,
        amount_ht_cents=amount.cents if amount.tax_free else None,
        supplier=supplier,
        object=obj,
        platform=ctx.platform,
        now=ctx.now(),
        year=ctx.year,
    )
    warnings = _warnings(ctx, quote)
    card = quote_card(ctx, quote, with_buttons=True)
    deciders = notify.to_intrapreneurs(ctx, startup.id, kind="quote.request", subject=quote.reference, reply=card)
    text = t("Devis **{ref}** enregistré : {amount} pour {startup}.", ref=quote.reference,
             amount=amount_text(ctx, quote), startup=startup.name)
    text += "".join("\n" + warning for warning in warnings)
    if deciders:
        text += "\n" + t("Demande de validation envoyée à {names}.", names=", ".join(deciders))
    else:
        text += "\n" + t("⚠️ {startup} n'a pas d'intrapreneur enregistré : personne ne peut décider. "
                         "Les gestionnaires sont prévenus.", startup=startup.name)
        notify.to_managers(ctx, kind="alert.no_intrapreneur", occurrence=quote.reference,
                           reply=Reply(t("⚠️ Le devis {ref} de {startup} attend une décision, mais la startup "
                                         "n'a pas d'intrapreneur enregistré.", ref=quote.reference,
                                         startup=startup.name), facts=card.facts))
    return Reply(text, facts=card.facts)


DUPLICATE_WINDOW = timedelta(days=30)


def _warnings(ctx: Context, quote: Quote) -> list[str]:
    """What the submitter should know before anyone decides: a warning, never a refusal."""
    t = ctx.t
    warnings = []
    balance = ledger.year_balance(session=ctx.session, year=ctx.year)
    if balance.exists and quote.amount_cents > balance.ae_available_cents:
        warnings.append(t("⚠️ Ce montant dépasse ce qui reste des AE {year} ({left}) : sa validation sera refusée "
                          "si rien ne se libère d'ici là.", year=ctx.year, left=t.money(balance.ae_available_cents)))
    if (over_envelope := envelopes.submission_warning(ctx, quote)) is not None:
        warnings.append(over_envelope)
    twin = reports.similar_quote(session=ctx.session, quote=quote, since=ctx.now() - DUPLICATE_WINDOW)
    if twin is not None:
        warnings.append(t("⚠️ Un devis identique ({ref}, même startup, même fournisseur, même montant) a été soumis "
                          "le {date} : vérifiez qu'il ne s'agit pas d'un doublon.", ref=twin.reference,
                          date=t.date(twin.created_at.astimezone(t.tz).date())))
    return warnings


def cmd_quote(ctx: Context, args: str) -> Reply:
    if not args.strip():
        return Reply(ctx.t("Remplissez le formulaire du devis."), form=quote_form(ctx))
    parts = [p.strip() for p in args.split(";", 3)]
    if len(parts) < 4:
        raise CommandError(ctx.t("Il manque des champs. Format : devis STARTUP; MONTANT; FOURNISSEUR; OBJET "
                                 "(par exemple : devis dedale; 12 500 HT; Scopyleft; Sprint 12)."))
    fields = dict(zip(("startup", "amount", "supplier", "object"), parts, strict=True))
    return submit_quote(ctx, fields)


def form_quote(ctx: Context, _value: str, values: Mapping[str, str]) -> Reply:
    return submit_quote(ctx, values)


def register(registry: Registry) -> None:
    registry.command(Command("devis", ("quote",), cmd_quote, N_("devis STARTUP; MONTANT; FOURNISSEUR; OBJET"),
                             N_("soumettre un devis (sans argument : le formulaire)")))
    registry.command(Command("valider", ("validate", "approve", "certifier", "certify"), decisions.cmd_approve,
                             N_("valider D-AAAA-NNNN · certifier SF-AAAA-NNNN"),
                             N_("décider d'une demande sans passer par les boutons (intrapreneurs)")))
    registry.command(Command("refuser", ("refuse", "reject"), decisions.cmd_refuse,
                             N_("refuser RÉF; MOTIF"), N_("refuser une demande avec son motif (intrapreneurs)")))
    registry.forms[ActionId.QUOTE_SUBMIT] = form_quote
    decisions.register(registry)
