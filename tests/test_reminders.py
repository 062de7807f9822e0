"""Reminders and alerts: each fires at its moment, once, in the right place; catch-up without flood.

The world is the demo reference data of 2026 (convention 2024-11-01 → 2026-12-31,
committees 2026-06-16 and 2026-12-15); the clock is injected and each test sweeps
as the scheduler would, at the moments it cares about.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.compose import compose
from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import JOB_ID, MISFIRE_GRACE_SECONDS, StdoutSender, build_scheduler, sweep, sweep_job
from handlers import reminders
from handlers.markup import plain
from handlers.reminders import first_working_day, is_working_day, working_days_after
from storage import ledger, outbox
from storage.db import make_engine, session_factory, unit_of_work
from storage.models import Committee, OutboxMessage
from tests.chat import RecordingSender, runtime_of
from tests.conftest import Clock

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
COACHES_AND_INTRAPRENEURS = {"claire.petit", "julien.moreau", "sophie.laurent", "nadia.benali", "lea.dupont",
                             "thomas.roux"}


def paris(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=PARIS)


class Incubator:
    """The bot as the scheduler drives it: sweep at a moment, read what each place received."""

    def __init__(self, runtime: Runtime, sender: RecordingSender, clock: Clock) -> None:
        self.runtime = runtime
        self.sender = sender
        self.clock = clock

    def sweep(self, when: datetime) -> list[reminders.Reminder]:
        self.clock.now = when
        return sweep(self.runtime, when).enqueued

    def say(self, who: str, text: str, when: datetime) -> str:
        from handlers.types import Request

        self.clock.now = when
        return plain(self.runtime.bot.message(Request("console", who, text)).text)

    def dms(self, who: str, contains: str = "") -> list[str]:
        return [plain(r.text) for r in self.sender.messages(f"dm:{who}") if contains in plain(r.text)]

    def managers(self, contains: str = "") -> list[str]:
        return [plain(r.text) for r in self.sender.messages("managers") if contains in plain(r.text)]

    def sent(self, kind: str) -> list[OutboxMessage]:
        with unit_of_work(self.runtime.services.sessions) as session:
            return [m for m in outbox.messages(session=session, kind_prefix=kind) if m.status == "sent"]


def make_incubator(engine, clock: Clock) -> Incubator:  # type: ignore[no-untyped-def]
    sender = RecordingSender()
    return Incubator(runtime_of(engine, clock, sender), sender, clock)


@pytest.fixture
def incubator(engine, world, clock) -> Incubator:  # type: ignore[no-untyped-def]
    return make_incubator(engine, clock)


def commit(inc: Incubator, startup: str, cents: int, when: datetime, *, certify: int = 0) -> str:
    """A quote submitted and validated at ``when`` (and ``certify`` cents certified): AE/CP move."""
    with unit_of_work(inc.runtime.services.sessions) as session:
        q = ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont", amount_cents=cents,
                                amount_ht_cents=None, supplier="Scopyleft", object="Sprints", platform="console",
                                now=when, year=when.year)
        intra = reference_intrapreneur(startup)
        ledger.validate_quote(session=session, reference=q.reference, actor_id=intra, platform="console",
                              now=when, year=when.year)
        if certify:
            sd, _ = ledger.create_service_done(session=session, quote_reference=q.reference,
                                               submitted_by="lea.dupont", amount_cents=certify, period=None,
                                               platform="console", now=when, year=when.year)
            ledger.certify_service_done(session=session, reference=sd.reference, actor_id=intra,
                                        platform="console", now=when, year=when.year)
        return q.reference


def reference_intrapreneur(startup: str) -> str:
    return {"collectif-objets": "claire.petit", "dedale": "julien.moreau", "euphrosyne": "sophie.laurent",
            "locadocs": "nadia.benali", "archives-ouvertes": "claire.petit"}[startup]


def test_reminders_land_in_the_right_place_on_every_platform(chat) -> None:  # type: ignore[no-untyped-def]
    """On Slack, Mattermost and the console: the report in the managers' channel, the committee by direct message."""
    sweep(chat.runtime, paris(2026, 12, 14, 10))
    assert [m for m in chat.managers_channel() if "Rapport mensuel — novembre 2026" in m.text]
    committee = [m for m in chat.inbox("lea.dupont") if "Comité d'investissement" in m.text]
    assert len(committee) == 1 and "demain" in committee[0].text and "À préparer" in committee[0].text
    sweep(chat.runtime, paris(2026, 12, 14, 10, 1))
    assert len([m for m in chat.inbox("lea.dupont") if "Comité d'investissement" in m.text]) == 1


# --------------------------------------------------------------------------- working days


