"""``historique REF``: the whole trail of a quote or a service done."""

from __future__ import annotations

import json
import re
from datetime import date

from handlers.cards import heading, person_name, quote_card, service_done_card
from handlers.core import Command, Context, Registry
from handlers.errors import CommandError
from handlers.i18n import N_
from handlers.markup import user
from handlers.permissions import can_see_breakdown, can_see_startup
from handlers.types import Reply
from storage import ledger, reference, reports
from storage.models import OPEN_ORDER_STATUSES, AuditAction, Quote
from storage.platforms import PlatformName

ACTIONS_FR: dict[str, str] = {
    AuditAction.QUOTE_SUBMITTED: N_("devis soumis"),
    AuditAction.QUOTE_VALIDATED: N_("devis validé"),
    AuditAction.QUOTE_REFUSED: N_("devis refusé"),
    AuditAction.QUOTE_WITHDRAWN: N_("devis retiré"),
    AuditAction.QUOTE_ORDERED: N_("bon de commande enregistré"),
    AuditAction.QUOTE_CLOSED: N_("commande soldée"),
    AuditAction.SERVICE_DONE_SUBMITTED: N_("service fait demandé"),
    AuditAction.SERVICE_DONE_CERTIFIED: N_("service fait certifié"),
    AuditAction.SERVICE_DONE_REFUSED: N_("service fait refusé"),
    AuditAction.SERVICE_DONE_PAID: N_("paiement enregistré"),
    AuditAction.ALLOCATION_CREATED: N_("dotation enregistrée"),
    AuditAction.ALLOCATION_CHANGED: N_("dotation modifiée"),
    AuditAction.CONVENTION_SUSPENDED: N_("exécution suspendue"),
    AuditAction.CONVENTION_RESUMED: N_("exécution reprise"),
    AuditAction.CONVENTION_TERMINATED: N_("résiliation enregistrée"),
    AuditAction.DELEGANT_INFORMED: N_("délégant prévenu"),
}

PLATFORM_FR: dict[str, str] = {PlatformName.SLACK: N_("Slack"), PlatformName.MATTERMOST: N_("Mattermost"),
                               PlatformName.MATRIX: N_("Tchap"), PlatformName.CONSOLE: N_("terminal")}


REFERENCE = re.compile(r"(D|SF)-\d{4}-\d{4,}")
YEAR = re.compile(r"\d{4}")


def _not_a_reference(ctx: Context, typed: str) -> str:
    """What a reference looks like, and the startup's recent ones when a startup was named."""
    t = ctx.t
    text = t("« {typed} » n'est pas une référence : elle s'écrit D-2026-0001 pour un devis, SF-2026-0001 pour un "
             "service fait.", typed=user(typed[:40]))
    startup = reference.find_startup(session=ctx.session, text=typed)
    if startup is None or not can_see_startup(ctx.actor, startup.id):
        return text
    recent = reports.recent_references(session=ctx.session, startup_id=startup.id)
    if not recent:
        return text + " " + t("{startup} n'a encore ni devis ni service fait.", startup=user(startup.name))
    return text + " " + t("Les plus récentes de {startup} : {refs}.", startup=user(startup.name),
                          refs=", ".join(f"**{r}**" for r in recent))


