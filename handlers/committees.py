"""``comite`` and ``decision``: the investment committee (art. 2), what it decided, what to prepare.

``decision STARTUP; poursuite|relais|acceleration|arret; MONTANT; JUSQU'AU AAAA-MM-JJ[; NOTE]``
(managers; without arguments, the same as a form) records what the last committee held decided
for a startup; it sets the startup's envelope for that period (:mod:`storage.committees`).
``comite`` shows the next committee, what to prepare and the last decisions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from handlers.actions import ActionId
from handlers.core import Command, Context, Registry
from handlers.errors import CommandError, FieldErrors
from handlers.i18n import N_, Translator
from handlers.markup import user
from handlers.money import parse_amount
from handlers.permissions import can_see_startup
from handlers.types import Choice, Form, Input, Reply
from storage import committees as store
from storage import reference
from storage.models import Committee, DecisionKind, Startup
from storage.text import fold

TO_PREPARE_FR = (
    N_("les indicateurs d'impact de la startup, et sa page /stats à jour"),
    N_("le bilan des six derniers mois : ce qui a été appris, livré, mesuré"),
    N_("le budget des six prochains mois (devis à venir, AE et CP nécessaires)"),
    N_("les décisions attendues du comité (poursuite, changement de phase, arrêt)"),
)

KIND_FR = {
    DecisionKind.POURSUITE: N_("poursuite"),
    DecisionKind.RELAIS: N_("relais"),
    DecisionKind.ACCELERATION: N_("accélération"),
    DecisionKind.ARRET: N_("arrêt"),
}
# What people type, folded (accents and case ignored), French and English.
KIND_WORDS = {
    "poursuite": DecisionKind.POURSUITE, "continue": DecisionKind.POURSUITE, "continuation": DecisionKind.POURSUITE,
    "relais": DecisionKind.RELAIS, "bridge": DecisionKind.RELAIS,
    "acceleration": DecisionKind.ACCELERATION, "accelerate": DecisionKind.ACCELERATION,
    "arret": DecisionKind.ARRET, "stop": DecisionKind.ARRET,
}
MAX_NOTE = 1000
LAST_DECISIONS = 10
_UNTIL = re.compile(r"^(jusqu\s*['’]?\s*au|jusqu'au|until|au)\s+", re.IGNORECASE)
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FRENCH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ZERO = re.compile(r"^0+([.,]0+)?\s*(€|eur|euros?)?$", re.IGNORECASE)


def to_prepare(ctx: Context) -> list[str]:
    return [ctx.t(item) for item in TO_PREPARE_FR]


def kind_label(t: Translator, kind: str) -> str:
    return t(KIND_FR.get(kind, kind))  # type: ignore[call-overload]


def decision_line(t: Translator, d: store.DecisionView) -> str:
    """« Dédale : poursuite, 120 000,00 € jusqu'au 30 juin 2027 (comité du 16 juin 2026) »."""
    return t("{startup} : {kind}, {amount} jusqu'au {until} (comité du {held_on})", startup=d.startup_name,
             kind=kind_label(t, d.kind), amount=t.money(d.amount_cents), until=t.date(d.until),
             held_on=t.date(d.committee_held_on))


def held_committee(ctx: Context) -> Committee | None:
    """The last committee held (today included): the one a decision recorded now follows."""
    today = ctx.today()
    held = [c for c in reference.committees(session=ctx.session) if c.held_on <= today]
    return held[-1] if held else None


# --------------------------------------------------------------------------- comite


