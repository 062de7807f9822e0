"""``comite``: the next investment committee, the countdown and what to prepare (art. 2)."""

from __future__ import annotations

from handlers.core import Command, Context, Registry
from handlers.i18n import N_
from handlers.types import Reply
from storage import reference

TO_PREPARE_FR = (
    N_("les indicateurs d'impact de la startup, et sa page /stats à jour"),
    N_("le bilan des six derniers mois : ce qui a été appris, livré, mesuré"),
    N_("le budget des six prochains mois (devis à venir, AE et CP nécessaires)"),
    N_("les décisions attendues du comité (poursuite, changement de phase, arrêt)"),
)


def to_prepare(ctx: Context) -> list[str]:
    return [ctx.t(item) for item in TO_PREPARE_FR]


def cmd_committee(ctx: Context, _args: str) -> Reply:
    t = ctx.t
    today = ctx.today()
    nxt = reference.next_committee(session=ctx.session, today=today)
    if nxt is None:
        last = reference.last_committee(session=ctx.session, today=today)
        text = t("Aucun comité d'investissement n'est planifié.")
        if last is not None:
            text += " " + t("Le dernier a eu lieu le {date}.", date=t.date(last.held_on))
        return Reply(text + " " + t("Un administrateur peut en ajouter dans le fichier de référence."))
    days = (nxt.held_on - today).days
    when = t("aujourd'hui") if days == 0 else t("demain") if days == 1 else t("dans {n} jours", n=days)
    lines = [t("**Prochain comité d'investissement : {date}** ({when}).", date=t.date(nxt.held_on), when=when),
             t("À préparer :")]
    lines += [f"• {item}" for item in to_prepare(ctx)]
    return Reply("\n".join(lines))


def register(registry: Registry) -> None:
    registry.command(Command("comite", ("comité", "committee", "comites"), cmd_committee, N_("comite"),
                             N_("prochain comité d'investissement et ce qu'il faut préparer")))