def cmd_history(ctx: Context, args: str) -> Reply:
    t = ctx.t
    ref = args.strip().split()[0].upper() if args.strip() else ""
    if not ref:
        raise CommandError(t("Précisez la référence : historique D-2026-0001."))
    if YEAR.fullmatch(ref):
        return allocation_history(ctx, int(ref))
    if not REFERENCE.fullmatch(ref):
        raise CommandError(_not_a_reference(ctx, args.strip()))
    if ref.startswith("SF-"):
        row = ledger.get_service_done(session=ctx.session, reference=ref)
        quote = ctx.session.get(Quote, row.quote_id)
        assert quote is not None
        card = service_done_card(ctx, row, quote, with_buttons=False)
    else:
        quote = ledger.get_quote(session=ctx.session, reference=ref)
        card = quote_card(ctx, quote, with_buttons=False)
    if not can_see_startup(ctx.actor, quote.startup_id):
        raise CommandError(t("L'historique de {ref} est réservé à l'équipe de la startup et aux gestionnaires.",
                             ref=ref))
    lines = [heading(ctx, ref), t("**Historique**")]
    for event in ledger.audit_trail(session=ctx.session, subject=ref):
        detail = ""
        after = json.loads(event.after) if event.after else {}
        if after.get("service_done") and after.get("service_done") != ref:
            detail = f" ({after['service_done']})"
        if after.get("refusal_reason"):
            detail += t(" — motif : {reason}", reason=user(after["refusal_reason"]))
        detail += _chain_detail(ctx, event.action, after)
        lines.append(t("• {when} — {action} par {who} ({platform}){detail}", when=t.datetime(event.at),
                       action=t(ACTIONS_FR.get(event.action, event.action)), who=person_name(ctx, event.actor_id),
                       platform=PLATFORM_FR.get(event.platform, event.platform), detail=detail))
    if quote.status in OPEN_ORDER_STATUSES and not ref.startswith("SF-"):
        lines.append(t("Certifié à ce jour : {done} sur {total} ({pct}) ; reste à certifier {left} ; payé {paid}.",
                       done=t.money(quote.certified_cents), total=t.money(quote.amount_cents),
                       pct=t.percent(quote.certified_cents, quote.amount_cents),
                       left=t.money(quote.amount_cents - quote.certified_cents), paid=t.money(quote.paid_cents)))
    return Reply("\n".join(lines), facts=card.facts)


def _chain_detail(ctx: Context, action: str, after: dict[str, object]) -> str:
    """What a step of the order chain adds to its line: the EJ, the day paid, what a closing released."""
    t = ctx.t
    if action == AuditAction.QUOTE_ORDERED and after.get("ej"):
        return " — " + t("EJ {ej}", ej=after["ej"]) + (f" · BC {user(str(after['bc']))}" if after.get("bc") else "")
    if action == AuditAction.SERVICE_DONE_PAID and after.get("paid_on"):
        return " — " + t("payé le {day}", day=t.date(date.fromisoformat(str(after["paid_on"]))))
    released = after.get("released_cents")
    if action == AuditAction.QUOTE_CLOSED and isinstance(released, int):
        text = " — " + t("{released} non certifiés libérés", released=t.money(released))
        return text + (t(" — motif : {reason}", reason=user(str(after["close_reason"])))
                       if after.get("close_reason") else "")
    return ""


def allocation_history(ctx: Context, year: int) -> Reply:
    """``historique 2026`` (managers): every change of the year's allocation, with its amendment (art. 6)."""
    t = ctx.t
    if not can_see_breakdown(ctx.actor):
        raise CommandError(t("L'historique des dotations est réservé aux gestionnaires."))
    events = ledger.audit_trail(session=ctx.session, subject=f"allocation:{year}")
    if not events:
        raise CommandError(t("Aucune dotation n'est enregistrée pour {year}.", year=year))
    lines = [t("**Dotation {year} — historique**", year=year)]
    for event in events:
        before = json.loads(event.before) if event.before else {}
        after = json.loads(event.after) if event.after else {}
        parts = []
        for key, label in (("ae_cents", "AE"), ("cp_cents", "CP")):
            if key in after and (not before or before.get(key) != after[key]):
                parts.append(t("{credits} {amount}", credits=label, amount=t.money(after[key])) if not before else
                             t("{credits} {old} → {new}", credits=label, old=t.money(before[key]),
                               new=t.money(after[key])))
        if after.get("amendment"):
            amended_on = after.get("amended_on")
            parts.append(t("{amendment} du {day}", amendment=user(after["amendment"]),
                           day=t.date(date.fromisoformat(amended_on))) if amended_on else user(after["amendment"]))
        lines.append(t("• {when} — {action} : {detail}", when=t.datetime(event.at),
                       action=t(ACTIONS_FR.get(event.action, event.action)),
                       detail=", ".join(parts) or t("dates de fin de gestion")))
    return Reply("\n".join(lines))


def register(registry: Registry) -> None:
    registry.command(Command("historique", ("history", "histo"), cmd_history, N_("historique RÉF"),
                             N_("tout le parcours d'un devis ou d'un service fait (ANNÉE : d'une dotation)"),
                             reads_only=True))
