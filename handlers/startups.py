"""``startups``: each startup with its phase, people and budget used this year.

Names, phases and teams are shown to everyone the bot knows (they are public, like /stats);
a startup's money only to its team and the managers, as ``budget STARTUP``
(:func:`handlers.permissions.can_see_startup`). A stranger is stopped before, by the Bot.
"""

from __future__ import annotations

from handlers.committees import decision_line
from handlers.core import Command, Context, Registry
from handlers.i18n import N_
from handlers.permissions import can_see_startup
from handlers.types import Reply
from storage import committees, ledger, reference
from storage.models import StartupRole

PHASE_FR = {
    "investigation": N_("investigation"),
    "construction": N_("construction"),
    "acceleration": N_("accélération"),
    "consolidation": N_("consolidation"),
}


def cmd_startups(ctx: Context, _args: str) -> Reply:
    t = ctx.t
    year = ctx.year
    items = reference.startups(session=ctx.session)
    if not items:
        return Reply(t("Aucune startup n'est enregistrée."))
    visible = [s.id for s in items if can_see_startup(ctx.actor, s.id)]
    usage = ({u.startup_id: u for u in ledger.startup_usage(session=ctx.session, year=year, startup_ids=visible)}
             if visible else {})
    decided = committees.latest_decisions(session=ctx.session) if visible else {}
    lines = [t("**Startups de l'incubateur** ({n}) — budget {year}", n=len(items), year=year)]
    for s in items:
        phase = t(PHASE_FR.get(s.phase, s.phase))
        since = t(" depuis le {date}", date=t.date(s.phase_started)) if s.phase_started else ""
        intras = ", ".join(p.name for p in reference.members(session=ctx.session, startup_id=s.id,
                                                             role=StartupRole.INTRAPRENEUR.value)) or "—"
        coaches = ", ".join(p.name for p in reference.members(session=ctx.session, startup_id=s.id,
                                                              role=StartupRole.COACH.value)) or "—"
        u = usage.get(s.id)
        lines.append(t("• **{name}** (`{id}`) — {phase}{since}", name=s.name, id=s.id, phase=phase, since=since))
        lines.append(t("   intrapreneur(s) : {intras} · coach(s) : {coaches}", intras=intras, coaches=coaches))
        if u is not None:
            lines.append(t("   AE réservées {reserved} · engagées {engaged} · CP à payer {to_pay} · "
                           "consommés {consumed}",
                           reserved=t.money(u.reserved_cents), engaged=t.money(u.engaged_cents),
                           to_pay=t.money(u.to_pay_cents), consumed=t.money(u.consumed_cents)))
        if s.id in visible and (d := decided.get(s.id)) is not None:
            lines.append(t("   dernière décision : {line}", line=decision_line(t, d)))
    if len(visible) < len(items):
        lines.append(t("Les montants de chaque startup sont réservés à son équipe et aux gestionnaires."))
    return Reply("\n".join(lines))


def register(registry: Registry) -> None:
    registry.command(Command("startups", ("startup", "equipes"), cmd_startups, N_("startups"),
                             N_("les startups, leur phase, leurs équipes et leur budget"), reads_only=True))
