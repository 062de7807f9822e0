"""What the scheduler must send, and when (SPEC, "Reminders"). Planning only.

Given ``now`` and the database, :func:`due` lists the reminders whose time has
come and that are not in the outbox yet; :func:`enqueue_due` puts them there
(the unique key ``(kind, target, occurrence)`` makes two sweepers safe) and the
courier (``bot.delivery``) sends them. Nothing here knows a platform.

Kinds (all at 09:00 in the configured time zone unless said otherwise):

* ``reminder.committee`` — to every coach and intrapreneur, 30, 7 and 1 days
  before each investment committee, with what to prepare;
* ``reminder.monthly_report`` — the previous month's report, to the managers, on
  the first working day of the month (French public holidays excluded);
* ``reminder.digest`` — each working day, to each intrapreneur, the requests
  waiting for them for more than 2 working days;
* ``reminder.budget.ae`` / ``reminder.budget.cp`` — to the managers as soon as the
  year's AE commitments or CP consumption cross 80, 90 and 100 % (at the next
  sweep, not at 09:00: an alert that waits is no alert);
* ``reminder.projection`` — from October, on the first working day of each month,
  when the year's pace leaves AE or CP unspent (art. 5);
* ``reminder.convention`` — the convention's notice (end − notice months − 1 week)
  and its end (end − 30 days), to the managers; after a termination recorded
  (``incubot convention end``), its end only, at the termination's last day;
* ``reminder.final_report`` — the convention's final report (the bilan at its last day, its PDF attached),
  on the first working day after that day, to the managers and by direct message to each manager of the délégant
  (art. 5: « rendre compte … au terme de la convention »), once; the same figures however late it goes;
* ``reminder.inputs`` — 14 days before a committee, to each coach of each startup it
  reviews, the request for the startup's inputs (with the form's button), unless given;
* ``reminder.file`` — 2 days before, the committee file to the managers;
* ``reminder.envelope`` — at 80 % of a startup's envelope reserved, or 45 days before its
  projected run-out, to its coaches and the managers (at the next sweep), once per envelope.
* ``reminder.fin_de_gestion`` — three weeks and one week before each year's
  ``orders_until`` (last validations and orders) and ``payments_until`` (last
  payments), to the managers and every coach.

The art. 5 alert of unspent credits (``reminder.projection``) also goes to each manager of the
délégant by direct message, and its audit row says who was told, when.

Catch-up rule: for each kind and target (and each committee) only the *latest*
occurrence whose time has come is considered, and only until it expires (the end
of its day for a digest, of its month for a report, the committee day for a
committee reminder). After an outage one report goes out, not three; the nearest
committee reminder, not J-30 then J-7. An occurrence already in the outbox is never
enqueued again, and an older one is never dug up instead.
"""

from __future__ import annotations

import calendar
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from handlers import attachments, envelopes, preparation
from handlers.committees import TO_PREPARE_FR
from handlers.final_report import final_reply, final_report
from handlers.i18n import Translator
from handlers.reports import monthly_report, previous_month, report_reply
from handlers.types import Reply
from storage import convention, ledger, outbox, reference, reports, rules
from storage.models import Convention, OutboxStatus, StartupRole

KIND_PREFIX = "reminder."
COMMITTEE = "reminder.committee"
MONTHLY_REPORT = "reminder.monthly_report"
DIGEST = "reminder.digest"
BUDGET_AE = "reminder.budget.ae"
BUDGET_CP = "reminder.budget.cp"
PROJECTION = "reminder.projection"
CONVENTION = "reminder.convention"
FINAL_REPORT = "reminder.final_report"
FIN_DE_GESTION = "reminder.fin_de_gestion"
KINDS = (COMMITTEE, MONTHLY_REPORT, DIGEST, BUDGET_AE, BUDGET_CP, PROJECTION, CONVENTION, FINAL_REPORT,
         FIN_DE_GESTION)