@pytest.mark.parametrize("year, month, expected", [
    (2026, 1, date(2026, 1, 2)),    # 1 January is a holiday
    (2026, 5, date(2026, 5, 4)),    # 1 May is a Friday holiday, then the week-end
    (2026, 8, date(2026, 8, 3)),    # 1 August is a Saturday
    (2026, 11, date(2026, 11, 2)),  # 1 November is a Sunday
    (2022, 11, date(2022, 11, 2)),  # 1 November on a Tuesday: a holiday
    (2027, 1, date(2027, 1, 4)),    # New Year's Day on a Friday
    (2026, 12, date(2026, 12, 1)),
])
def test_first_working_day_skips_weekends_and_french_public_holidays(year: int, month: int, expected: date) -> None:
    """The monthly report's day is the first Monday-to-Friday of the month that is not a public holiday."""
    assert first_working_day(year, month) == expected


@pytest.mark.parametrize("holiday", [
    date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 14),  # Labour Day, Victory Day, Ascension
    date(2026, 7, 14), date(2025, 8, 15), date(2022, 11, 1), date(2026, 11, 11), date(2026, 12, 25),
])
def test_french_public_holidays_are_not_working_days(holiday: date) -> None:
    """1 May, 8 May, Ascension, 14 July, 15 August, 1 and 11 November, Christmas: no digest, no report."""
    assert holiday.weekday() < 5 and not is_working_day(holiday)
    assert is_working_day(holiday - timedelta(days=1)) or (holiday - timedelta(days=1)).weekday() >= 5


def test_working_days_after_counts_the_days_a_request_has_waited() -> None:
    """A request of Thursday 7 May 2026 has waited 1 working day on Monday 11 (8 May and the week-end skipped)."""
    assert working_days_after(date(2026, 5, 7), date(2026, 5, 11)) == 1
    assert working_days_after(date(2026, 5, 7), date(2026, 5, 13)) == 3
    assert working_days_after(date(2026, 5, 11), date(2026, 5, 11)) == 0


# --------------------------------------------------------------------------- committee


def test_committee_reminders_go_at_j30_j7_j1_at_nine_to_every_coach_and_intrapreneur_once(
        incubator: Incubator) -> None:
    """J-30, J-7 and J-1 before the 15 December committee, at 09:00 Paris, each person once, with what to prepare."""
    for day, stage in ((date(2026, 11, 15), "J-30"), (date(2026, 12, 8), "J-7"), (date(2026, 12, 14), "J-1")):
        before = incubator.sweep(paris(day.year, day.month, day.day, 8, 59))
        assert not [r for r in before if r.kind == reminders.COMMITTEE]
        fired = [r for r in incubator.sweep(paris(day.year, day.month, day.day)) if r.kind == reminders.COMMITTEE]
        assert {r.target for r in fired} == {f"person:{p}" for p in COACHES_AND_INTRAPRENEURS}
        assert {r.occurrence for r in fired} == {f"2026-12-15:{stage}"}
        again = incubator.sweep(paris(day.year, day.month, day.day, 9, 1))
        assert not [r for r in again if r.kind == reminders.COMMITTEE]

    lea = incubator.dms("lea.dupont", "Comité d'investissement")
    assert len(lea) == 3
    assert "15 décembre 2026" in lea[0] and "dans 30 jours" in lea[0] and "demain" in lea[2]
    assert "Collectif Objets, Dédale" in lea[0]
    for what in ("indicateurs d'impact", "/stats", "budget des six prochains mois", "décisions attendues"):
        assert what in lea[0]
    assert len(incubator.dms("julien.moreau", "Comité d'investissement")) == 3
    assert incubator.dms("camille.martin", "Comité") == []  # a manager who coaches nothing


def test_an_operator_can_move_the_reminder_hour(engine, world, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """INCUBOT_REMINDER_TIME=07:30: the J-7 committee reminder goes at 07:30 Paris, not before, not at 09:00."""
    settings = Settings.from_env({"DATABASE_URL": str(engine.url), "INCUBOT_REMINDER_TIME": "07:30"})
    runtime = compose(settings, clock=clock, engine=engine, migrate=False, plugs=[RecordingSender().plug()]).runtime
    inc = Incubator(runtime, runtime.courier.senders[0], clock)  # type: ignore[arg-type]
    inc.sweep(paris(2026, 12, 7, 20, 0))  # the J-30 reminder, caught up on a fresh database
    assert not [r for r in inc.sweep(paris(2026, 12, 8, 7, 29)) if r.kind == reminders.COMMITTEE]
    fired = [r for r in inc.sweep(paris(2026, 12, 8, 7, 30)) if r.kind == reminders.COMMITTEE]
    assert {r.occurrence for r in fired} == {"2026-12-15:J-7"}


def test_a_reminder_hour_that_is_not_an_hour_is_refused_at_start() -> None:
    """INCUBOT_REMINDER_TIME=9h is refused with a French sentence naming the key."""
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="INCUBOT_REMINDER_TIME"):
        Settings.from_env({"INCUBOT_REMINDER_TIME": "9h"})


