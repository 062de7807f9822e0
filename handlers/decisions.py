"""The decision flow, written once for quotes and for service done.

An intrapreneur of the startup clicks **Valider**/**Certifier** or **Refuser**
(or types ``valider REF``, ``refuser REF; motif``). Approving runs the guarded
ledger transaction; refusing asks for a reason first. Then every copy of the
request is updated in place and the submitter gets a direct message. A refusal
for lack of credits alerts the managers at once (convention, art. 5).

A decision reads the request with everything its card shows in one SELECT
(:func:`storage.ledger.load_quote`); the new card and the submitter's message are built
once the ledger has put the decision in the loaded rows, and enqueued with one INSERT
before the ledger moves the year's counter (``then``), so the allocation row stays locked
for one statement and the commit. 10 statements for a validation on PostgreSQL, 11 on SQLite
(BEGIN IMMEDIATE) — tests/test_decision_cost.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from handlers import attachments, notify
from handlers.actions import ActionId
from handlers.cards import (
    decision_line,
    order_card,
    order_subject,
    person_name,
    quote_card,
    service_done_card,
    startup_name,
)
from handlers.core import Context, Registry
from handlers.errors import CommandError, FieldErrors
from handlers.i18n import N_
from handlers.markup import user
from handlers.permissions import can_decide
from handlers.pv import pv_attached_line, pv_line
from handlers.refusals import explain, status_label
from handlers.types import Form, Input, Reply
from storage import ledger, reference
from storage.errors import AlreadyDecided, InsufficientCredits, NoAllocation
from storage.models import QuoteStatus, ServiceDone, ServiceDoneStatus

MAX_REASON = 1000


Subject = ledger.Subject
Then = Callable[[], None]


@dataclass(frozen=True)
class Flow:
    kind: str  # "quote" | "service_done"
    approve_action: ActionId
    refuse_action: ActionId
    load: Callable[[Context, str], Subject]
    card: Callable[[Context, Subject], Reply]  # current state, no buttons
    approve: Callable[[Context, Subject, Then], None]
    refuse: Callable[[Context, Subject, str, Then], None]
    approved_word: str  # French past participle: "validé", "certifié"
    noun: str  # French: "le devis", "le service fait"


def _load_quote(ctx: Context, ref: str) -> Subject:
    return ledger.load_quote(session=ctx.session, reference=ref, year=ctx.year)


def _load_service_done(ctx: Context, ref: str) -> Subject:
    return ledger.load_service_done(session=ctx.session, reference=ref, year=ctx.year)


def _quote_card(ctx: Context, subject: Subject) -> Reply:
    return quote_card(ctx, subject.quote, with_buttons=False)


def _service_done_card(ctx: Context, subject: Subject) -> Reply:
    assert isinstance(subject.row, ServiceDone)
    return service_done_card(ctx, subject.row, subject.quote, with_buttons=False)


def _approve_quote(ctx: Context, subject: Subject, then: Then) -> None:
    ledger.validate_quote(session=ctx.session, reference=subject.reference, actor_id=ctx.actor.id,
                          platform=ctx.platform, now=ctx.now(), year=ctx.year, subject=subject, then=then)


def _approve_service_done(ctx: Context, subject: Subject, then: Then) -> None:
    ledger.certify_service_done(session=ctx.session, reference=subject.reference, actor_id=ctx.actor.id,
                                platform=ctx.platform, now=ctx.now(), year=ctx.year, subject=subject, then=then)


def _refuse_quote(ctx: Context, subject: Subject, reason: str, then: Then) -> None:
    ledger.refuse_quote(session=ctx.session, reference=subject.reference, actor_id=ctx.actor.id,
                        platform=ctx.platform, reason=reason, now=ctx.now(), subject=subject, then=then)


def _refuse_service_done(ctx: Context, subject: Subject, reason: str, then: Then) -> None:
    ledger.refuse_service_done(session=ctx.session, reference=subject.reference, actor_id=ctx.actor.id,
                               platform=ctx.platform, reason=reason, now=ctx.now(), subject=subject, then=then)


QUOTE = Flow("quote", ActionId.QUOTE_VALIDATE, ActionId.QUOTE_REFUSE, _load_quote, _quote_card, _approve_quote,
             _refuse_quote, N_("validé"), N_("le devis"))
SERVICE_DONE = Flow("service_done", ActionId.SERVICE_DONE_CERTIFY, ActionId.SERVICE_DONE_REFUSE, _load_service_done,
                    _service_done_card, _approve_service_done, _refuse_service_done, N_("certifié"),
                    N_("le service fait"))
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


class _Announcement:
    """What a decision says, built once the request shows its decision and before the ledger
    moves a counter: the new card, put in place of every copy, and the submitter's message —
    both enqueued in the decision's transaction, with one INSERT."""

    def __init__(self, ctx: Context, flow: Flow, subject: Subject) -> None:
        self.ctx, self.flow, self.subject = ctx, flow, subject
        self.sentence = ""
        self.card = Reply("")

    def __call__(self) -> None:
        ctx, flow, subject, t = self.ctx, self.flow, self.subject, self.ctx.t
        self.card = flow.card(ctx, subject)
        word = t("refusé") if subject.status in (QuoteStatus.REFUSED, ServiceDoneStatus.REFUSED) \
            else t(flow.approved_word)
        self.sentence = t("{noun} {ref} a été {word} par {who}.", noun=t(flow.noun).capitalize(),
                          ref=subject.reference, word=word, who=ctx.actor.person.name)
        certified = flow.kind == "service_done" and subject.status not in (ServiceDoneStatus.PENDING,
                                                                           ServiceDoneStatus.REFUSED)
        told = self.sentence
        if certified:
            self.sentence += "\n" + pv_line(t, subject.reference)
        with notify.together(ctx):
            notify.update_subject(ctx, subject.reference, occurrence=subject.status, reply=self.card)
            if subject.status == QuoteStatus.VALIDATED and flow.kind == "quote":
                # The managers place the order: the validated quote in their channel, with Passer commande.
                notify.to_managers(ctx, kind="order.to_place", occurrence=subject.reference,
                                   reply=order_card(ctx, subject.quote), subject=order_subject(subject.reference))
            # The submitter has the PV signed by the délégataire: it comes with their message (made
            # when the message goes out, handlers/attachments.py), even when they certified it themselves.
            pv = (attachments.pv(subject.reference),) if certified else ()
            pv_text = "\n" + pv_attached_line(t, subject.reference) if certified else ""
            if subject.submitted_by != ctx.actor.id:
                decision = decision_line(ctx, subject.row)
                notify.to_person(ctx, subject.submitted_by, kind=f"{flow.kind}.decided",
                                 occurrence=subject.reference,
                                 reply=Reply(f"{told}\n{decision}{pv_text}", facts=self.card.facts, files=pv))
            elif certified:
                notify.to_person(ctx, subject.submitted_by, kind="service_done.pv", occurrence=subject.reference,
                                 reply=Reply(pv_text.strip(), files=pv))