def cmd_committee(ctx: Context, _args: str) -> Reply:
    t = ctx.t
    today = ctx.today()
    nxt = reference.next_committee(session=ctx.session, today=today)
    if nxt is None:
        last = reference.last_committee(session=ctx.session, today=today)
        text = t("Aucun comité d'investissement n'est planifié.")
        if last is not None:
            text += " " + t("Le dernier a eu lieu le {date}.", date=t.date(last.held_on))
        lines = [text + " " + t("Un administrateur peut en ajouter dans le fichier de référence.")]
    else:
        days = (nxt.held_on - today).days
        when = t("aujourd'hui") if days == 0 else t("demain") if days == 1 else t("dans {n} jours", n=days)
        lines = [t("**Prochain comité d'investissement : {date}** ({when}).", date=t.date(nxt.held_on), when=when)]
        if nxt.president_id:
            president = reference.get_person(session=ctx.session, person_id=nxt.president_id)
            lines.append(t("Présidé par {name}.", name=president.name if president else nxt.president_id))
        reviewed = store.reviewed_startups(session=ctx.session, committee=nxt)
        if nxt.startups is not None:
            lines.append(t("Startups examinées : {names}.", names=", ".join(s.name for s in reviewed) or "—"))
        lines.append(t("À préparer :"))
        lines += [f"• {item}" for item in to_prepare(ctx)]
    lines += last_decisions_lines(ctx)
    return Reply("\n".join(lines))


def last_decisions_lines(ctx: Context) -> list[str]:
    t = ctx.t
    recorded = store.decisions(session=ctx.session, limit=LAST_DECISIONS * 3)
    visible = [d for d in recorded if can_see_startup(ctx.actor, d.startup_id)][:LAST_DECISIONS]
    if not recorded:
        return ["", t("Aucune décision de comité n'est encore enregistrée.")]
    lines = ["", t("**Dernières décisions** :")]
    for d in visible:
        line = "• " + decision_line(t, d)
        if d.note:
            line += f" — {user(d.note)}"
        lines.append(line)
    if len(visible) < len(recorded[:LAST_DECISIONS]):
        lines.append(t("Les décisions des autres startups sont réservées à leur équipe et aux gestionnaires."))
    return lines


# --------------------------------------------------------------------------- decision


def decision_form(ctx: Context) -> Form:
    t = ctx.t
    startups = tuple(Choice(s.id, s.name) for s in reference.startups(session=ctx.session))
    kinds = tuple(Choice(k.value, kind_label(t, k)) for k in DecisionKind)
    return Form(
        callback=ActionId.COMMITTEE_DECISION,
        title=t("Décision du comité"),
        submit_label=t("Enregistrer"),
        inputs=(
            Input("startup", t("Startup"), kind="select", choices=startups),
            Input("kind", t("Décision"), kind="select", choices=kinds),
            Input("amount", t("Montant de l'enveloppe"), placeholder="120 000", max_length=40,
                  hint=t("En euros TTC ; 0 pour un arrêt sans nouvelle dépense.")),
            Input("until", t("Jusqu'au"), placeholder="2027-06-30", max_length=20,
                  hint=t("Date de fin de la période financée (AAAA-MM-JJ).")),
            Input("note", t("Note"), kind="textarea", required=False, max_length=MAX_NOTE),
        ),
    )