# --------------------------------------------------------------------------- monthly report


def test_monthly_report_goes_to_managers_on_the_first_working_day_after_1_may(incubator: Incubator) -> None:
    """April's report waits for Monday 4 May 2026, 09:00 (1 May is a holiday, then the week-end), and goes once."""
    for moment in (paris(2026, 5, 1), paris(2026, 5, 2), paris(2026, 5, 4, 8, 59)):
        assert not [r for r in incubator.sweep(moment) if r.kind == reminders.MONTHLY_REPORT]
    fired = [r for r in incubator.sweep(paris(2026, 5, 4)) if r.kind == reminders.MONTHLY_REPORT]
    assert [(r.target, r.occurrence) for r in fired] == [("managers", "2026-04")]
    incubator.sweep(paris(2026, 5, 4, 15))
    reports = incubator.managers("Rapport mensuel")
    assert len(reports) == 1 and "avril 2026" in reports[0] and "Par startup" in reports[0]


def test_monthly_report_of_the_month_after_the_convention_ends_is_the_last(incubator: Incubator) -> None:
    """December's report goes out in January 2027; nothing in February: the convention ended on 31 December."""
    incubator.sweep(paris(2027, 1, 4))
    incubator.sweep(paris(2027, 2, 1))
    assert [m.occurrence for m in incubator.sent(reminders.MONTHLY_REPORT)] == ["2026-12"]


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize("day, utc_hour", [(date(2026, 12, 1), 8), (date(2026, 7, 1), 7)])
def test_nine_in_paris_is_eight_utc_in_winter_and_seven_utc_in_summer(incubator: Incubator, day: date,
                                                                      utc_hour: int) -> None:
    """The monthly report goes at 09:00 Paris whatever the offset: a minute before, nothing."""
    just_before = datetime(day.year, day.month, day.day, utc_hour - 1, 59, tzinfo=UTC)
    assert not [r for r in incubator.sweep(just_before) if r.kind == reminders.MONTHLY_REPORT]
    on_time = datetime(day.year, day.month, day.day, utc_hour, 0, tzinfo=UTC)
    fired = [r for r in incubator.sweep(on_time) if r.kind == reminders.MONTHLY_REPORT]
    assert len(fired) == 1 and fired[0].due_at == on_time


@pytest.mark.parametrize("committee, utc_hour", [(date(2026, 3, 30), 7), (date(2026, 10, 26), 8)])
def test_committee_reminder_on_the_day_clocks_change_still_goes_at_nine_paris(
        incubator: Incubator, committee: date, utc_hour: int) -> None:
    """J-1 falls on the night clocks go forward (29 March) or back (25 October): still 09:00 local."""
    with unit_of_work(incubator.runtime.services.sessions) as session:
        session.add(Committee(held_on=committee))
    eve = committee - timedelta(days=1)
    early = datetime(eve.year, eve.month, eve.day, utc_hour - 1, 59, tzinfo=UTC)
    assert not [r for r in incubator.sweep(early) if r.occurrence.endswith("J-1")]
    fired = [r for r in incubator.sweep(datetime(eve.year, eve.month, eve.day, utc_hour, tzinfo=UTC))
             if r.kind == reminders.COMMITTEE]
    assert {r.occurrence for r in fired} == {f"{committee.isoformat()}:J-1"}
    assert fired[0].due_at.astimezone(PARIS).hour == 9


# --------------------------------------------------------------------------- digest