def approve(ctx: Context, flow: Flow, ref: str) -> Reply:
    """Approve ``ref``; what the decider is told (every copy of the request is updated by the outbox)."""
    subject = flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    announcement = _Announcement(ctx, flow, subject)
    try:
        flow.approve(ctx, subject, announcement)
    except AlreadyDecided as exc:
        return Reply(_already(ctx, exc))
    except (InsufficientCredits, NoAllocation) as exc:
        alert_managers(ctx, subject, exc, card=flow.card(ctx, subject))
        return Reply(explain(ctx.t, exc))
    return Reply(ctx.t("C'est fait : {text}", text=announcement.sentence))


def alert_managers(ctx: Context, subject: Subject, exc: InsufficientCredits | NoAllocation, *, card: Reply,
                   step: str = "") -> None:
    """Credits short for a step on ``subject`` (a decision, an order, a payment): the managers and the
    délégant are told at once, once a day per year and kind of credits (``card``: its facts; ``step``:
    what could not be done, « enregistrer le paiement de SF-2026-0001 », by default its decision)."""
    t = ctx.t
    step = step or t("décider de {ref}", ref=subject.reference)
    text = t("🚨 **Crédits insuffisants** : {who} n'a pas pu {step} ({startup}).\n{why}\n"
             "Un ajustement de la dotation est nécessaire (convention, art. 5).",
             who=ctx.actor.person.name, step=step, startup=startup_name(ctx, subject.startup_id),
             why=explain(t, exc))
    # Sans délai (art. 5) the first refusal of the day for this year and kind of credits; the next
    # ones that day are counted, not posted again, and their number goes out at the end of the day.
    credits = exc.kind.upper() if isinstance(exc, InsufficientCredits) else "—"
    today = ctx.services.now().date()
    end_of_day = datetime.combine(today + timedelta(days=1), time(0), ctx.services.tz)
    summary = t("🚨 **Crédits insuffisants** ({credits} {year}) : {count} décisions refusées faute de crédits "
                "le {day}. Un ajustement de la dotation est nécessaire (convention, art. 5).",
                credits=credits, year=exc.year, count="{count}", day=t.date(today))
    notify.alert_managers_grouped(ctx, kind="alert.insufficient_credits",
                                  occurrence=f"{credits}:{exc.year}@{today.isoformat()}",
                                  reply=Reply(text, facts=card.facts), summary=Reply(summary),
                                  summary_due=end_of_day)


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


