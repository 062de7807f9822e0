"""``suspendre MOTIF`` and ``reprendre``: the managers suspend the execution of the delegation (art. 5).

Credits insufficient and no adjusted allocation: « le délégataire suspend l'exécution de la
délégation ». While suspended, validations and orders are refused with the reason
(:func:`storage.rules.check_orders_open`); certifications and payments of services done go on.
Each change is audited on the convention, posted to the managers and sent to the délégant's
managers by direct message.
"""

from __future__ import annotations

from handlers import notify
from handlers.core import Command, Context, Registry
from handlers.errors import CommandError
from handlers.i18n import N_
from handlers.markup import user
from handlers.permissions import can_suspend
from handlers.types import Reply
from storage import convention, reference

MAX_REASON = 1000


def cmd_suspend(ctx: Context, args: str) -> Reply:
    t = ctx.t
    reason = args.strip().lstrip(";").strip()
    if not reason:
        raise CommandError(t("Précisez le motif : suspendre Crédits 2026 épuisés, avenant attendu. Rien n'a changé."))
    if len(reason) > MAX_REASON:
        raise CommandError(t("Le motif dépasse {n} caractères : rien n'a changé.", n=MAX_REASON))
    now = ctx.now()
    suspended = convention.suspend(session=ctx.session, actor_id=ctx.actor.id, platform=ctx.platform, reason=reason,
                                   now=now)
    text = t("⏸️ **Exécution de la convention {ref} suspendue** par {who} le {when} (art. 5) — motif : {reason}.\n"
             "Les validations de devis et les commandes sont refusées jusqu'à la reprise (**reprendre**) ; les "
             "certifications et les paiements des services faits continuent.", ref=suspended.reference,
             who=ctx.actor.person.name, when=t.datetime(now), reason=user(reason))
    occurrence = now.isoformat()
    notify.to_managers(ctx, kind="convention.suspended", occurrence=occurrence, reply=Reply(text))
    told = notify.to_delegant(ctx, kind="convention.suspended", occurrence=occurrence, reply=Reply(text),
                              subject=convention.subject_of(suspended))
    return Reply(t("C'est fait : {text}", text=text) + _told(ctx, told))


def cmd_resume(ctx: Context, args: str) -> Reply:
    t = ctx.t
    now = ctx.now()
    resumed = convention.resume(session=ctx.session, actor_id=ctx.actor.id, platform=ctx.platform, now=now)
    text = t("▶️ **Exécution de la convention {ref} reprise** par {who} le {when}, après la suspension du {since} "
             "(motif : {reason}). Les devis peuvent de nouveau être validés et commandés.",
             ref=resumed.convention.reference, who=ctx.actor.person.name, when=t.datetime(now),
             since=t.datetime(resumed.since), reason=user(resumed.reason))
    occurrence = now.isoformat()
    notify.to_managers(ctx, kind="convention.resumed", occurrence=occurrence, reply=Reply(text))
    told = notify.to_delegant(ctx, kind="convention.resumed", occurrence=occurrence, reply=Reply(text),
                              subject=convention.subject_of(resumed.convention))
    return Reply(t("C'est fait : {text}", text=text) + _told(ctx, told))


def _told(ctx: Context, told: list[str]) -> str:
    if not told:
        return ""
    names = ", ".join(p.name for p in reference.people(session=ctx.session, ids=told))
    return "\n" + ctx.t("Délégant prévenu par message direct : {names}.", names=names)


def register(registry: Registry) -> None:
    registry.command(Command("suspendre", ("suspend",), cmd_suspend, N_("suspendre MOTIF"),
                             N_("suspendre l'exécution de la convention (art. 5) : plus de validation ni de commande"),
                             allowed=can_suspend))
    registry.command(Command("reprendre", ("resume",), cmd_resume, N_("reprendre"),
                             N_("lever la suspension de la convention"), allowed=can_suspend))