@pytest.mark.parametrize("created, first_digest", [
    (paris(2026, 4, 29, 10), date(2026, 5, 5)),    # 1 May
    (paris(2026, 5, 7, 10), date(2026, 5, 13)),    # 8 May
    (paris(2026, 5, 12, 10), date(2026, 5, 18)),   # Ascension (14 May)
    (paris(2026, 7, 10, 10), date(2026, 7, 16)),   # 14 July
    (paris(2025, 8, 13, 10), date(2025, 8, 19)),   # 15 August (a Friday in 2025)
    (paris(2022, 10, 27, 10), date(2022, 11, 2)),  # 1 November (a Tuesday in 2022)
    (paris(2026, 11, 9, 10), date(2026, 11, 13)),  # 11 November
    (paris(2026, 12, 23, 10), date(2026, 12, 29)),  # Christmas
])
def test_digest_reaches_the_intrapreneur_after_more_than_two_working_days(
        incubator: Incubator, created: datetime, first_digest: date) -> None:
    """A quote waiting since `created` appears in Julien's 09:00 digest from the 3rd working day, never on a holiday."""
    said = incubator.say("lea.dupont", "devis dedale; 3000; Arawa; Audit", created)
    assert "D-" in said
    digests: list[date] = []
    day = created.date() + timedelta(days=1)
    while day <= first_digest + timedelta(days=1):
        for r in incubator.sweep(paris(day.year, day.month, day.day)):
            if r.kind == reminders.DIGEST:
                assert r.target == "person:julien.moreau"
                digests.append(day)
        incubator.sweep(paris(day.year, day.month, day.day, 17))  # a second sweep the same day adds nothing
        day += timedelta(days=1)
    assert digests[0] == first_digest
    assert all(is_working_day(d) for d in digests)
    assert len(digests) == len(set(digests))
    text = incubator.dms("julien.moreau", "votre décision")[0]
    assert "Dédale" in text and "3 000,00 €" in text and "en-attente" in text
    assert incubator.dms("lea.dupont", "votre décision") == []  # the coach does not decide


def test_no_digest_once_the_request_is_decided(incubator: Incubator) -> None:
    """The digest lists only what still waits: after the decision, nothing."""
    incubator.say("lea.dupont", "devis dedale; 3000; Arawa; Audit", paris(2026, 11, 16, 10))
    assert [r.kind for r in incubator.sweep(paris(2026, 11, 19))].count(reminders.DIGEST) == 1
    incubator.say("julien.moreau", "valider D-2026-0001", paris(2026, 11, 19, 11))
    assert reminders.DIGEST not in [r.kind for r in incubator.sweep(paris(2026, 11, 20))]


def test_digest_stays_short_on_a_phone(incubator: Incubator) -> None:
    """25 quotes waiting for Dédale: the digest shows the 20 oldest and says how many more."""
    with unit_of_work(incubator.runtime.services.sessions) as session:
        for i in range(25):
            ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                amount_cents=1_000_00 + i, amount_ht_cents=None, supplier="Arawa", object="Audit",
                                platform="console", now=paris(2026, 11, 2, 10) + timedelta(minutes=i), year=2026)
    incubator.sweep(paris(2026, 11, 6))
    digest = incubator.dms("julien.moreau", "votre décision")
    assert len(digest) == 1 and "25 demandes attendent" in digest[0]
    assert digest[0].count("• devis") == 20 and "… et 5 autres pour Dédale" in digest[0]


# --------------------------------------------------------------------------- budget thresholds


def test_budget_alerts_at_80_90_100_percent_of_ae_once_each_without_flood(incubator: Incubator) -> None:
    """AE 2026 is 1 500 000 €: crossing 80 % alerts the managers once; a jump past 90 % alerts 90 % only."""
    monday = paris(2026, 11, 16, 10)
    commit(incubator, "dedale", 1_150_000_00, monday)  # 76.7 %
    assert not [r for r in incubator.sweep(monday) if r.kind.startswith("reminder.budget")]
    commit(incubator, "dedale", 50_000_00, monday + timedelta(minutes=5))  # 80 %
    fired = [r for r in incubator.sweep(monday + timedelta(minutes=6)) if r.kind.startswith("reminder.budget")]
    assert [(r.kind, r.occurrence) for r in fired] == [(reminders.BUDGET_AE, "2026:80")]
    assert not [r for r in incubator.sweep(monday + timedelta(minutes=7)) if r.kind.startswith("reminder.budget")]
    commit(incubator, "euphrosyne", 260_000_00, monday + timedelta(hours=1))  # 97.3 %: past 90, not 100
    fired = [r for r in incubator.sweep(monday + timedelta(hours=1, minutes=1)) if r.kind.startswith("reminder.b")]
    assert [r.occurrence for r in fired] == ["2026:90"]
    commit(incubator, "euphrosyne", 40_000_00, monday + timedelta(hours=2))  # 100 %
    incubator.sweep(monday + timedelta(hours=2, minutes=1))
    alerts = incubator.managers("AE 2026")
    assert len(alerts) == 3
    assert "seuil de 80 % franchi" in alerts[0] and "seuil de 90 %" in alerts[1] and "épuisés" in alerts[2]


def test_cp_threshold_alert_is_its_own_kind(incubator: Incubator) -> None:
    """Certifying 1 400 000 € of the 1 700 000 € of CP 2026 (82 %) sends the CP 80 % alert."""
    commit(incubator, "dedale", 1_400_000_00, paris(2026, 11, 16, 10), certify=1_400_000_00)
    fired = {(r.kind, r.occurrence) for r in incubator.sweep(paris(2026, 11, 16, 10, 1))}
    assert (reminders.BUDGET_CP, "2026:80") in fired and (reminders.BUDGET_AE, "2026:90") in fired


