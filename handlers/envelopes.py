"""A startup's envelope as people meet it: in ``budget STARTUP``, at a quote's submission, in a refusal.

The envelope itself (and the guard that refuses a validation beyond it) is in
:mod:`storage.committees`. Here: what it shows (amount, reserved, engaged, paid, left, the burn
rate of the last three months and the projected run-out date), the refusal of a new quote after
an ``arret``, and the warning when a submitted quote exceeds what the envelope has left.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from handlers.core import Context
from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.types import Reply
from storage import committees as store
from storage import reference
from storage.models import Envelope, Quote, Startup

BURN_MONTHS = 3


def months_before(day: date, months: int) -> date:
    """``day`` moved back by ``months``, clamped to the month's last day (30 November → 31 August… 30)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Projection:
    """An envelope's figures on ``today``, with its burn rate and projected run-out."""

    use: store.EnvelopeUse
    burn_per_month_cents: int  # reserved over the last three months, divided by three
    runs_out_on: date | None  # None: nothing reserved lately, no run-out in sight

    @property
    def envelope(self) -> Envelope:
        return self.use.envelope


def project(*, session, envelope: Envelope, today: date, tz) -> Projection:  # type: ignore[no-untyped-def]
    """What the envelope has left and when it runs out at the pace of the last three months."""
    use = store.envelope_use(session=session, envelope=envelope)
    since_day = months_before(today, BURN_MONTHS)
    since = datetime.combine(since_day, time(0), tzinfo=tz)
    burned = store.reserved_since(session=session, startup_id=envelope.startup_id, since=since)
    days = max((today - since_day).days, 1)
    runs_out = None
    if burned > 0:
        runs_out = today + timedelta(days=use.left_cents * days // burned)
    return Projection(use, burned // BURN_MONTHS, runs_out)


def envelope_lines(ctx: Context, startup: Startup) -> list[str]:
    """The envelope part of ``budget STARTUP`` (or why there is none)."""
    t = ctx.t
    today = ctx.today()
    envelope = store.current_envelope(session=ctx.session, startup_id=startup.id, on=today)
    if envelope is None:
        return [t("Pas d'enveloppe : aucune décision de comité n'est enregistrée pour {startup} ; ses validations "
                  "ne sont limitées que par les AE de l'année.", startup=startup.name)]
    p = project(session=ctx.session, envelope=envelope, today=today, tz=t.tz)
    u = p.use
    lines = [t("**Enveloppe** (comité du {held_on}, jusqu'au {until}) : {amount}", held_on=t.date(u.held_on),
               until=t.date(envelope.ends_on), amount=t.money(envelope.amount_cents))]
    if envelope.ends_on < today:
        lines.append(t("⚠️ Cette enveloppe a pris fin le {date} : une décision du comité est nécessaire pour "
                       "valider de nouveaux devis.", date=t.date(envelope.ends_on)))
    lines.append(t("réservé {reserved} ({pct}) · engagé {engaged} · payé {paid} · reste {left}",
                   reserved=t.money(u.reserved_cents), pct=t.percent(u.reserved_cents, envelope.amount_cents),
                   engaged=t.money(u.engaged_cents), paid=t.money(u.paid_cents), left=t.money(u.left_cents)))
    lines.append(t("Rythme des trois derniers mois : {burn} par mois.", burn=t.money(p.burn_per_month_cents)))
    if p.runs_out_on is None:
        lines.append(t("Aucune validation ces trois derniers mois : pas d'épuisement prévisible."))
    elif p.runs_out_on <= envelope.ends_on:
        lines.append(t("À ce rythme, l'enveloppe sera épuisée vers le {date}.", date=t.date(p.runs_out_on)))
    else:
        lines.append(t("À ce rythme, l'enveloppe tient jusqu'à la fin de sa période ({date}).",
                       date=t.date(envelope.ends_on)))
    return lines


def refuse_if_stopped(ctx: Context, startup: Startup) -> None:
    """After an ``arret`` decision a startup gets no new quote: say so, with the decision."""
    stopped = store.is_stopped(session=ctx.session, startup_id=startup.id, on=ctx.today())
    if stopped is not None:
        t = ctx.t
        raise CommandError(t("Le comité du {held_on} a décidé l'arrêt de {startup} : elle ne reçoit plus de nouveau "
                             "devis. Rien n'a été enregistré.", held_on=t.date(stopped.committee_held_on),
                             startup=startup.name))


def submission_warning(ctx: Context, quote: Quote) -> str | None:
    """The warning of a submitted quote larger than what its startup's envelope has left (never a refusal)."""
    envelope = store.current_envelope(session=ctx.session, startup_id=quote.startup_id, on=ctx.today())
    if envelope is None or envelope.ends_on < ctx.today():
        return None
    left = envelope.amount_cents - envelope.reserved_cents
    if quote.amount_cents <= left:
        return None
    t = ctx.t
    return t("⚠️ Ce montant dépasse ce qui reste de l'enveloppe de la startup ({left} sur {amount}, jusqu'au "
             "{until}) : sa validation sera refusée sans nouvelle décision du comité.", left=t.money(left),
             amount=t.money(envelope.amount_cents), until=t.date(envelope.ends_on))


# --------------------------------------------------------------------------- alerts (planned by handlers.reminders)

ENVELOPE_ALERT = "reminder.envelope"
ALERT_RESERVED_PERCENT = 80
ALERT_DAYS_BEFORE_RUN_OUT = 45


def planned_alerts(*, session, t: Translator, now: datetime, today: date):  # type: ignore[no-untyped-def]
    """``(kind, target, occurrence, due_at, build)`` of each envelope alert due: at 80 % reserved, or 45 days
    before the projected run-out, to the startup's coaches and the managers — each once per envelope
    (the occurrence names the envelope and the cause; the outbox's unique key does the rest)."""
    for envelope in store.envelopes_in_force(session=session, on=today):
        if envelope.amount_cents <= 0:
            continue
        p = project(session=session, envelope=envelope, today=today, tz=t.tz)
        causes = []
        if p.use.reserved_cents * 100 >= ALERT_RESERVED_PERCENT * envelope.amount_cents:
            causes.append("80")
        if p.runs_out_on is not None and p.runs_out_on <= envelope.ends_on and \
                (p.runs_out_on - today).days <= ALERT_DAYS_BEFORE_RUN_OUT:
            causes.append("run-out")
        if not causes:
            continue
        startup = reference.get_startup(session=session, startup_id=envelope.startup_id)
        name = startup.name if startup else envelope.startup_id
        coaches = reference.members(session=session, startup_id=envelope.startup_id, role="coach")
        targets = [f"person:{c.id}" for c in coaches] + ["managers"]
        for cause in causes:
            occurrence = f"{envelope.id}:{cause}"

            def build(cause: str = cause, p: Projection = p, name: str = name) -> Reply:
                return _alert_reply(t, p, name, cause)

            for target in targets:
                yield ENVELOPE_ALERT, target, occurrence, now, build


def _alert_reply(t: Translator, p: Projection, name: str, cause: str) -> Reply:
    env, u = p.envelope, p.use
    if cause == "80":
        head = t("💶 **Enveloppe de {startup} réservée à {pct}** : {reserved} sur {amount} (comité du {held_on}, "
                 "jusqu'au {until}).", startup=name, pct=t.percent(u.reserved_cents, env.amount_cents),
                 reserved=t.money(u.reserved_cents), amount=t.money(env.amount_cents), held_on=t.date(u.held_on),
                 until=t.date(env.ends_on))
    else:
        assert p.runs_out_on is not None
        head = t("💶 **L'enveloppe de {startup} sera épuisée vers le {date}** au rythme des trois derniers mois "
                 "({burn} par mois ; reste {left}).", startup=name, date=t.date(p.runs_out_on),
                 burn=t.money(p.burn_per_month_cents), left=t.money(u.left_cents))
    return Reply(head + "\n" + t("Planifiez son passage en comité d'investissement. Tapez **budget {startup}** pour "
                                 "le détail.", startup=env.startup_id))
