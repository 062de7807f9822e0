"""``aide``: what the bot can do for this person, given their roles."""

from __future__ import annotations

from handlers.cards import startup_name
from handlers.core import Command, Context, Registry
from handlers.i18n import N_
from handlers.types import Reply

ROLE_FR = {"intrapreneur": N_("intrapreneur"), "coach": N_("coach")}


def cmd_help(ctx: Context, _args: str) -> Reply:
    t = ctx.t
    actor = ctx.actor
    roles = []
    if actor.is_manager:
        roles.append(t("gestionnaire"))
    if actor.is_admin:
        roles.append(t("administrateur"))
    for sid, rs in sorted(actor.roles.items()):
        for role in sorted(rs):
            roles.append(t("{role} de {startup}", role=t(ROLE_FR.get(role, role)), startup=startup_name(ctx, sid)))
    lines = [t("Bonjour {name} ! Je suis incubot, l'assistant budgétaire de l'incubateur.", name=actor.person.name)]
    if roles:
        lines.append(t("Vos rôles : {roles}.", roles=", ".join(roles)))
    else:
        lines.append(t("Vous n'avez pas encore de rôle : vous pouvez consulter le budget et les startups."))
    lines.append("")
    for cmd in ctx.registry.commands:
        if not cmd.allowed(actor) or not _useful(ctx, cmd.name):
            continue
        lines.append(t("• `{usage}` — {summary}", usage=t(cmd.usage), summary=t(cmd.summary)))
    if actor.intrapreneur_of:
        lines.append("")
        lines.append(t("Les demandes à valider vous arrivent en message direct, avec les boutons "
                       "**Valider** / **Refuser** (service fait : **Certifier** / **Refuser**)."))
    return Reply("\n".join(lines))


def _useful(ctx: Context, name: str) -> bool:
    actor = ctx.actor
    if name in ("devis", "service-fait"):
        return actor.is_manager or bool(actor.member_of)
    if name in ("valider", "refuser"):
        return bool(actor.intrapreneur_of)
    return True


def register(registry: Registry) -> None:
    registry.command(Command("aide", ("help", "?", "bonjour", "hello"), cmd_help, N_("aide"),
                             N_("ce que je peux faire pour vous"), reads_only=True))