def parse_day(text: str) -> date | None:
    """``2027-06-30`` or ``30/06/2027`` (after an optional « jusqu'au »); None when it is not a date."""
    typed = _UNTIL.sub("", text.strip()).strip()
    match = _ISO.match(typed)
    parts: tuple[int, int, int] | None = None
    if match:
        parts = int(match[1]), int(match[2]), int(match[3])
    elif (match := _FRENCH.match(typed)) is not None:
        parts = int(match[3]), int(match[2]), int(match[1])
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def record_decision(ctx: Context, fields: Mapping[str, str]) -> Reply:
    """Check every field, record the decision and set the envelope; a clear answer for each mistake."""
    t = ctx.t
    today = ctx.today()
    errors: dict[str, str] = {}
    startup: Startup | None = None
    startup_text = (fields.get("startup") or "").strip()
    if not startup_text:
        errors["startup"] = t("Indiquez la startup.")
    else:
        startup = reference.find_startup(session=ctx.session, text=startup_text)
        if startup is None:
            known = ", ".join(s.id for s in reference.startups(session=ctx.session))
            errors["startup"] = t("Startup inconnue : « {name} ». Startups connues : {known}.",
                                  name=user(startup_text[:100]), known=known)
    kind_text = (fields.get("kind") or "").strip()
    kind = KIND_WORDS.get(fold(kind_text))
    if kind is None:
        errors["kind"] = t("Décision inconnue : « {word} ». Écrivez poursuite, relais, acceleration ou arret.",
                           word=user(kind_text[:40]))
    amount_text = (fields.get("amount") or "").strip()
    cents: int | None = None
    if kind == DecisionKind.ARRET and _ZERO.match(amount_text):
        cents = 0
    else:
        try:
            cents = parse_amount(amount_text, t).ttc_cents
        except CommandError as exc:
            errors["amount"] = exc.message
    committee = held_committee(ctx)
    until_text = (fields.get("until") or "").strip()
    until = parse_day(until_text)
    if until is None:
        errors["until"] = t("Date de fin illisible : « {typed} ». Écrivez-la AAAA-MM-JJ (par exemple 2027-06-30).",
                            typed=user(until_text[:40]))
    elif until < today:
        errors["until"] = t("Le {date} est déjà passé : la période financée doit finir après aujourd'hui.",
                            date=t.date(until))
    elif committee is not None and until <= committee.held_on:
        errors["until"] = t("Le {date} précède le comité du {held_on} : la période financée finit après lui.",
                            date=t.date(until), held_on=t.date(committee.held_on))
    note = (fields.get("note") or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        errors["note"] = t("La note tient en {n} caractères au plus.", n=MAX_NOTE)
    if errors or startup is None or kind is None or cents is None or until is None:
        raise FieldErrors(errors, "\n".join(errors.values()))
    if committee is None:
        raise CommandError(t("Aucun comité d'investissement n'a encore eu lieu : une décision suit un comité. "
                             "Un administrateur peut en ajouter dans le fichier de référence."))
    reviewed = {s.id for s in store.reviewed_startups(session=ctx.session, committee=committee)}
    if startup.id not in reviewed:
        raise CommandError(t("{startup} n'était pas examinée par le comité du {held_on} : rien n'a été enregistré.",
                             startup=startup.name, held_on=t.date(committee.held_on)))
    try:
        store.record_decision(session=ctx.session, startup_id=startup.id, committee=committee, kind=kind,
                              amount_cents=cents, until=until, note=note, actor_id=ctx.actor.id,
                              platform=ctx.platform, now=ctx.now())
    except store.EnvelopeBelowReserved as exc:
        raise CommandError(t("{startup} a déjà réservé {reserved} sur l'enveloppe du comité du {held_on} : "
                             "elle ne peut pas descendre à {amount}. Rien n'a été enregistré.", startup=startup.name,
                             reserved=t.money(exc.reserved_cents), held_on=t.date(committee.held_on),
                             amount=t.money(cents))) from None
    lines = [t("✅ Décision enregistrée — {line}.", line=decision_line(t, store.decisions(
        session=ctx.session, startup_ids=[startup.id], limit=1)[0]))]
    if kind == DecisionKind.ARRET:
        lines.append(t("{startup} ne peut plus soumettre de nouveau devis ; les devis en attente restent à décider "
                       "dans la limite de l'enveloppe.", startup=startup.name))
    else:
        lines.append(t("Enveloppe de {startup} : {amount} jusqu'au {until} ; au-delà, les validations de ses devis "
                       "sont refusées.", startup=startup.name, amount=t.money(cents), until=t.date(until)))
    return Reply("\n".join(lines))


def cmd_decision(ctx: Context, args: str) -> Reply:
    if not args.strip():
        return Reply(ctx.t("Remplissez le formulaire de la décision."), form=decision_form(ctx))
    parts = [p.strip() for p in args.split(";", 4)]
    if len(parts) < 4:
        raise CommandError(ctx.t("Il manque des champs. Format : decision STARTUP; poursuite|relais|acceleration|"
                                 "arret; MONTANT; JUSQU'AU AAAA-MM-JJ[; NOTE] (par exemple : decision dedale; "
                                 "poursuite; 120 000; jusqu'au 2027-06-30)."))
    fields = dict(zip(("startup", "kind", "amount", "until", "note"), parts, strict=False))
    return record_decision(ctx, fields)


def form_decision(ctx: Context, _value: str, values: Mapping[str, str]) -> Reply:
    if not ctx.actor.is_manager:
        raise CommandError(ctx.t("La commande **{name}** est réservée aux gestionnaires.", name="decision"))
    return record_decision(ctx, values)


def register(registry: Registry) -> None:
    registry.command(Command("comite", ("comité", "committee", "comites"), cmd_committee, N_("comite"),
                             N_("prochain comité d'investissement, ce qu'il faut préparer, dernières décisions"),
                             reads_only=True))
    registry.command(Command("decision", ("décision", "decide"), cmd_decision,
                             N_("decision STARTUP; poursuite|relais|acceleration|arret; MONTANT; JUSQU'AU AAAA-MM-JJ"
                                "[; NOTE]"),
                             N_("enregistrer la décision du comité pour une startup : son enveloppe (gestionnaires)"),
                             allowed=lambda actor: actor.is_manager))
    registry.forms[ActionId.COMMITTEE_DECISION] = form_decision
    registry.command(Command("preparer", ("préparer", "prepare", "entrees"), cmd_inputs, N_("preparer STARTUP"),
                             N_("les éléments d'une startup pour le prochain comité (coachs)")))
    registry.actions[ActionId.COMMITTEE_INPUTS] = open_inputs
    registry.forms[ActionId.COMMITTEE_INPUTS] = form_inputs


# --------------------------------------------------------------------------- the coaches' inputs

INDICATORS = (("usable", N_("Utilisable")), ("used", N_("Utilisé")), ("useful", N_("Utile")),
              ("impactful", N_("Impactant")))
MAX_INDICATOR = 500
MAX_OBJECTIVES = 4000


def inputs_form(ctx: Context, committee: Committee, startup: Startup) -> Form:
    t = ctx.t
    given = store.get_input(session=ctx.session, committee_id=committee.id or 0, startup_id=startup.id)
    hints = {"usable": t("Le service marche-t-il pour ses usagers ? (chiffres, tests)"),
             "used": t("Combien l'utilisent, à quelle fréquence ?"),
             "useful": t("Qu'apporte-t-il à ses usagers ? (satisfaction, temps gagné)"),
             "impactful": t("Quel effet sur la politique publique visée ?")}
    inputs = [Input(name, t(label), kind="textarea", max_length=MAX_INDICATOR, hint=hints[name],
                    initial=getattr(given, name) if given else "") for name, label in INDICATORS]
    inputs += [
        Input("stats_url", t("Lien vers la page /stats"), placeholder="https://…/stats", max_length=500,
              initial=given.stats_url if given else ""),
        Input("objectives", t("Objectifs des six prochains mois"), kind="textarea", max_length=MAX_OBJECTIVES,
              initial=given.objectives if given else ""),
        Input("budget", t("Budget demandé"), placeholder="120 000", max_length=40, hint=t("En euros TTC."),
              initial=t.money(given.budget_requested_cents) if given else ""),
    ]
    return Form(callback=ActionId.COMMITTEE_INPUTS, title=t("Comité du {date} — {startup}", date=t.date(
        committee.held_on), startup=startup.name), submit_label=t("Envoyer"), inputs=tuple(inputs),
                value=f"{committee.held_on.isoformat()}:{startup.id}")


def _inputs_subject(ctx: Context, value: str) -> tuple[Committee, Startup]:
    """The committee and startup a request for inputs is about (``AAAA-MM-JJ:startup``), still open to this person."""
    t = ctx.t
    day_text, _, startup_id = value.partition(":")
    day = parse_day(day_text)
    committee = store.committee_by_date(session=ctx.session, held_on=day) if day else None
    startup = reference.get_startup(session=ctx.session, startup_id=startup_id)
    if committee is None or startup is None:
        raise CommandError(t("Ce formulaire n'est plus valable."))
    if committee.held_on < ctx.today():
        raise CommandError(t("Le comité du {date} a eu lieu : ses éléments ne se modifient plus.",
                             date=t.date(committee.held_on)))
    if not (ctx.actor.is_manager or startup.id in ctx.actor.coach_of):
        raise CommandError(t("Seuls les coachs de {startup} et les gestionnaires préparent son passage en comité.",
                             startup=startup.name))
    return committee, startup


def open_inputs(ctx: Context, value: str) -> Reply:
    """The button of the request: the form of the inputs (already given ones filled in)."""
    committee, startup = _inputs_subject(ctx, value)
    return Reply("", form=inputs_form(ctx, committee, startup))


def cmd_inputs(ctx: Context, args: str) -> Reply:
    """``preparer STARTUP``: the form of the startup's inputs for the next committee."""
    t = ctx.t
    committee = reference.next_committee(session=ctx.session, today=ctx.today())
    if committee is None:
        raise CommandError(t("Aucun comité d'investissement n'est planifié."))
    mine = [sid for sid in sorted(ctx.actor.coach_of)]
    text = args.strip()
    if not text and len(mine) == 1:
        text = mine[0]
    startup = reference.find_startup(session=ctx.session, text=text) if text else None
    if startup is None:
        raise CommandError(t("Indiquez la startup : preparer STARTUP (par exemple : preparer {example}).",
                             example=mine[0] if mine else "dedale"))
    _inputs_subject(ctx, f"{committee.held_on.isoformat()}:{startup.id}")
    return Reply(t("Remplissez les éléments de {startup} pour le comité du {date}.", startup=startup.name,
                   date=t.date(committee.held_on)), form=inputs_form(ctx, committee, startup))


def form_inputs(ctx: Context, value: str, values: Mapping[str, str]) -> Reply:
    t = ctx.t
    committee, startup = _inputs_subject(ctx, value)
    errors: dict[str, str] = {}
    stored: dict[str, object] = {}
    for name, label in INDICATORS:
        typed = (values.get(name) or "").strip()
        if not typed:
            errors[name] = t("Indiquez l'indicateur « {name} ».", name=t(label))
        elif len(typed) > MAX_INDICATOR:
            errors[name] = t("{n} caractères au plus.", n=MAX_INDICATOR)
        stored[name] = typed
    url = (values.get("stats_url") or "").strip()
    if not re.match(r"^https?://\S+$", url):
        errors["stats_url"] = t("Donnez l'adresse de la page /stats, commençant par https://.")
    stored["stats_url"] = url
    objectives = (values.get("objectives") or "").strip()
    if not objectives:
        errors["objectives"] = t("Indiquez les objectifs des six prochains mois.")
    elif len(objectives) > MAX_OBJECTIVES:
        errors["objectives"] = t("{n} caractères au plus.", n=MAX_OBJECTIVES)
    stored["objectives"] = objectives
    try:
        stored["budget_requested_cents"] = parse_amount(values.get("budget") or "", t).ttc_cents
    except CommandError as exc:
        errors["budget"] = exc.message
    if errors:
        raise FieldErrors(errors, "\n".join(errors.values()))
    store.save_input(session=ctx.session, committee_id=committee.id or 0, startup_id=startup.id, values=stored,
                     actor_id=ctx.actor.id, platform=ctx.platform, now=ctx.now())
    return Reply(t("✅ Merci : les éléments de {startup} pour le comité du {date} sont enregistrés ; ils seront dans "
                   "le dossier des gestionnaires.", startup=startup.name, date=t.date(committee.held_on)))