# --------------------------------------------------------------------------- projection and convention


def test_projection_warning_from_1_october_when_credits_would_stay_unspent(incubator: Incubator) -> None:
    """Nothing in September; on Thursday 1 October 09:00 the managers learn the year's pace leaves credits unspent."""
    commit(incubator, "dedale", 300_000_00, paris(2026, 3, 2, 10), certify=200_000_00)
    assert not [r for r in incubator.sweep(paris(2026, 9, 30)) if r.kind == reminders.PROJECTION]
    assert not [r for r in incubator.sweep(paris(2026, 10, 1, 8, 59)) if r.kind == reminders.PROJECTION]
    fired = [r for r in incubator.sweep(paris(2026, 10, 1)) if r.kind == reminders.PROJECTION]
    assert [r.occurrence for r in fired] == ["2026-10"]
    text = incubator.managers("inemployée")[0]
    assert "AE : 300 000,00 € à ce jour" in text and "projetés au 31 décembre" in text
    assert not [r for r in incubator.sweep(paris(2026, 10, 2)) if r.kind == reminders.PROJECTION]


def test_no_projection_warning_when_the_pace_uses_every_credit(incubator: Incubator) -> None:
    """AE fully committed and CP at a pace that reaches the allocation: no warning."""
    commit(incubator, "dedale", 1_500_000_00, paris(2026, 1, 5, 10), certify=1_300_000_00)
    assert not [r for r in incubator.sweep(paris(2026, 10, 1)) if r.kind == reminders.PROJECTION]


def test_convention_notice_and_end_reminders(incubator: Incubator) -> None:
    """Convention ending 31/12/2026 with 3 months' notice: 23 September (notice − 1 week) and 1 December (− 30 days),
    which says when the bilan final will go."""
    assert not [r for r in incubator.sweep(paris(2026, 9, 23, 8, 59)) if r.kind == reminders.CONVENTION]
    fired = [r for r in incubator.sweep(paris(2026, 9, 23)) if r.kind == reminders.CONVENTION]
    assert [r.occurrence for r in fired] == ["MC-DINUM-2024:notice"]
    assert "30 septembre 2026" in incubator.managers("convention")[0]  # decide before end − 3 months
    assert not [r for r in incubator.sweep(paris(2026, 11, 30)) if r.kind == reminders.CONVENTION]
    fired = [r for r in incubator.sweep(paris(2026, 12, 1)) if r.kind == reminders.CONVENTION]
    assert [r.occurrence for r in fired] == ["MC-DINUM-2024:end"]
    assert "dans 30 jours" in incubator.managers("convention")[-1]
    # the bilan to come: 1 January 2027 is a holiday, then the week-end
    assert "le bilan final partira le 4 janvier 2027" in incubator.managers("convention")[-1]


# --------------------------------------------------------------------------- catch-up


def test_a_reminder_missed_during_downtime_goes_out_when_the_bot_is_back_once(incubator: Incubator) -> None:
    """Down from Saturday 14 to Monday 16 November: the J-30 of Sunday goes out on Monday, saying 29 days."""
    incubator.sweep(paris(2026, 11, 14, 18))
    back = [r for r in incubator.sweep(paris(2026, 11, 16, 10, 30)) if r.kind == reminders.COMMITTEE]
    assert len(back) == len(COACHES_AND_INTRAPRENEURS)
    assert "dans 29 jours" in incubator.dms("thomas.roux", "Comité")[0]
    assert not [r for r in incubator.sweep(paris(2026, 11, 16, 10, 31)) if r.kind == reminders.COMMITTEE]


def test_after_a_long_outage_only_the_latest_occurrence_of_each_kind_goes_out(incubator: Incubator) -> None:
    """Down from May to the eve of the December committee: one report, one committee reminder each, no flood."""
    incubator.sweep(paris(2026, 5, 1, 12))
    before = Counter(m.kind for m in incubator.sent(reminders.KIND_PREFIX))
    incubator.sweep(paris(2026, 12, 14, 10))
    after = Counter(m.kind for m in incubator.sent(reminders.KIND_PREFIX)) - before
    assert after[reminders.MONTHLY_REPORT] == 1
    assert after[reminders.COMMITTEE] == len(COACHES_AND_INTRAPRENEURS)
    assert after[reminders.CONVENTION] == 1 and after[reminders.PROJECTION] == 1
    assert [m.occurrence for m in incubator.sent(reminders.MONTHLY_REPORT)][-1] == "2026-11"
    assert {m.occurrence for m in incubator.sent(reminders.COMMITTEE)} == {"2026-12-15:J-1"}
    assert [m.occurrence for m in incubator.sent(reminders.CONVENTION)] == ["MC-DINUM-2024:end"]
    assert len(incubator.dms("lea.dupont", "Comité")) == 1