REMINDER_TIME = time(9, 0)
COMMITTEE_DAYS_BEFORE = (30, 7, 1)
THRESHOLDS = (80, 90, 100)
DIGEST_AFTER_WORKING_DAYS = 2
DIGEST_MAX_LINES = 20  # per startup: a digest is read on a phone
PROJECTION_FROM_MONTH = 10
CONVENTION_END_DAYS_BEFORE = 30
FIN_DE_GESTION_DAYS_BEFORE = (21, 7)
MANAGERS = "managers"


@dataclass(frozen=True)
class Reminder:
    """One message the scheduler owes: what, to whom, which occurrence, since when."""

    kind: str
    target: str
    occurrence: str
    due_at: datetime
    reply: Reply
    informs_delegant: bool = False  # an art. 5 alert to a manager of the délégant: audited when enqueued


@dataclass(frozen=True)
class _Candidate:
    kind: str
    target: str
    occurrence: str
    due_at: datetime
    build: Callable[[], Reply]
    informs_delegant: bool = False


# --------------------------------------------------------------------------- working days


@functools.lru_cache(maxsize=32)
def _public_holidays(year: int) -> frozenset[date]:
    import holidays  # imported when a working day is first asked: its calendars are 70 ms of every process start

    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a French public holiday."""
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def first_working_day(year: int, month: int) -> date:
    return first_working_day_from(date(year, month, 1))


def first_working_day_from(day: date) -> date:
    """``day`` if it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def working_days_after(start: date, end: date) -> int:
    """How many working days in ``(start, end]``: a request of Monday has waited 2 on Wednesday."""
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


# --------------------------------------------------------------------------- planning


