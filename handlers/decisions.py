"""The decision flow, written once for quotes and for service done.

An intrapreneur of the startup clicks **Valider**/**Certifier** or **Refuser**
(or types ``valider REF``, ``refuser REF; motif``). Approving runs the guarded
ledger transaction; refusing asks for a reason first. Then every copy of the
request is updated in place and the submitter gets a direct message. A refusal
for lack of credits alerts the managers at once (convention, art. 5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from handlers import notify
from handlers.cards import person_name, quote_card, service_done_card, startup_name
from handlers.core import Context, Registry
from handlers.errors import CommandError, FieldErrors
from handlers.markup import user
from handlers.permissions import can_decide
from handlers.refusals import explain, status_label
from handlers.types import ActionResult, Form, Input, Reply, SubmissionResult
from storage import ledger, reference
from storage.errors import AlreadyDecided, InsufficientCredits, NoAllocation
from storage.models import Quote

MAX_REASON = 1000


@dataclass(frozen=True)
class Subject:
    """A request being decided, whatever its kind."""

    reference: str
    startup_id: str
    submitted_by: str
    status: str
    card: Reply  # current state, no buttons


@dataclass(frozen=True)
class Flow:
    kind: str  # "quote" | "service_done"
    approve_action: str
    refuse_action: str
    load: Callable[[Context, str], Subject]
    approve: Callable[[Context, str], None]
    refuse: Callable[[Context, str, str], None]
    approved_word: str  # French past participle: "validé", "certifié"
    noun: str  # French: "le devis", "le service fait"


def _load_quote(ctx: Context, ref: str) -> Subject:
    q = ledger.get_quote(session=ctx.session, reference=ref)
    return Subject(q.reference, q.startup_id, q.submitted_by, q.status, quote_card(ctx, q, with_buttons=False))


def _load_service_done(ctx: Context, ref: str) -> Subject:
    row = ledger.get_service_done(session=ctx.session, reference=ref)
    quote = ctx.session.get(Quote, row.quote_id)
    assert quote is not None
    return Subject(row.reference, quote.startup_id, row.submitted_by, row.status,
                   service_done_card(ctx, row, quote, with_buttons=False))


def _approve_quote(ctx: Context, ref: str) -> None:
    ledger.validate_quote(session=ctx.session, reference=ref, actor_id=ctx.actor.id, platform=ctx.platform,
                          now=ctx.now(), year=ctx.year)


def _approve_service_done(ctx: Context, ref: str) -> None:
    ledger.certify_service_done(session=ctx.session, reference=ref, actor_id=ctx.actor.id,
                                platform=ctx.platform, now=ctx.now(), year=ctx.year)


def _refuse_quote(ctx: Context, ref: str, reason: str) -> None:
    ledger.refuse_quote(session=ctx.session, reference=ref, actor_id=ctx.actor.id, platform=ctx.platform,
                        reason=reason, now=ctx.now())


def _refuse_service_done(ctx: Context, ref: str, reason: str) -> None:
    ledger.refuse_service_done(session=ctx.session, reference=ref, actor_id=ctx.actor.id,
                               platform=ctx.platform, reason=reason, now=ctx.now())


QUOTE = Flow("quote", "quote.validate", "quote.refuse", _load_quote, _approve_quote, _refuse_quote,
             "validé", "le devis")
SERVICE_DONE = Flow("service_done", "service_done.certify", "service_done.refuse", _load_service_done,
                    _approve_service_done, _refuse_service_done, "certifié", "le service fait")
FLOWS = (QUOTE, SERVICE_DONE)


def flow_of(ref: str) -> Flow:
    return SERVICE_DONE if ref.strip().upper().startswith("SF-") else QUOTE


# --------------------------------------------------------------------------- steps


def _check_decider(ctx: Context, flow: Flow, subject: Subject) -> None:
    if can_decide(ctx.actor, subject.startup_id):
        return
    names = ", ".join(p.name for p in reference.intrapreneurs(session=ctx.session, startup_id=subject.startup_id))
    raise CommandError(
        ctx.t("Seul un intrapreneur de {startup} peut décider de {ref} ({names}). Rien n'a changé.",
              startup=startup_name(ctx, subject.startup_id), ref=subject.reference,
              names=names or ctx.t("aucun n'est enregistré"))
    )


def _already(ctx: Context, exc: AlreadyDecided) -> str:
    t = ctx.t
    return t("{ref} est déjà {status} (par {who}, le {when}) : rien n'a changé.", ref=exc.reference,
             status=status_label(t, exc.status), who=person_name(ctx, exc.decided_by),
             when=t.datetime(exc.decided_at) if exc.decided_at else "?")


def _after_decision(ctx: Context, flow: Flow, ref: str) -> tuple[str, Reply]:
    """Update every copy of the request in place and tell the submitter; the sentence said and the new card."""
    subject = flow.load(ctx, ref)
    notify.update_subject(ctx, subject.reference, occurrence=subject.status, reply=subject.card)
    t = ctx.t
    word = t("refusé") if subject.status == "refused" else t(flow.approved_word)
    sentence = t("{noun} {ref} a été {word} par {who}.", noun=t(flow.noun).capitalize(), ref=subject.reference,
                 word=word, who=ctx.actor.person.name)
    if subject.submitted_by != ctx.actor.id:
        decision = subject.card.text.partition("\n")[2]
        notify.to_person(ctx, subject.submitted_by, kind=f"{flow.kind}.decided", occurrence=subject.reference,
                         reply=Reply(f"{sentence}\n{decision}", facts=subject.card.facts))
    return sentence, subject.card


def approve(ctx: Context, flow: Flow, ref: str) -> ActionResult:
    subject = flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    try:
        with ctx.session.begin_nested():
            flow.approve(ctx, subject.reference)
    except AlreadyDecided as exc:
        return ActionResult(reply=Reply(_already(ctx, exc)), update=flow.load(ctx, ref).card)
    except (InsufficientCredits, NoAllocation) as exc:
        _alert_managers(ctx, flow, subject, exc)
        return ActionResult(reply=Reply(explain(ctx.t, exc)))
    sentence, card = _after_decision(ctx, flow, subject.reference)
    return ActionResult(reply=Reply(ctx.t("C'est fait : {text}", text=sentence)), update=card)


def _alert_managers(ctx: Context, flow: Flow, subject: Subject, exc: InsufficientCredits | NoAllocation) -> None:
    t = ctx.t
    text = t("🚨 **Crédits insuffisants** : {who} n'a pas pu décider de {ref} ({startup}).\n{why}\n"
             "Un ajustement de la dotation est nécessaire (convention, art. 5).",
             who=ctx.actor.person.name, ref=subject.reference, startup=startup_name(ctx, subject.startup_id),
             why=explain(t, exc))
    notify.to_managers(ctx, kind="alert.insufficient_credits",
                       occurrence=f"{subject.reference}@{ctx.now().isoformat()}",
                       reply=Reply(text, facts=subject.card.facts))


def reason_form(ctx: Context, flow: Flow, ref: str) -> Form:
    t = ctx.t
    return Form(
        callback=flow.refuse_action,
        title=t("Motif du refus"),
        submit_label=t("Refuser"),
        inputs=(Input("reason", t("Pourquoi refusez-vous {ref} ?", ref=ref), kind="textarea",
                      max_length=MAX_REASON, hint=t("Le motif est transmis à la personne qui a fait la demande.")),),
        value=ref,
    )


def ask_reason(ctx: Context, flow: Flow, ref: str) -> ActionResult:
    subject = flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    if subject.status != "pending":
        return ActionResult(reply=Reply(ctx.t("{ref} est déjà {status} : rien n'a changé.", ref=subject.reference,
                                              status=status_label(ctx.t, subject.status))),
                            update=subject.card)
    return ActionResult(form=reason_form(ctx, flow, subject.reference))


def refuse(ctx: Context, flow: Flow, ref: str, reason: str) -> SubmissionResult:
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": ctx.t("Le motif est obligatoire.")},
                          ctx.t("Indiquez le motif du refus : refuser {ref}; motif", ref=ref))
    if len(reason) > MAX_REASON:
        raise FieldErrors({"reason": ctx.t("{n} caractères au plus.", n=MAX_REASON)},
                          ctx.t("Le motif dépasse {n} caractères.", n=MAX_REASON))
    subject = flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    try:
        with ctx.session.begin_nested():
            flow.refuse(ctx, subject.reference, reason)
    except AlreadyDecided as exc:
        return SubmissionResult(reply=Reply(_already(ctx, exc)))
    sentence, card = _after_decision(ctx, flow, subject.reference)
    return SubmissionResult(reply=Reply(ctx.t("C'est fait : {text} Motif : {reason}", text=sentence,
                                              reason=user(reason))),
                            update=card)


# --------------------------------------------------------------------------- typed commands


def _as_reply(result: ActionResult | SubmissionResult) -> Reply:
    if isinstance(result, SubmissionResult) and result.errors:
        return Reply("\n".join(result.errors.values()))
    return result.reply or Reply("")


def cmd_approve(ctx: Context, args: str) -> Reply:
    ref = args.strip().split()[0] if args.strip() else ""
    if not ref:
        raise CommandError(ctx.t("Précisez la référence : valider D-2026-0001 ou certifier SF-2026-0001."))
    return _as_reply(approve(ctx, flow_of(ref), ref))


def cmd_refuse(ctx: Context, args: str) -> Reply:
    # "refuser D-2026-0001; motif", and also "refuser D-2026-0001 motif" (people forget the ";").
    ref, _, reason = args.partition(";") if ";" in args else args.strip().partition(" ")
    ref = ref.strip()
    if not ref:
        raise CommandError(ctx.t("Précisez la référence et le motif : refuser D-2026-0001; motif."))
    flow = flow_of(ref)
    flow.load(ctx, ref)
    return _as_reply(refuse(ctx, flow, ref, reason))


def register(registry: Registry) -> None:
    for flow in FLOWS:
        registry.actions[flow.approve_action] = partial(_approve_action, flow)
        registry.actions[flow.refuse_action] = partial(_refuse_action, flow)
        registry.forms[flow.refuse_action] = partial(_refuse_form, flow)


def _approve_action(flow: Flow, ctx: Context, ref: str) -> ActionResult:
    return approve(ctx, flow, ref)


def _refuse_action(flow: Flow, ctx: Context, ref: str) -> ActionResult:
    return ask_reason(ctx, flow, ref)


def _refuse_form(flow: Flow, ctx: Context, ref: str, values: Mapping[str, str]) -> SubmissionResult:
    return refuse(ctx, flow, ref, values.get("reason", ""))