def test_an_occurrence_already_in_the_outbox_is_never_enqueued_again_nor_an_older_one_instead(
        incubator: Incubator) -> None:
    """Once the J-7 is in the outbox, later sweeps plan nothing for that committee: not the J-7, not the J-30."""
    incubator.sweep(paris(2026, 12, 8))
    with unit_of_work(incubator.runtime.services.sessions) as session:
        planned = reminders.due(session=session, t=incubator.runtime.services.t, now=paris(2026, 12, 9))
    assert not [r for r in planned if r.kind == reminders.COMMITTEE]


def test_a_reminder_is_not_lost_when_the_platform_fails_it_is_retried(incubator: Incubator) -> None:
    """If sending fails, the reminder stays in the outbox and the next sweep sends it; `due` still lists it."""

    class Down(RecordingSender):
        def post_channel(self, channel, reply, *, key=None):  # type: ignore[no-untyped-def]
            raise ConnectionError("platform down")

    incubator.runtime.courier.senders = [Down()]
    incubator.sweep(paris(2026, 12, 1))
    with unit_of_work(incubator.runtime.services.sessions) as session:
        waiting = reminders.waiting_in_outbox(session=session, now=paris(2026, 12, 1, 10))
    assert reminders.MONTHLY_REPORT in {r.kind for r in waiting}
    incubator.runtime.courier.senders = [incubator.sender]
    incubator.sweep(paris(2026, 12, 1, 10))
    assert len(incubator.managers("Rapport mensuel")) == 1


# --------------------------------------------------------------------------- two sweepers


def test_two_sweeps_in_parallel_send_each_reminder_once(any_world, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Two processes (two engines, two couriers) sweep the same minute in threads: every reminder goes out once."""
    incs = []
    for name in ("web-1", "clock-1"):
        engine = make_engine(any_world.url.render_as_string(hide_password=False))
        inc = make_incubator(engine, Clock(paris(2026, 12, 14)))
        inc.runtime.courier.worker = name
        incs.append(inc)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(inc: Incubator) -> None:
        try:
            barrier.wait()
            sweep(inc.runtime, paris(2026, 12, 14))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(inc,)) for inc in incs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors
    posts = [key for inc in incs for key in inc.sender.order]
    rows = incs[0].sent(reminders.KIND_PREFIX)
    assert len(rows) >= len(COACHES_AND_INTRAPRENEURS) + 3
    assert len(posts) == len(rows)  # each row posted exactly once, by one of the two
    lea = [r for inc in incs for r in inc.sender.messages("dm:lea.dupont") if "Comité d'investissement" in r.text]
    assert len(lea) == 1
    for inc in incs:
        inc.runtime.engine.dispose()


# --------------------------------------------------------------------------- the scheduler itself


def test_scheduler_runs_one_module_level_sweep_every_minute_in_the_configured_zone(incubator: Incubator) -> None:
    """APScheduler is configured explicitly: Paris time zone, coalesce, one instance, a real grace time."""
    scheduler = build_scheduler(incubator.runtime)
    job = scheduler.get_job(JOB_ID)
    assert str(scheduler.timezone) == "Europe/Paris"
    assert job.func is sweep_job and job.trigger.interval == timedelta(minutes=1)
    assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == MISFIRE_GRACE_SECONDS > 1


def test_a_failing_sweep_is_logged_and_does_not_kill_the_scheduler(incubator: Incubator, caplog) -> None:  # type: ignore[no-untyped-def]
    """An exception inside the job is logged; the next tick will retry."""
    incubator.runtime.services.sessions = lambda: (_ for _ in ()).throw(RuntimeError("db gone"))  # type: ignore[assignment]
    sweep_job(incubator.runtime)
    assert "reminder sweep failed" in caplog.text


# --------------------------------------------------------------------------- CLI


def test_cli_reminders_without_a_platform_are_shown_and_kept_then_go_once_a_platform_is_there(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`incubot reminders due/send --at` without a platform: the reminders are shown, said to wait, and not used up;
    once a platform is configured, the next sweep sends each of them, once."""
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    seed = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(seed)]) == 0
    capsys.readouterr()
    assert main(["--database", url, "reminders", "due", "--at", "2022-12-01T09:00"]) == 0
    listed = capsys.readouterr().out
    assert "reminder.monthly_report" in listed and "2022-11" in listed and "MC-DINUM-2020:end" in listed
    assert "reminder.inputs" in listed  # the 13 December committee is 12 days away: Léa is asked for her inputs
    assert "2022:orders:J-21" in listed  # the fin de gestion of 12 December, to the managers and the coach
    assert "person:camille.martin" in listed  # the délégant's manager is told of unspent credits (art. 5)
    assert main(["--database", url, "reminders", "send", "--at", "2022-12-01T09:00"]) == 0
    shown = capsys.readouterr()
    assert "Rapport mensuel — novembre 2022" in shown.out and "canal gestionnaires" in shown.out
    assert "0 message envoyé" in shown.err
    assert "9 rappels en attente : aucune plateforme configurée (Slack, Mattermost)" in shown.err
    assert main(["--database", url, "reminders", "send", "--at", "2022-12-01T09:00"]) == 0
    again = capsys.readouterr()
    assert "0 nouveau rappel, 0 message envoyé" in again.err and "9 rappels en attente" in again.err
    assert main(["--database", url, "reminders", "due", "--at", "2022-12-01T09:00"]) == 0
    assert "9 rappels à envoyer" in capsys.readouterr().out  # still waiting, not burnt

    engine = make_engine(url)
    platform = RecordingSender()  # Slack configured, say
    runtime = runtime_of(engine, None, platform)
    assert sweep(runtime, datetime(2022, 12, 1, 10, tzinfo=PARIS)).sent == 9
    assert sweep(runtime, datetime(2022, 12, 1, 10, 1, tzinfo=PARIS)).sent == 0
    assert len([r for r in platform.messages("managers") if "Rapport mensuel — novembre 2022" in r.text]) == 1
    engine.dispose()


