"""Preparing a committee: the coaches asked for their startups' inputs, the managers sent the file.

Planned by :mod:`handlers.reminders` like every reminder (each once, through the outbox):
14 days before a committee, each coach of each startup it reviews is asked by direct message for
the startup's inputs (a button opening the form of :mod:`handlers.committees`, or ``preparer
STARTUP``), unless they are given; 2 days before, the managers receive the committee file, one page
per startup reviewed (phase, money, decisions, inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from handlers.actions import ActionId
from handlers.committees import INDICATORS, decision_line
from handlers.core import Command, Context, Registry
from handlers.envelopes import project
from handlers.errors import CommandError
from handlers.i18n import N_, Translator
from handlers.startups import PHASE_FR
from handlers.types import Button, Reply
from storage import committees as store
from storage import ledger, reference
from storage.models import Committee, Startup

INPUTS_REQUEST = "reminder.inputs"
COMMITTEE_FILE = "reminder.file"
INPUTS_DAYS_BEFORE = 14
FILE_DAYS_BEFORE = 2


# --------------------------------------------------------------------------- the committee file


def committee_file(*, session, t: Translator, committee: Committee, today: date) -> str:  # type: ignore[no-untyped-def]
    """The committee file in Markdown: a title page, then one page per reviewed startup (phase, money,
    decisions, the coach's inputs). Pages are separated by a rule (``---``)."""
    convention = reference.current_convention(session=session)
    reviewed = store.reviewed_startups(session=session, committee=committee)
    given = store.inputs(session=session, committee_id=committee.id or 0)
    lines = [t("# Comité d'investissement du {date}", date=t.date(committee.held_on)), ""]
    if convention is not None:
        lines.append(t("Convention {ref} — {delegant} / {delegataire}.", ref=convention.reference,
                       delegant=convention.delegant, delegataire=convention.delegataire))
    if committee.president_id:
        president = reference.get_person(session=session, person_id=committee.president_id)
        lines.append(t("Présidé par {name}.", name=president.name if president else committee.president_id))
    lines.append(t("Startups examinées : {names}.", names=", ".join(s.name for s in reviewed) or "—"))
    lines.append(t("Données au {date}.", date=t.date(today)))
    usage = {u.startup_id: u for u in ledger.startup_usage(session=session, year=today.year,
                                                            startup_ids=[s.id for s in reviewed])} if reviewed else {}
    for s in reviewed:
        lines += ["", "---", "", f"## {s.name}", ""]
        phase = t(PHASE_FR.get(s.phase, s.phase))
        since = t(" depuis le {date}", date=t.date(s.phase_started)) if s.phase_started else ""
        lines.append(t("- **Phase** : {phase}{since}", phase=phase, since=since))
        team = {role: ", ".join(p.name for p in reference.members(session=session, startup_id=s.id, role=role)) or "—"
                for role in ("intrapreneur", "coach")}
        lines.append(t("- **Équipe** : intrapreneur(s) {intras} · coach(s) {coaches}", intras=team["intrapreneur"],
                       coaches=team["coach"]))
        lines += ["", t("### Argent"), ""]
        u = usage.get(s.id)
        if u is not None:
            lines.append(t("- {year} : AE engagées {committed} · CP consommés {consumed} · {n} devis en attente "
                           "({amount})", year=today.year, committed=t.money(u.committed_cents),
                           consumed=t.money(u.consumed_cents), n=u.pending_count, amount=t.money(u.pending_cents)))
        envelope = store.current_envelope(session=session, startup_id=s.id, on=today)
        if envelope is None:
            lines.append(t("- Pas d'enveloppe : aucune décision de comité n'est enregistrée."))
        else:
            p = project(session=session, envelope=envelope, today=today, tz=t.tz)
            lines.append(t("- Enveloppe {amount} jusqu'au {until} : réservé {reserved} · engagé {engaged} · payé "
                           "{paid} · reste {left}", amount=t.money(envelope.amount_cents),
                           until=t.date(envelope.ends_on), reserved=t.money(p.use.reserved_cents),
                           engaged=t.money(p.use.engaged_cents), paid=t.money(p.use.paid_cents),
                           left=t.money(p.use.left_cents)))
            runs_out = t.date(p.runs_out_on) if p.runs_out_on else "—"
            lines.append(t("- Rythme des trois derniers mois : {burn} par mois · épuisement prévu : {date}",
                           burn=t.money(p.burn_per_month_cents), date=runs_out))
        lines += ["", t("### Décisions"), ""]
        past = store.decisions(session=session, startup_ids=[s.id], limit=5)
        lines += [f"- {decision_line(t, d)}" + (f" — {d.note}" if d.note else "") for d in past] or \
            [t("- Aucune décision enregistrée.")]
        lines += ["", t("### Éléments du coach"), ""]
        row = given.get(s.id)
        if row is None:
            lines.append(t("- Les éléments n'ont pas encore été transmis."))
        else:
            lines += [f"- **{t(label)}** : {getattr(row, name)}" for name, label in INDICATORS]
            lines.append(t("- **Page /stats** : {url}", url=row.stats_url))
            lines.append(t("- **Objectifs des six prochains mois** : {text}", text=row.objectives))
            lines.append(t("- **Budget demandé** : {amount}", amount=t.money(row.budget_requested_cents)))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- planned by handlers.reminders


def planned(*, session, t: Translator, now: datetime, today: date,  # type: ignore[no-untyped-def]
            moment: Callable[[date], datetime]):
    """``(kind, target, occurrence, due_at, build)`` of what preparing a committee sends: 14 days before, to
    each coach of each reviewed startup, the request for its inputs (with the button of the form; not when
    they are given); 2 days before, the committee file to the managers. Each until the committee's day."""
    for committee in reference.committees(session=session, after=today):
        ask_at = moment(committee.held_on - timedelta(days=INPUTS_DAYS_BEFORE))
        if ask_at <= now:
            given = store.inputs(session=session, committee_id=committee.id or 0)
            for s in store.reviewed_startups(session=session, committee=committee):
                if s.id in given:
                    continue
                for coach in reference.members(session=session, startup_id=s.id, role="coach"):
                    def ask(s: Startup = s, committee: Committee = committee) -> Reply:
                        return _inputs_request(t, committee, s, today)

                    yield INPUTS_REQUEST, f"person:{coach.id}", f"{committee.held_on.isoformat()}:{s.id}", ask_at, ask
        file_at = moment(committee.held_on - timedelta(days=FILE_DAYS_BEFORE))
        if file_at <= now:
            def send_file(committee: Committee = committee) -> Reply:
                text = committee_file(session=session, t=t, committee=committee, today=today)
                return Reply(t("📁 **Dossier du comité du {date}** : une page par startup examinée.",
                               date=t.date(committee.held_on)) + "\n\n" + text)

            yield COMMITTEE_FILE, "managers", committee.held_on.isoformat(), file_at, send_file


def _inputs_request(t: Translator, committee: Committee, startup: Startup, today: date) -> Reply:
    left = (committee.held_on - today).days
    text = "\n".join([
        t.plural("📝 **Préparation du comité du {date}** (dans {n} jour) : {startup} y passe.",
                 "📝 **Préparation du comité du {date}** (dans {n} jours) : {startup} y passe.", left,
                 date=t.date(committee.held_on), startup=startup.name),
        t("Merci de transmettre ses éléments : indicateurs (utilisable, utilisé, utile, impactant), lien vers sa "
          "page /stats, objectifs des six prochains mois, budget demandé."),
        t("Bouton **Renseigner**, ou tapez **preparer {id}**.", id=startup.id),
    ])
    return Reply(text, buttons=(Button(t("Renseigner"), ActionId.COMMITTEE_INPUTS,
                                       f"{committee.held_on.isoformat()}:{startup.id}", "primary"),))


# --------------------------------------------------------------------------- comite dossier


def cmd_committee_file(ctx: Context, _args: str) -> Reply:
    """``comite dossier`` (managers): the file of the next committee as it stands today."""
    t = ctx.t
    committee = reference.next_committee(session=ctx.session, today=ctx.today())
    if committee is None:
        raise CommandError(t("Aucun comité d'investissement n'est planifié."))
    return Reply(committee_file(session=ctx.session, t=t, committee=committee, today=ctx.today()))


def register(registry: Registry) -> None:
    registry.command(Command("comite-dossier", ("dossier", "committee-file"), cmd_committee_file,
                             N_("comite dossier"),
                             N_("le dossier du prochain comité, une page par startup (gestionnaires)"),
                             allowed=lambda actor: actor.is_manager))
