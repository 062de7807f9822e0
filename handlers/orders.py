"""The managers' side of the order chain (SPEC "The order chain"): ``commande``, ``paiement``,
``solder``; and ``retirer``, a pending quote withdrawn by its submitter or a manager.

* ``commande REF; EJ NUMÉRO[; BC NUMÉRO]`` — the bon de commande of a validated quote: its AE
  réservées become **engagées** (:func:`storage.ledger.place_order`). Without the EJ, the
  same as a form; a validated quote is posted to the managers' channel with **Passer
  commande**, which opens that form.
* ``paiement SF-REF[; AAAA-MM-JJ]`` — a certified service done paid (CP à payer →
  **consommés** of the payment's year, guarded); the date defaults to today, never in the future.
* ``solder REF[; MOTIF]`` — an order closed: what was never certified is released.
* ``retirer REF`` — a pending quote ends, nothing was reserved.

Each step is one guarded ledger transaction; every copy of the request is updated in place
through the outbox, and the person who submitted it is told by direct message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from handlers import notify
from handlers.actions import ActionId
from handlers.cards import order_card, order_subject, quote_card, service_done_card, startup_name
from handlers.committees import parse_day
from handlers.core import Command, Context, Registry
from handlers.decisions import alert_managers
from handlers.errors import CommandError, FieldErrors
from handlers.i18n import N_, Translator
from handlers.markup import user
from handlers.permissions import can_order, can_withdraw
from handlers.refusals import explain
from handlers.types import Form, Input, Reply
from storage import ledger
from storage.errors import EJAlreadyUsed, InsufficientCredits, InvalidEJ, NoAllocation
from storage.models import Quote, ServiceDone

MAX_REASON = 1000
_KEYWORD = re.compile(r"^(ej|bc|n°|no)\s*[:°n]*\s*", re.IGNORECASE)


def _show_quote(ctx: Context, quote: Quote) -> None:
    """Every copy of the quote, the intrapreneurs' card and the managers' one, as it stands now."""
    notify.update_subject(ctx, quote.reference, occurrence=quote.status, reply=quote_card(ctx, quote,
                                                                                           with_buttons=False))
    notify.update_subject(ctx, order_subject(quote.reference), occurrence=quote.status, reply=order_card(ctx, quote))


def _tell_submitter(ctx: Context, submitted_by: str, *, kind: str, occurrence: str, text: str) -> None:
    if submitted_by != ctx.actor.id:
        notify.to_person(ctx, submitted_by, kind=kind, occurrence=occurrence, reply=Reply(text))


def _require(ctx: Context, allowed: Callable[[], bool], name: str) -> None:
    if not allowed():
        raise CommandError(ctx.t("La commande **{name}** est réservée aux gestionnaires.", name=name))


# --------------------------------------------------------------------------- commande


def order_form(ctx: Context, reference: str) -> Form:
    t = ctx.t
    return Form(
        callback=ActionId.ORDER_PLACE,
        title=t("Bon de commande {ref}", ref=reference),
        submit_label=t("Enregistrer"),
        inputs=(
            Input("ej", t("Numéro d'EJ (CHORUS)"), placeholder="2100123456", max_length=40,
                  hint=t("L'engagement juridique : 10 chiffres.")),
            Input("bc", t("Numéro du bon de commande"), required=False, max_length=ledger.MAX_BC),
        ),
        value=reference,
    )


def _split_order(args: str) -> tuple[str, str, str]:
    """« D-2026-0001; EJ 2100123456; BC 4500012345 » → (reference, ej, bc); each may be empty."""
    parts = [p.strip() for p in args.split(";")]
    ref, ej, bc = parts[0].split()[0] if parts[0] else "", "", ""
    for part in parts[1:]:
        if part.upper().startswith("BC"):
            bc = _KEYWORD.sub("", part).strip()
        elif part:
            ej = ej or _KEYWORD.sub("", part).strip()
    return ref, ej, bc


def place(ctx: Context, reference: str, ej: str, bc: str) -> Reply:
    """Record the bon de commande of ``reference``; a clear answer for every refusal, nothing changed."""
    t = ctx.t
    if not ej.strip():
        raise FieldErrors({"ej": t("Le numéro d'EJ est obligatoire.")},
                          t("Indiquez l'EJ : commande {ref}; EJ 2100123456[; BC 4500012345].", ref=reference))
    if len(bc) > ledger.MAX_BC:
        raise FieldErrors({"bc": t("{n} caractères au plus.", n=ledger.MAX_BC)},
                          t("Le numéro du bon de commande dépasse {n} caractères : rien n'a changé.", n=ledger.MAX_BC))
    subject = ledger.load_quote(session=ctx.session, reference=reference, year=ctx.year)

    def then() -> None:
        quote = subject.quote
        _show_quote(ctx, quote)
        _tell_submitter(ctx, quote.submitted_by, kind="quote.ordered", occurrence=quote.reference,
                        text=t("🧾 Le bon de commande de {ref} ({supplier}) est passé : EJ {ej}. Le fournisseur peut "
                               "commencer ; déclarez le service fait une fois la prestation rendue "
                               "(service-fait {ref}; MONTANT).", ref=quote.reference, supplier=user(quote.supplier),
                               ej=quote.ej))

    try:
        quote = ledger.place_order(session=ctx.session, reference=reference, ej=ej, bc=bc or None,
                                   actor_id=ctx.actor.id, platform=ctx.platform, now=ctx.now(), year=ctx.year,
                                   subject=subject, then=then)
    except InvalidEJ as exc:
        raise FieldErrors({"ej": explain(t, exc)}, explain(t, exc)) from None
    except EJAlreadyUsed as exc:
        raise FieldErrors({"ej": explain(t, exc)}, explain(t, exc)) from None
    except (InsufficientCredits, NoAllocation) as exc:  # a reservation moved to a new year that cannot hold it
        alert_managers(ctx, subject, exc, card=quote_card(ctx, subject.quote, with_buttons=False),
                       step=t("enregistrer la commande de {ref}", ref=subject.reference))
        return Reply(explain(t, exc))
    text = t("C'est fait : bon de commande de {ref} enregistré — EJ {ej}", ref=quote.reference, ej=quote.ej)
    if quote.bc:
        text += ", " + t("BC {bc}", bc=user(quote.bc))
    return Reply(text + ". " + t("{amount} d'AE engagées sur {year} ({startup}).", amount=t.money(quote.amount_cents),
                                 year=quote.commitment_year, startup=startup_name(ctx, quote.startup_id)))


def cmd_order(ctx: Context, args: str) -> Reply:
    reference, ej, bc = _split_order(args)
    if not reference:
        raise CommandError(ctx.t("Précisez le devis et l'EJ : commande D-2026-0001; EJ 2100123456[; BC 4500012345]."))
    if not ej and not bc:
        subject = ledger.load_quote(session=ctx.session, reference=reference)  # unknown: said before the form
        return Reply(ctx.t("Remplissez le bon de commande de {ref}.", ref=subject.reference),
                     form=order_form(ctx, subject.reference))
    return place(ctx, reference, ej, bc)


def open_order_form(ctx: Context, reference: str) -> Reply:
    _require(ctx, lambda: can_order(ctx.actor), "commande")
    subject = ledger.load_quote(session=ctx.session, reference=reference)
    if subject.quote.ej:
        return Reply(ctx.t("{ref} est déjà commandé (EJ {ej}) : rien n'a changé.", ref=subject.reference,
                           ej=subject.quote.ej))
    return Reply("", form=order_form(ctx, subject.reference))


def form_order(ctx: Context, reference: str, values: Mapping[str, str]) -> Reply:
    _require(ctx, lambda: can_order(ctx.actor), "commande")
    return place(ctx, reference, values.get("ej", ""), (values.get("bc") or "").strip())


# --------------------------------------------------------------------------- paiement


def _paid_on(ctx: Context, typed: str) -> date:
    t = ctx.t
    if not typed:
        return ctx.today()
    day = parse_day(typed)
    if day is None:
        raise CommandError(t("Date de paiement illisible : « {typed} ». Écrivez-la AAAA-MM-JJ (par exemple "
                             "2026-11-30). Rien n'a changé.", typed=user(typed[:40])))
    if day > ctx.today():
        raise CommandError(t("Le {day} est dans le futur : un paiement s'enregistre une fois fait. Rien n'a changé.",
                             day=t.date(day)))
    return day


def _local_day(ctx: Context, at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ctx.services.tz).date()


def cmd_payment(ctx: Context, args: str) -> Reply:
    t = ctx.t
    reference, _, typed = args.partition(";")
    reference = reference.strip()
    if not reference:
        raise CommandError(t("Précisez le service fait : paiement SF-2026-0001[; AAAA-MM-JJ]."))
    paid_on = _paid_on(ctx, typed.strip())
    subject = ledger.load_service_done(session=ctx.session, reference=reference, year=paid_on.year)
    row = subject.row
    assert isinstance(row, ServiceDone)
    certified = _local_day(ctx, row.decided_at) if row.decided_at is not None else None
    if certified is not None and paid_on < certified:
        raise CommandError(t("{ref} a été certifié le {certified} : un paiement ne peut pas le précéder "
                             "(le {day}). Rien n'a changé.", ref=row.reference, certified=t.date(certified),
                             day=t.date(paid_on)))

    def then() -> None:
        card = service_done_card(ctx, row, subject.quote, with_buttons=False)
        notify.update_subject(ctx, row.reference, occurrence=row.status, reply=card)
        _tell_submitter(ctx, row.submitted_by, kind="service_done.paid", occurrence=row.reference,
                        text=t("💶 Le service fait {ref} ({supplier}, {amount}) a été payé le {day}.",
                               ref=row.reference, supplier=user(subject.quote.supplier),
                               amount=t.money(row.amount_cents), day=t.date(paid_on)))

    try:
        ledger.record_payment(session=ctx.session, reference=row.reference, paid_on=paid_on, actor_id=ctx.actor.id,
                              platform=ctx.platform, now=ctx.now(), subject=subject, then=then)
    except (InsufficientCredits, NoAllocation) as exc:
        alert_managers(ctx, subject, exc, card=service_done_card(ctx, row, subject.quote, with_buttons=False),
                       step=t("enregistrer le paiement de {ref}", ref=row.reference))
        return Reply(explain(t, exc))
    quote = subject.quote
    return Reply(t("C'est fait : paiement de {ref} enregistré le {day} — {amount} de CP {year} consommés. Reste à "
                   "payer sur {order} : {left}.", ref=row.reference, day=t.date(paid_on),
                   amount=t.money(row.amount_cents), year=paid_on.year, order=quote.reference,
                   left=t.money(quote.amount_cents - quote.paid_cents - (quote.released_cents or 0))))


def _reference_and_reason(t: Translator, args: str, usage: str) -> tuple[str, str]:
    """``REF[; motif]``: the reference (``usage`` said when missing) and the reason, bounded."""
    reference, _, reason = args.partition(";")
    reference, reason = reference.strip(), reason.strip()
    if not reference:
        raise CommandError(usage)
    if len(reason) > MAX_REASON:
        raise CommandError(t("Le motif dépasse {n} caractères : rien n'a changé.", n=MAX_REASON))
    return reference, reason


# --------------------------------------------------------------------------- solder


def cmd_close(ctx: Context, args: str) -> Reply:
    t = ctx.t
    reference, reason = _reference_and_reason(t, args, t("Précisez la commande : solder D-2026-0001[; motif]."))
    subject = ledger.load_quote(session=ctx.session, reference=reference)
    year = ctx.year

    def then() -> None:
        _show_quote(ctx, subject.quote)

    quote = ledger.close_order(session=ctx.session, reference=reference, actor_id=ctx.actor.id, platform=ctx.platform,
                               now=ctx.now(), year=year, reason=reason or None, subject=subject, then=then)
    released = t.money(quote.released_cents or 0)
    if quote.commitment_year == year:
        effect = t("{released} non certifiés libérés : des AE {year} de nouveau disponibles.", released=released,
                   year=year)
    else:
        effect = t("{released} non certifiés retirés des restes à payer de {year} ; les AE {year} ne se réutilisent "
                   "pas une autre année.", released=released, year=quote.commitment_year)
    return Reply(t("C'est fait : commande {ref} soldée.", ref=quote.reference) + " " + effect)


# --------------------------------------------------------------------------- retirer


def cmd_withdraw(ctx: Context, args: str) -> Reply:
    t = ctx.t
    reference, reason = _reference_and_reason(t, args, t("Précisez le devis : retirer D-2026-0001[; motif]."))
    subject = ledger.load_quote(session=ctx.session, reference=reference)
    if not can_withdraw(ctx.actor, subject.submitted_by):
        raise CommandError(t("Seule la personne qui a soumis {ref} ({who}), ou un gestionnaire, peut le retirer. "
                             "Rien n'a changé.", ref=subject.reference, who=subject.submitter.name))

    def then() -> None:
        notify.update_subject(ctx, subject.reference, occurrence=subject.status,
                              reply=quote_card(ctx, subject.quote, with_buttons=False))
        _tell_submitter(ctx, subject.submitted_by, kind="quote.withdrawn", occurrence=subject.reference,
                        text=t("↩️ Votre devis {ref} ({supplier}) a été retiré par {who}.", ref=subject.reference,
                               supplier=user(subject.quote.supplier), who=ctx.actor.person.name))

    ledger.withdraw_quote(session=ctx.session, reference=reference, actor_id=ctx.actor.id, platform=ctx.platform,
                          now=ctx.now(), reason=reason or None, subject=subject, then=then)
    return Reply(t("C'est fait : le devis {ref} est retiré ; rien n'était réservé.", ref=subject.reference))


def register(registry: Registry) -> None:
    registry.command(Command("commande", ("order", "bc", "bon-de-commande"), cmd_order,
                             N_("commande RÉF; EJ NUMÉRO[; BC NUMÉRO]"),
                             N_("enregistrer le bon de commande d'un devis validé : AE engagées (gestionnaires)"),
                             allowed=can_order))
    registry.command(Command("paiement", ("payment", "payer", "pay"), cmd_payment,
                             N_("paiement SF-RÉF[; AAAA-MM-JJ]"),
                             N_("enregistrer le paiement d'un service fait : CP consommés (gestionnaires)"),
                             allowed=can_order))
    registry.command(Command("solder", ("close", "clore"), cmd_close, N_("solder RÉF[; MOTIF]"),
                             N_("solder une commande : ce qui n'a pas été certifié est libéré (gestionnaires)"),
                             allowed=can_order))
    registry.command(Command("retirer", ("withdraw",), cmd_withdraw, N_("retirer RÉF[; MOTIF]"),
                             N_("retirer un devis en attente (la personne qui l'a soumis, ou un gestionnaire)")))
    registry.actions[ActionId.ORDER_PLACE] = open_order_form
    registry.forms[ActionId.ORDER_PLACE] = form_order