def test_stdout_sender_prints_what_goes_out() -> None:
    """Without a chat platform, the operator reads each message on stdout."""
    import io

    from handlers.types import Reply

    out = io.StringIO()
    StdoutSender(out).post_channel("gestionnaires", Reply("**Rapport** prêt"))
    assert "→ canal gestionnaires\nRapport prêt" in out.getvalue()


# --------------------------------------------------------------------------- a whole year


def test_a_whole_year_of_the_seed_convention_day_by_day_each_reminder_lands_once(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """2022 of the seed convention, a sweep at 09:00 each day: every reminder once, on its day, in its place."""
    from handlers.importer import parse_reference
    from storage.reference import import_reference

    sessions = session_factory(engine)
    seed = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=parse_reference(seed.read_bytes()))
    inc = make_incubator(engine, clock)

    def events(day: date) -> None:
        if day == date(2022, 3, 15):  # 1 250 000 € committed: 83 % of AE 2022
            commit(inc, "archives-ouvertes", 1_250_000_00, paris(2022, 3, 15, 8))
        if day == date(2022, 7, 12):  # a quote waits from Tuesday 12 July (14 July in between)
            inc.say("lea.dupont", "devis archives-ouvertes; 2000; Arawa; Audit", paris(2022, 7, 12, 8))
        if day == date(2022, 7, 20):
            inc.say("claire.petit", "valider D-2022-0002", paris(2022, 7, 20, 8))

    day = date(2022, 1, 1)
    while day.year == 2022:
        events(day)
        inc.sweep(paris(day.year, day.month, day.day))
        day += timedelta(days=1)

    with unit_of_work(sessions) as session:
        rows = [m for m in outbox.messages(session=session, kind_prefix=reminders.KIND_PREFIX)]
    assert all(m.status == "sent" for m in rows)
    landed = {(m.kind, m.target, m.occurrence): m.due_at.astimezone(PARIS) for m in rows}
    assert len(landed) == len(rows)
    for moment in landed.values():
        assert (moment.hour, moment.minute) == (9, 0)

    def on(kind: str) -> dict[str, date]:
        return {f"{t}|{o}": d.date() for (k, t, o), d in landed.items() if k == kind}

    reports = {k.split("|")[1]: d for k, d in on(reminders.MONTHLY_REPORT).items()}
    assert reports == {
        "2021-12": date(2022, 1, 3), "2022-01": date(2022, 2, 1), "2022-02": date(2022, 3, 1),
        "2022-03": date(2022, 4, 1), "2022-04": date(2022, 5, 2), "2022-05": date(2022, 6, 1),
        "2022-06": date(2022, 7, 1), "2022-07": date(2022, 8, 1), "2022-08": date(2022, 9, 1),
        "2022-09": date(2022, 10, 3), "2022-10": date(2022, 11, 2), "2022-11": date(2022, 12, 1),
    }
    committee = on(reminders.COMMITTEE)
    expected_committee = {}
    for held_on in (date(2022, 6, 15), date(2022, 12, 13)):
        for days in (30, 7, 1):
            for person in ("claire.petit", "lea.dupont"):
                expected_committee[f"person:{person}|{held_on.isoformat()}:J-{days}"] = held_on - timedelta(days)
    assert committee == expected_committee
    assert on(reminders.CONVENTION) == {"managers|MC-DINUM-2020:notice": date(2022, 9, 23),
                                        "managers|MC-DINUM-2020:end": date(2022, 12, 1)}
    assert on(reminders.PROJECTION) == {f"{target}|2022-{month}": day for month, day in (
        ("10", date(2022, 10, 3)), ("11", date(2022, 11, 2)), ("12", date(2022, 12, 1)))
        for target in ("managers", "person:camille.martin")}  # Camille is on the délégant's side (art. 5)
    assert on(reminders.BUDGET_AE) == {"managers|2022:80": date(2022, 3, 15)}
    assert on(reminders.DIGEST) == {"person:claire.petit|2022-07-18": date(2022, 7, 18),
                                    "person:claire.petit|2022-07-19": date(2022, 7, 19)}
    assert on("reminder.inputs") == {"person:lea.dupont|2022-06-15:archives-ouvertes": date(2022, 6, 1),
                                     "person:lea.dupont|2022-12-13:archives-ouvertes": date(2022, 11, 29)}
    assert on("reminder.file") == {"managers|2022-06-15": date(2022, 6, 13), "managers|2022-12-13": date(2022, 12, 11)}
    fin_de_gestion = {"2022:payments:J-21": date(2022, 11, 9), "2022:payments:J-7": date(2022, 11, 23),
                      "2022:orders:J-21": date(2022, 11, 21), "2022:orders:J-7": date(2022, 12, 5)}
    assert on(reminders.FIN_DE_GESTION) == {f"{target}|{occurrence}": day for occurrence, day in fin_de_gestion.items()
                                            for target in ("managers", "person:lea.dupont")}
    # In the right place, once: the managers' channel and each person's direct messages.
    # The reminders above, and the order to place of the one quote validated that year (D-2022-0002).
    assert len(inc.sender.messages("managers")) == 12 + 2 + 3 + 1 + 2 + 4 + 1
    assert len([r for r in inc.sender.messages("managers") if "bon de commande à passer" in r.text]) == 1
    assert len([r for r in inc.sender.messages("dm:lea.dupont") if "Fin de gestion" in r.text]) == 4
    assert len([r for r in inc.sender.messages("dm:lea.dupont") if "Comité" in r.text]) == 6
    assert len([r for r in inc.sender.messages("dm:claire.petit") if "votre décision" in r.text]) == 2