def ask_reason(ctx: Context, flow: Flow, ref: str) -> Reply:
    subject = flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    if subject.status not in (QuoteStatus.PENDING, ServiceDoneStatus.PENDING):
        return Reply(ctx.t("{ref} est déjà {status} : rien n'a changé.", ref=subject.reference,
                           status=status_label(ctx.t, subject.status)))
    return Reply("", form=reason_form(ctx, flow, subject.reference))


def refuse(ctx: Context, flow: Flow, ref: str, reason: str, subject: Subject | None = None) -> Reply:
    """Refuse ``ref`` with ``reason``; ``subject``: the request if already loaded."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": ctx.t("Le motif est obligatoire.")},
                          ctx.t("Indiquez le motif du refus : refuser {ref}; motif", ref=ref))
    if len(reason) > MAX_REASON:
        raise FieldErrors({"reason": ctx.t("{n} caractères au plus.", n=MAX_REASON)},
                          ctx.t("Le motif dépasse {n} caractères.", n=MAX_REASON))
    subject = subject or flow.load(ctx, ref)
    _check_decider(ctx, flow, subject)
    announcement = _Announcement(ctx, flow, subject)
    try:
        flow.refuse(ctx, subject, reason, announcement)
    except AlreadyDecided as exc:
        return Reply(_already(ctx, exc))
    return Reply(ctx.t("C'est fait : {text} Motif : {reason}", text=announcement.sentence, reason=user(reason)))


# --------------------------------------------------------------------------- typed commands


def cmd_approve(ctx: Context, args: str) -> Reply:
    ref = args.strip().split()[0] if args.strip() else ""
    if not ref:
        raise CommandError(ctx.t("Précisez la référence : valider D-2026-0001 ou certifier SF-2026-0001."))
    return approve(ctx, flow_of(ref), ref)


def cmd_refuse(ctx: Context, args: str) -> Reply:
    # "refuser D-2026-0001; motif", and also "refuser D-2026-0001 motif" (people forget the ";").
    ref, _, reason = args.partition(";") if ";" in args else args.strip().partition(" ")
    ref = ref.strip()
    if not ref:
        raise CommandError(ctx.t("Précisez la référence et le motif : refuser D-2026-0001; motif."))
    flow = flow_of(ref)
    subject = flow.load(ctx, ref)
    return refuse(ctx, flow, ref, reason, subject)


def register(registry: Registry) -> None:
    for flow in FLOWS:
        registry.actions[flow.approve_action] = partial(_approve_action, flow)
        registry.actions[flow.refuse_action] = partial(_refuse_action, flow)
        registry.forms[flow.refuse_action] = partial(_refuse_form, flow)


def _approve_action(flow: Flow, ctx: Context, ref: str) -> Reply:
    return approve(ctx, flow, ref)


def _refuse_action(flow: Flow, ctx: Context, ref: str) -> Reply:
    return ask_reason(ctx, flow, ref)


def _refuse_form(flow: Flow, ctx: Context, ref: str, values: Mapping[str, str]) -> Reply:
    return refuse(ctx, flow, ref, values.get("reason", ""))