class _Plan:
    """One planning pass: the session, the translator, ``now`` and the local calendar."""

    def __init__(self, session: Session, t: Translator, now: datetime, at: time) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.session = session
        self.t = t
        self.now = now
        self.at = at
        self.today = now.astimezone(t.tz).date()
        self.convention: Convention | None = reference.current_convention(session=session)

    def moment(self, day: date) -> datetime:
        """``day`` at the reminder time, in the configured zone (09:00 Paris is 08:00 or 07:00 UTC)."""
        return datetime.combine(day, self.at, tzinfo=self.t.tz)

    def has_come(self, day: date) -> bool:
        return self.moment(day) <= self.now

    # ------------------------------------------------------------------ committees

    def committees(self) -> Iterator[_Candidate]:
        recipients = self._coaches_and_intrapreneurs()
        if not recipients:
            return
        for committee in reference.committees(session=self.session, after=self.today):
            stages = [d for d in COMMITTEE_DAYS_BEFORE if self.has_come(committee.held_on - timedelta(days=d))]
            if not stages:
                continue
            days = min(stages)  # the latest stage whose time has come: J-1 beats J-7 beats J-30
            due_at = self.moment(committee.held_on - timedelta(days=days))
            occurrence = f"{committee.held_on.isoformat()}:J-{days}"
            for person_id, startup_names in recipients.items():
                yield _Candidate(COMMITTEE, f"person:{person_id}", occurrence, due_at,
                                 self._committee_reply(committee.held_on, startup_names))

    def _coaches_and_intrapreneurs(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for startup in reference.startups(session=self.session):
            for person in reference.members(session=self.session, startup_id=startup.id):
                names = result.setdefault(person.id, [])
                if startup.name not in names:
                    names.append(startup.name)
        return result

    def _committee_reply(self, held_on: date, startup_names: list[str]) -> Callable[[], Reply]:
        def build() -> Reply:
            t = self.t
            left = (held_on - self.today).days  # a late (caught-up) reminder counts from today
            when = t("aujourd'hui") if left == 0 else t("demain") if left == 1 else t("dans {n} jours", n=left)
            lines = [t("📅 **Comité d'investissement le {date}** ({when}).", date=t.date(held_on), when=when),
                     t("Vos startups : {names}.", names=", ".join(startup_names)),
                     t("À préparer :")]
            lines += [f"• {t(item)}" for item in TO_PREPARE_FR]
            lines.append(t("Tapez **comite** pour revoir cette liste."))
            return Reply("\n".join(lines))

        return build

    # ------------------------------------------------------------------ monthly report

    def monthly_report(self) -> Iterator[_Candidate]:
        if self.convention is None:
            return
        due_day = first_working_day(self.today.year, self.today.month)
        if not self.has_come(due_day):
            return  # last month's occasion has expired with last month
        year, month = previous_month(self.today)
        if _month_end(year, month) < self.convention.starts or date(year, month, 1) > self.convention.ends:
            return

        def build() -> Reply:
            return report_reply(monthly_report(session=self.session, t=self.t, year=year, month=month), self.t,
                                files=(attachments.monthly_report(year, month),))

        yield _Candidate(MONTHLY_REPORT, MANAGERS, f"{year:04d}-{month:02d}", self.moment(due_day), build)

    # ------------------------------------------------------------------ daily digest

    def digest(self) -> Iterator[_Candidate]:
        if not is_working_day(self.today) or not self.has_come(self.today):
            return  # a digest is only worth its own day
        cutoff = self._digest_cutoff()
        counts = reports.waiting_counts(session=self.session, created_before=cutoff)
        if not counts:
            return
        occurrence = self.today.isoformat()
        per_person: dict[str, list[str]] = {}
        for startup_id in sorted(counts):
            for person in reference.intrapreneurs(session=self.session, startup_id=startup_id):
                per_person.setdefault(person.id, []).append(startup_id)
        missing = {pid: sids for pid, sids in per_person.items()
                   if not outbox.exists(session=self.session, kind=DIGEST, target=f"person:{pid}",
                                        occurrence=occurrence)}
        if not missing:
            return  # already planned today: skip the detailed queries (the sweep runs every minute)
        lines_of: dict[str, list[str]] = {}
        for startup_id in sorted({sid for sids in missing.values() for sid in sids}):
            lines_of[startup_id] = self._digest_lines(startup_id, cutoff, counts[startup_id])
        t = self.t
        for person_id, startup_ids in sorted(missing.items()):
            lines = [line for sid in startup_ids for line in lines_of[sid]]
            total = sum(counts[sid] for sid in startup_ids)
            text = "\n".join([t.plural("⏳ **{n} demande attend votre décision** depuis plus de 2 jours ouvrés :",
                                       "⏳ **{n} demandes attendent votre décision** depuis plus de 2 jours ouvrés :",
                                       total), *lines,
                              t("Tapez **en-attente** pour les boutons Valider / Certifier.")])
            yield _Candidate(DIGEST, f"person:{person_id}", occurrence, self.moment(self.today),
                             functools.partial(Reply, text))

    def _digest_cutoff(self) -> datetime:
        """Requests submitted before this instant have waited more than 2 working days today."""
        day, seen = self.today, 0
        while True:
            seen += is_working_day(day)
            if seen > DIGEST_AFTER_WORKING_DAYS:
                return datetime.combine(day, time(0), tzinfo=self.t.tz)
            day -= timedelta(days=1)

    def _digest_lines(self, startup_id: str, cutoff: datetime, count: int) -> list[str]:
        t, tz = self.t, self.t.tz
        startup = reference.get_startup(session=self.session, startup_id=startup_id)
        name = startup.name if startup else startup_id
        waiting = reports.waiting_requests(session=self.session, startup_id=startup_id, created_before=cutoff,
                                           limit=DIGEST_MAX_LINES)
        lines = []
        for w in waiting:
            n = working_days_after(w.created_at.astimezone(tz).date(), self.today)
            if w.quote_reference is None:
                lines.append(t("• devis {ref} · {startup} · {amount} — en attente depuis {n} jours ouvrés",
                               ref=w.reference, startup=name, amount=t.money(w.amount_cents), n=n))
            else:
                lines.append(t("• service fait {ref} sur {quote} · {startup} · {amount} — en attente depuis {n} "
                               "jours ouvrés", ref=w.reference, quote=w.quote_reference, startup=name,
                               amount=t.money(w.amount_cents), n=n))
        if count > len(waiting):
            lines.append(t.plural("• … et {n} autre pour {startup}", "• … et {n} autres pour {startup}",
                                  count - len(waiting), startup=name))
        return lines

    # ------------------------------------------------------------------ budget thresholds

    def budget(self) -> Iterator[_Candidate]:
        year = self.today.year
        b = ledger.year_balance(session=self.session, year=year)
        if not b.exists:
            return
        for kind, label, used, allocated in ((BUDGET_AE, "AE", b.ae_committed_cents, b.ae_cents),
                                             (BUDGET_CP, "CP", b.cp_used_cents, b.cp_cents)):
            if allocated <= 0:
                continue
            crossed = [p for p in THRESHOLDS if used * 100 >= p * allocated]
            if not crossed:
                continue
            pct = max(crossed)  # after a jump from 70 % to 95 %, one alert: 90 %

            def build(label: str = label, used: int = used, allocated: int = allocated, pct: int = pct) -> Reply:
                t = self.t
                head = (t("🚨 **{credit} {year} épuisés** : {used} sur {alloc}.", credit=label, year=year,
                          used=t.money(used), alloc=t.money(allocated)) if pct >= 100 else
                        t("⚠️ **{credit} {year} : seuil de {pct} % franchi** — {used} sur {alloc} ({rate}).",
                          credit=label, year=year, pct=pct, used=t.money(used), alloc=t.money(allocated),
                          rate=t.percent(used, allocated)))
                return Reply(head + "\n" + t("Reste disponible : {left}. Tapez **budget** pour le détail.",
                                             left=t.money(allocated - used)))

            yield _Candidate(kind, MANAGERS, f"{year}:{pct}", self.now, build)

    # ------------------------------------------------------------------ year-end projection

    def projection(self) -> Iterator[_Candidate]:
        if self.today.month < PROJECTION_FROM_MONTH:
            return
        due_day = first_working_day(self.today.year, self.today.month)
        if not self.has_come(due_day):
            return
        year = self.today.year
        b = ledger.year_balance(session=self.session, year=year)
        if not b.exists:
            return
        elapsed = max((self.today - date(year, 1, 1)).days, 1)
        length = 366 if calendar.isleap(year) else 365
        shortfalls = []
        for label, used, allocated in (("AE", b.ae_committed_cents, b.ae_cents),
                                       ("CP", b.cp_used_cents, b.cp_cents)):
            projected = year_end_projection(used, elapsed, length)
            if allocated > 0 and projected < allocated:
                shortfalls.append((label, used, projected, allocated))
        if not shortfalls:
            return

        def build() -> Reply:
            t = self.t
            lines = [t("📉 **Crédits {year} : au rythme actuel, une partie restera inemployée** (convention, art. 5).",
                       year=year)]
            for label, used, projected, allocated in shortfalls:
                lines.append(t("• {credit} : {used} à ce jour, {proj} projetés au 31 décembre sur {alloc} — "
                               "{left} inemployés", credit=label, used=t.money(used), proj=t.money(projected),
                               alloc=t.money(allocated), left=t.money(allocated - projected)))
            lines.append(t("Le délégant doit en être informé ; les devis prévus peuvent être avancés."))
            return Reply("\n".join(lines))

        occurrence = f"{year}-{self.today.month:02d}"
        yield _Candidate(PROJECTION, MANAGERS, occurrence, self.moment(due_day), build)
        for person in convention.delegant_managers(session=self.session):  # art. 5: « en informer le délégant »
            yield _Candidate(PROJECTION, f"person:{person.id}", occurrence, self.moment(due_day), build,
                             informs_delegant=True)

    # ------------------------------------------------------------------ convention end

    def convention_end(self) -> Iterator[_Candidate]:
        c = self.convention
        if c is None:
            return
        ends = rules.last_day(c)
        terminated = ends != c.ends
        if self.today > ends:
            return
        notice_deadline = add_months(ends, -c.notice_months)
        stages = [(self.moment(ends - timedelta(days=CONVENTION_END_DAYS_BEFORE)), "end")]
        if not terminated:  # a termination was notified already: no notice to recall
            stages.append((self.moment(notice_deadline - timedelta(days=7)), "notice"))
        come = [s for s in stages if s[0] <= self.now]
        if not come:
            return
        due_at, stage = max(come)

        def build() -> Reply:
            t = self.t
            if stage == "notice":
                # A fixed-term convention ends on its date: it is not « dénoncée » (that is ending it early,
                # with the notice); what is decided before the notice deadline is what follows it.
                text = t("📜 **La convention {ref} prend fin le {end}.** Si l'accompagnement doit se poursuivre, "
                         "préparez un avenant de prolongation ou une nouvelle convention : décidez avant le "
                         "{deadline} (préavis de {n} mois, art. 7).", ref=c.reference, end=t.date(ends),
                         n=c.notice_months, deadline=t.date(notice_deadline))
            elif terminated:
                text = t("📜 **La convention {ref} prend fin dans {n} jours, le {end}** (résiliation, art. 7). "
                         "Préparez le bilan, les derniers services faits et les restes à payer.", ref=c.reference,
                         n=(ends - self.today).days, end=t.date(ends))
            else:
                text = t("📜 **La convention {ref} prend fin dans {n} jours, le {end}.** Préparez le bilan, les "
                         "derniers services faits et les restes à payer.", ref=c.reference,
                         n=(ends - self.today).days, end=t.date(ends))
            if stage == "end":
                text += " " + t("Tapez **rapport final** pour le bilan provisoire ; le bilan final partira le {day}.",
                                day=t.date(first_working_day_from(ends + timedelta(days=1))))
            return Reply(text)

        occurrence = f"{c.reference}:{stage}" if not terminated else f"{c.reference}:{stage}@{ends.isoformat()}"
        yield _Candidate(CONVENTION, MANAGERS, occurrence, due_at, build)

    # ------------------------------------------------------------------ the final report

    def final_report(self) -> Iterator[_Candidate]:
        """On the first working day after the convention's last day, its bilan: to the managers' channel and to
        each manager of the délégant. Never expires (it is owed once), and is built when it is enqueued: the
        figures are those of the last day whatever day that is."""
        c = self.convention
        if c is None:
            return
        last_day = rules.last_day(c)
        due_day = first_working_day_from(last_day + timedelta(days=1))
        if not self.has_come(due_day):
            return

        @functools.cache  # one bilan for every recipient
        def build() -> Reply:
            return final_reply(final_report(session=self.session, t=self.t, now=self.now), self.t,
                               files=(attachments.final(c.reference, last_day),))

        occurrence = f"{c.reference}@{last_day.isoformat()}"  # a termination recorded later makes another
        yield _Candidate(FINAL_REPORT, MANAGERS, occurrence, self.moment(due_day), build)
        for person in convention.delegant_managers(session=self.session):
            yield _Candidate(FINAL_REPORT, f"person:{person.id}", occurrence, self.moment(due_day), build,
                             informs_delegant=True)

    # ------------------------------------------------------------------ fin de gestion

    def fin_de_gestion(self) -> Iterator[_Candidate]:
        """Three weeks and one week before each date of the years still open: the latest stage come, until the date."""
        c = self.convention
        if c is None:
            return
        ends = rules.last_day(c)
        coaches = sorted({p.id for s in reference.startups(session=self.session)
                          for p in reference.members(session=self.session, startup_id=s.id, role=StartupRole.COACH)})
        targets = [MANAGERS, *(f"person:{pid}" for pid in coaches)]
        for dates in rules.fin_de_gestion_dates(session=self.session, on_or_after=self.today):
            for what, day in (("orders", dates.orders_until), ("payments", dates.payments_until)):
                if day > ends or day < self.today:
                    continue
                stages = [d for d in FIN_DE_GESTION_DAYS_BEFORE if self.has_come(day - timedelta(days=d))]
                if not stages:
                    continue
                days = min(stages)
                occurrence = f"{dates.year}:{what}:J-{days}"
                build = functools.partial(self._fin_de_gestion_reply, dates.year, what, day)
                for target in targets:
                    yield _Candidate(FIN_DE_GESTION, target, occurrence, self.moment(day - timedelta(days=days)),
                                     build)

    def _fin_de_gestion_reply(self, year: int, what: str, day: date) -> Reply:
        t = self.t
        left = (day - self.today).days
        when = t("aujourd'hui") if left == 0 else t("demain") if left == 1 else t("dans {n} jours", n=left)
        if what == "orders":
            text = t("🗓️ **Fin de gestion {year} : dernières validations de devis et commandes le {day}** ({when}). "
                     "Après cette date, plus aucun devis n'est validé ni commandé sur les crédits {year} : faites "
                     "valider et commander ce qui doit l'être.", year=year, day=t.date(day), when=when)
        else:
            text = t("🗓️ **Fin de gestion {year} : derniers paiements le {day}** ({when}). Faites certifier les "
                     "services faits et transmettre les factures avant cette date ; les suivants seront payés sur "
                     "les crédits {next}.", year=year, day=t.date(day), when=when, next=year + 1)
        return Reply(text)

    def candidates(self) -> Iterator[_Candidate]:
        yield from self.committees()
        yield from self.monthly_report()
        yield from self.digest()
        yield from self.budget()
        yield from self.projection()
        yield from self.convention_end()
        yield from self.final_report()
        yield from self.fin_de_gestion()
        yield from self.committee_work()

    def committee_work(self) -> Iterator[_Candidate]:
        """Preparing committees (the coaches' inputs, the file) and the envelopes' alerts: handlers/preparation.py
        and handlers/envelopes.py say what and when."""
        yield from (_Candidate(*item) for item in preparation.planned(
            session=self.session, t=self.t, now=self.now, today=self.today, moment=self.moment))
        yield from (_Candidate(*item) for item in envelopes.planned_alerts(
            session=self.session, t=self.t, now=self.now, today=self.today))


def year_end_projection(used_cents: int, elapsed_days: int, year_days: int) -> int:
    """What ``used_cents`` becomes on 31 December at the pace of the ``elapsed_days`` so far."""
    return used_cents * year_days // max(elapsed_days, 1)


def due(*, session: Session, t: Translator, now: datetime, at: time = REMINDER_TIME) -> list[Reminder]:
    """Every reminder due at ``now`` and not yet in the outbox (latest occurrence of each kind)."""
    found = []
    for c in _Plan(session, t, now, at).candidates():
        if outbox.exists(session=session, kind=c.kind, target=c.target, occurrence=c.occurrence):
            continue
        found.append(Reminder(c.kind, c.target, c.occurrence, c.due_at, c.build(), c.informs_delegant))
    return found


def enqueue_due(*, session: Session, t: Translator, now: datetime, at: time = REMINDER_TIME) -> list[Reminder]:
    """Put what is due in the outbox; returns what this call added (another sweeper may have won)."""
    added = []
    told: dict[tuple[str, str], list[str]] = {}
    for r in due(session=session, t=t, now=now, at=at):
        row = outbox.enqueue(session=session, kind=r.kind, target=r.target, occurrence=r.occurrence,
                             payload={"reply": r.reply.to_dict(), "subject": None}, due_at=r.due_at)
        if row is not None:
            added.append(r)
            if r.informs_delegant:
                told.setdefault((r.kind, r.occurrence), []).append(r.target.removeprefix("person:"))
    current = reference.current_convention(session=session) if told else None
    for (kind, occurrence), people in told.items():
        convention.record_delegant_informed(
            session=session, at=now, alert=kind, occurrence=occurrence, people=people,
            subject=convention.subject_of(current) if current is not None else "convention")
    return added


def waiting_in_outbox(*, session: Session, now: datetime) -> list[Reminder]:
    """Reminders already enqueued, due, and not sent yet (a platform was down)."""
    return [Reminder(m.kind, m.target, m.occurrence, m.due_at, Reply.from_dict(json.loads(m.payload)["reply"]))
            for m in outbox.messages(session=session, kind_prefix=KIND_PREFIX)
            if m.status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED) and m.due_at <= now]