# --------------------------------------------------------------------------- the processes


class Signalling(RecordingSender):
    """Records, and says when the managers' channel got something."""

    def __init__(self) -> None:
        super().__init__()
        self.got = threading.Event()

    def post_channel(self, channel, reply, *, key=None):  # type: ignore[no-untyped-def]
        posted = super().post_channel(channel, reply)
        self.got.set()
        return posted


def test_incubot_clock_runs_the_sweep_in_a_real_scheduler_until_stopped(engine, world) -> None:  # type: ignore[no-untyped-def]
    """`incubot clock`: the APScheduler job sweeps at start (catch-up), sends the report, and stops cleanly."""
    from bot.scheduler import run_clock

    inc = make_incubator(engine, Clock(paris(2026, 12, 1, 9, 30)))
    signalling = Signalling()
    inc.runtime.courier.senders = [signalling]
    stop = threading.Event()
    process = threading.Thread(target=run_clock, args=(inc.runtime, stop))
    process.start()
    try:
        assert signalling.got.wait(20), "the scheduler never swept"
    finally:
        stop.set()
        process.join(20)
    assert not process.is_alive()
    assert len([r for r in signalling.messages("managers") if "Rapport mensuel" in r.text]) == 1


def test_serve_starts_the_scheduler_and_shuts_it_down_on_exit(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`incubot serve` runs the scheduler next to the HTTP server, and `--no-scheduler` does not."""
    import uvicorn

    import bot.scheduler
    import bot.server
    from bot.server import serve

    started = []
    real_start = bot.scheduler.start_scheduler

    def spy(runtime):  # type: ignore[no-untyped-def]
        scheduler = real_start(runtime)
        started.append(scheduler)
        return scheduler

    seen_running = []
    monkeypatch.setattr(bot.server, "start_scheduler", spy)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen_running.append(bool(started) and started[-1].running))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'serve.db'}")
    assert serve(settings, port=0) == 0
    assert seen_running == [True] and not started[0].running
    assert serve(settings, port=0, scheduler=False) == 0
    assert seen_running == [True, False] and len(started) == 1
