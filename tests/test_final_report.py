"""The final report (bilan final, art. 5: « au terme de la convention »): the seed convention (1 November 2020 →
31 December 2022) walked along the order chain across 2021 and 2022, then its bilan — per year, unspent credits,
restes à payer, open orders, per startup, decisions — the same whatever day it is made after the end, in chat,
as files, and sent once on the first working day after the end."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.cli import main
from handlers import reminders
from handlers.documents import render
from handlers.final_report import final_document, final_reply, final_report
from handlers.i18n import Translator
from handlers.importer import parse_reference
from handlers.markup import plain
from handlers.types import Request
from storage import committees, convention, ledger
from storage.db import session_factory, unit_of_work
from storage.final_report import counters_at, month_start
from storage.models import AuditEvent, StartupMonthMove
from storage.reference import import_reference
from tests.conftest import Clock
from tests.test_documents import ink, keep, pdf_text, rendered_page
from tests.test_reminders import make_incubator

PARIS = ZoneInfo("Europe/Paris")
T = Translator("fr", PARIS)
SEED = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
# The seed's Camille Martin is the délégant's manager; Hugo Bernard manages on the délégataire's side.
MORE = """
[[person]]
id = "hugo.bernard"
name = "Hugo Bernard"
roles = ["manager"]
side = "delegataire"

[[person]]
id = "paul.durand"
name = "Paul Durand"

[[startup]]
id = "mediatheque"
name = "Médiathèque"
phase = "investigation"
phase_started = 2021-09-01
intrapreneurs = ["paul.durand"]
coaches = ["lea.dupont"]
"""
INTRAPRENEUR = {"archives-ouvertes": "claire.petit", "mediatheque": "paul.durand"}


def paris(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=PARIS)


class Chain:
    """The order chain's steps at given moments, as the handlers make them (the year is the step's own)."""

    def __init__(self, sessions) -> None:  # type: ignore[no-untyped-def]
        self.sessions = sessions
        self.ej = 0

    def quote(self, startup: str, euros: int, when: datetime) -> str:
        with unit_of_work(self.sessions) as session:
            return ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont",
                                       amount_cents=euros * 100, amount_ht_cents=None, supplier="Scopyleft",
                                       object="Sprints", platform="console", now=when, year=when.year).reference

    def validate(self, ref: str, when: datetime) -> None:
        with unit_of_work(self.sessions) as session:
            startup = ledger.get_quote(session=session, reference=ref).startup_id
            ledger.validate_quote(session=session, reference=ref, actor_id=INTRAPRENEUR[startup], platform="console",
                                  now=when, year=when.year)

    def order(self, ref: str, when: datetime) -> None:
        self.ej += 1
        with unit_of_work(self.sessions) as session:
            ledger.place_order(session=session, reference=ref, ej=f"{when.year % 100}{self.ej:08d}", bc=None,
                               actor_id="camille.martin", platform="console", now=when, year=when.year)

    def certify(self, ref: str, euros: int, when: datetime) -> str:
        with unit_of_work(self.sessions) as session:
            sd, quote = ledger.create_service_done(session=session, quote_reference=ref, submitted_by="lea.dupont",
                                                   amount_cents=euros * 100, period=None, platform="console",
                                                   now=when, year=when.year)
            ledger.certify_service_done(session=session, reference=sd.reference,
                                        actor_id=INTRAPRENEUR[quote.startup_id], platform="console", now=when,
                                        year=when.year)
            return sd.reference

    def pay(self, sf: str, when: datetime) -> None:
        with unit_of_work(self.sessions) as session:
            ledger.record_payment(session=session, reference=sf, paid_on=when.date(), actor_id="camille.martin",
                                  platform="console", now=when)

    def close(self, ref: str, when: datetime) -> None:
        with unit_of_work(self.sessions) as session:
            ledger.close_order(session=session, reference=ref, actor_id="camille.martin", platform="console",
                               now=when, year=when.year, reason="fin des travaux")

    def decide(self, startup: str, held_on: date, kind: str, euros: int, until: date, when: datetime) -> None:
        with unit_of_work(self.sessions) as session:
            committee = committees.committee_by_date(session=session, held_on=held_on)
            assert committee is not None
            committees.record_decision(session=session, startup_id=startup, committee=committee, kind=kind,
                                       amount_cents=euros * 100, until=until, note=None, actor_id="camille.martin",
                                       platform="console", now=when)


def walk(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two years of the chain. Archives Ouvertes: D1 100 000 € ordered March 2021, 40 000 € certified and paid
    in 2021; its committee's poursuite (400 000 € until 31 December 2022); D3 200 000 € ordered February 2022,
    120 000 € certified and paid, 30 000 € certified on 5 September (unpaid); D5 20 000 € validated on
    1 September 2022, never ordered. Médiathèque: D2 50 000 € ordered September 2021, all certified in 2021 and
    paid in January 2022; D7 10 000 € validated on 10 December 2021 and ordered in January 2022 (the reservation
    moves to 2022); its relais (100 000 € until 31 December 2022); D4 60 000 € ordered March 2022, 10 000 €
    paid, closed in June (50 000 € released); D6 8 000 € waiting, never decided."""
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=parse_reference(SEED.read_text(encoding="utf-8") + MORE))
    chain = Chain(sessions)
    refs: dict[str, str] = {}
    refs["D1"] = chain.quote("archives-ouvertes", 100_000, paris(2021, 3, 1))
    chain.validate(refs["D1"], paris(2021, 3, 10))
    chain.order(refs["D1"], paris(2021, 3, 20))
    refs["SF1"] = chain.certify(refs["D1"], 40_000, paris(2021, 6, 30))
    chain.pay(refs["SF1"], paris(2021, 7, 15))
    chain.decide("archives-ouvertes", date(2021, 6, 15), "poursuite", 400_000, date(2022, 12, 31), paris(2021, 6, 20))
    refs["D2"] = chain.quote("mediatheque", 50_000, paris(2021, 8, 25))
    chain.validate(refs["D2"], paris(2021, 9, 1))
    chain.order(refs["D2"], paris(2021, 9, 10))
    refs["SF2"] = chain.certify(refs["D2"], 50_000, paris(2021, 11, 30))
    refs["D7"] = chain.quote("mediatheque", 10_000, paris(2021, 12, 1))
    chain.validate(refs["D7"], paris(2021, 12, 10))
    chain.decide("mediatheque", date(2021, 12, 14), "relais", 100_000, date(2022, 12, 31), paris(2021, 12, 20))
    chain.order(refs["D7"], paris(2022, 1, 12))
    chain.pay(refs["SF2"], paris(2022, 1, 20))
    refs["D3"] = chain.quote("archives-ouvertes", 200_000, paris(2022, 1, 25))
    chain.validate(refs["D3"], paris(2022, 2, 1))
    chain.order(refs["D3"], paris(2022, 2, 15))
    refs["D4"] = chain.quote("mediatheque", 60_000, paris(2022, 2, 20))
    chain.validate(refs["D4"], paris(2022, 3, 1))
    chain.order(refs["D4"], paris(2022, 3, 10))
    refs["SF5"] = chain.certify(refs["D4"], 10_000, paris(2022, 4, 30))
    chain.pay(refs["SF5"], paris(2022, 5, 15))
    refs["SF3"] = chain.certify(refs["D3"], 120_000, paris(2022, 5, 31))
    chain.pay(refs["SF3"], paris(2022, 6, 20))
    chain.close(refs["D4"], paris(2022, 6, 30))
    refs["D6"] = chain.quote("mediatheque", 8_000, paris(2022, 8, 1))
    refs["D5"] = chain.quote("archives-ouvertes", 20_000, paris(2022, 8, 25))
    chain.validate(refs["D5"], paris(2022, 9, 1))
    refs["SF4"] = chain.certify(refs["D3"], 30_000, paris(2022, 9, 5))
    return refs


@pytest.fixture
def seed(any_engine: Engine):  # type: ignore[no-untyped-def]
    """The seed convention after two years of the chain (see :func:`walk`), on SQLite and PostgreSQL."""
    sessions = session_factory(any_engine)
    return sessions, walk(sessions)


def bilan(sessions, now: datetime):  # type: ignore[no-untyped-def]
    with unit_of_work(sessions) as session:
        return final_report(session=session, t=T, now=now)


def test_each_year_gives_its_allocation_what_was_engaged_and_consumed_and_what_was_left(seed) -> None:  # type: ignore[no-untyped-def]
    """Made on 2 January 2023: 2020 untouched; 2021 engaged 150 000 € of 800 000 € and paid 40 000 € of
    650 000 €; 2022 engaged 220 000 € (D4's release given back, D7's reservation moved in) and paid 180 000 €
    of 1 700 000 €, with 20 000 € reserved without an order and 30 000 € certified unpaid; the unspent credits
    are the allocations less what was engaged or paid."""
    sessions, _refs = seed
    report = bilan(sessions, paris(2023, 1, 2, 9))
    assert not report.provisional and report.last_day == date(2022, 12, 31)
    years = {y.year: y for y in report.figures.years}
    assert list(years) == [2020, 2021, 2022]
    assert (years[2020].engaged_cents, years[2020].ae_unspent_cents, years[2020].cp_unspent_cents) == (0, 50_000_00, 0)
    y21, y22 = years[2021], years[2022]
    assert (y21.ae_cents, y21.engaged_cents, y21.reserved_cents, y21.ae_unspent_cents) == (
        800_000_00, 150_000_00, 0, 650_000_00)
    assert (y21.cp_cents, y21.paid_cents, y21.to_pay_cents, y21.cp_unspent_cents) == (
        650_000_00, 40_000_00, 0, 610_000_00)
    assert (y22.engaged_cents, y22.reserved_cents, y22.ae_unspent_cents) == (220_000_00, 20_000_00, 1_280_000_00)
    assert (y22.paid_cents, y22.to_pay_cents, y22.cp_unspent_cents) == (180_000_00, 30_000_00, 1_520_000_00)
    assert (y21.restes_cents, y22.restes_cents) == (60_000_00, 90_000_00)
    assert report.figures.total("ae_unspent_cents") == 50_000_00 + 650_000_00 + 1_280_000_00
    startups = {s.startup_id: s for s in report.figures.startups}
    archives, media = startups["archives-ouvertes"], startups["mediatheque"]
    assert (archives.engaged_cents, archives.paid_cents, archives.to_pay_cents, archives.restes_cents,
            archives.reserved_cents) == (300_000_00, 160_000_00, 30_000_00, 140_000_00, 20_000_00)
    assert (media.engaged_cents, media.paid_cents, media.restes_cents) == (70_000_00, 60_000_00, 10_000_00)
    assert [(d.startup_id, d.kind) for d in report.decisions] == [("archives-ouvertes", "poursuite"),
                                                                  ("mediatheque", "relais")]
    assert report.figures.pending_quotes == 1  # D6, never decided


def test_restes_a_payer_at_the_end_are_budgets_and_the_open_orders_add_up_to_them(seed) -> None:  # type: ignore[no-untyped-def]
    """With nothing after the end, the bilan's restes à payer are budget's, year by year and over every year,
    and the orders listed (not soldées, or soldées and still owed) add up to them; D4, closed and paid, is not
    listed; D5 is the reservation never ordered."""
    sessions, refs = seed
    report = bilan(sessions, paris(2023, 1, 2, 9))
    with unit_of_work(sessions) as session:
        balances = {year: ledger.year_balance(session=session, year=year) for year in (2020, 2021, 2022)}
    assert report.figures.total("restes_cents") == balances[2022].restes_all_years_cents == 150_000_00
    for y in report.figures.years:
        assert y.restes_cents == balances[y.year].restes_cents
        assert (y.engaged_cents, y.reserved_cents) == (balances[y.year].ae_engaged_cents,
                                                       balances[y.year].ae_reserved_cents)
        assert (y.paid_cents, y.to_pay_cents) == (balances[y.year].cp_consumed_cents, balances[y.year].cp_to_pay_cents)
    orders = {o.reference: o for o in report.figures.orders}
    assert list(orders) == [refs["D1"], refs["D2"], refs["D7"], refs["D3"]]  # by order date
    assert sum(o.restes_cents for o in orders.values()) == 150_000_00
    d3 = orders[refs["D3"]]
    assert (d3.amount_cents, d3.certified_cents, d3.paid_cents, d3.restes_cents) == (
        200_000_00, 150_000_00, 120_000_00, 80_000_00)
    assert orders[refs["D2"]].restes_cents == 0 and orders[refs["D2"]].closed_on is None  # paid, never soldée
    assert [r.reference for r in report.figures.reservations] == [refs["D5"]]


def terminate(sessions, on: date) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(sessions) as session:
        convention.terminate(session=session, on=on, reason="fin anticipée", now=paris(2022, 6, 10))


def test_the_bilan_of_a_termination_is_the_same_before_and_after_what_happens_after_it(seed) -> None:  # type: ignore[no-untyped-def]
    """Terminated on 15 September 2022: the bilan made on the 16th, then again after a payment, a certification,
    a refusal and a closing later in September, and again in February, gives the very same figures and text —
    and on the 16th they are the month's moves the ledger wrote (the steps of 1–15 September read from their
    dates add up to what ``startup_month_move`` holds)."""
    sessions, refs = seed
    terminate(sessions, date(2022, 9, 15))
    first = bilan(sessions, paris(2022, 9, 16))
    assert not first.provisional and first.terminated and first.at == datetime(2022, 9, 16, tzinfo=PARIS)
    with unit_of_work(sessions) as session:
        from_dates = counters_at(session=session, at=first.at)
        written = {(m.startup_id, m.year): m for m in session.exec(select(StartupMonthMove)).all()}
        budget = ledger.year_balance(session=session, year=2022)
    moved: dict[tuple[str, int], dict[str, int]] = {}
    with unit_of_work(sessions) as session:
        for m in session.exec(select(StartupMonthMove)).all():
            row = moved.setdefault((m.startup_id, m.year), {})
            for name in from_dates[(m.startup_id, m.year)]:
                row[name] = row.get(name, 0) + getattr(m, name)
    assert written and {k: v for k, v in from_dates.items() if any(v.values())} == \
        {k: v for k, v in moved.items() if any(v.values())}
    assert first.figures.total("restes_cents") == budget.restes_all_years_cents \
        == sum(o.restes_cents for o in first.figures.orders)

    chain = Chain(sessions)
    chain.pay(refs["SF4"], paris(2022, 9, 20))
    chain.certify(refs["D7"], 10_000, paris(2022, 9, 22))
    with unit_of_work(sessions) as session:
        ledger.refuse_quote(session=session, reference=refs["D6"], actor_id="paul.durand", platform="console",
                            reason="hors délai", now=paris(2022, 9, 23))
    chain.close(refs["D3"], paris(2022, 9, 26))
    with unit_of_work(sessions) as session:
        assert ledger.year_balance(session=session, year=2022).restes_all_years_cents != budget.restes_all_years_cents

    for later in (paris(2022, 9, 30, 18), paris(2022, 10, 3), paris(2023, 2, 1)):
        again = bilan(sessions, later)
        assert again.figures == first.figures
        assert final_document(again, T) == final_document(first, T)
    assert first.figures.total("to_pay_cents") == 30_000_00 and first.figures.pending_quotes == 1
    text = render(final_document(first, T), "md", T).decode("utf-8")
    assert "Résiliée : dernier jour le 15 septembre 2022 (art. 7) — fin anticipée." in text
    assert "\ue000" not in text and "\ue001" not in text  # the reason is plain text in a document


def test_before_the_end_the_bilan_is_provisional_as_of_now(seed) -> None:  # type: ignore[no-untyped-def]
    """Asked on 10 October 2022, the bilan says it is provisional, as of that moment, with the end to come."""
    sessions, _refs = seed
    report = bilan(sessions, paris(2022, 10, 10))
    assert report.provisional and report.at == paris(2022, 10, 10)
    text = plain(final_reply(report, T).text)
    assert "Bilan provisoire de la convention MC-DINUM-2020" in text and "prend fin le 31 décembre 2022" in text


def test_the_chat_message_says_each_year_the_unspent_credits_and_what_is_still_owed(seed) -> None:  # type: ignore[no-untyped-def]
    """The message: each year with its rates, the unspent credits (art. 5), the restes à payer the délégant still
    owes, the orders not soldées, the reservation never ordered, each startup with its last decision."""
    sessions, _refs = seed
    text = plain(final_reply(bilan(sessions, paris(2023, 1, 2, 9)), T).text)
    assert text.startswith("Bilan final de la convention MC-DINUM-2020 — du 1er novembre 2020 au 31 décembre 2022")
    assert "Arrivée à son terme le 31 décembre 2022 (art. 7)" in text
    assert ("• 2022 — AE engagées 220 000,00 € sur 1 500 000,00 € (15 %), non engagées 1 280 000,00 € · CP "
            "consommés 180 000,00 € sur 1 700 000,00 € (11 %), non consommés 1 520 000,00 € · restes à payer "
            "90 000,00 €") in text
    assert "Crédits non consommés (art. 5) : AE non engagées 1 980 000,00 € · CP non consommés 2 130 000,00 €." in text
    assert "Restes à payer à la fin : 150 000,00 €, sur 3 commandes ; le délégant les doit encore" in text
    assert "4 commandes ne sont pas soldées." in text
    assert "1 devis validé sans bon de commande (20 000,00 € d'AE réservées jamais engagées)." in text
    assert ("• Médiathèque — AE engagées 70 000,00 € · CP consommés 60 000,00 € · restes à payer 10 000,00 € · "
            "dernière décision : relais, 100 000,00 € jusqu'au 31 décembre 2022") in text
    assert "incubot report --final --format pdf" in text


def test_a_manager_types_rapport_final_a_coach_is_told_it_is_for_managers(any_engine: Engine) -> None:
    """Camille types `rapport final` (or `bilan`): the bilan; Léa, coach, is told it is the managers'."""
    from tests.chat import runtime_of

    sessions = session_factory(any_engine)
    walk(sessions)
    bot = runtime_of(any_engine, Clock(paris(2023, 1, 5))).bot
    said = plain(bot.message(Request("console", "camille.martin", "rapport final")).text)
    assert said.startswith("Bilan final de la convention MC-DINUM-2020") and "Archives Ouvertes" in said
    assert plain(bot.message(Request("console", "camille.martin", "bilan")).text) == said
    assert "réservée aux gestionnaires" in plain(bot.message(Request("console", "lea.dupont", "rapport final")).text)
    assert "Rapport mensuel — décembre 2022" in plain(bot.message(Request("console", "camille.martin", "rapport")).text)


# --------------------------------------------------------------------------- files


def test_cli_final_report_as_csv_md_xlsx_and_pdf(seed, any_engine: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`incubot report --final --format csv|md|xlsx|pdf`: the years for a spreadsheet, the whole bilan in
    Markdown, a workbook with a sheet per table, a PDF with the figures and the chart; `--month` with
    `--final` is refused."""
    from openpyxl import load_workbook

    database = ["--database", any_engine.url.render_as_string(hide_password=False)]
    assert main([*database, "report", "--final", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter=";"))
    assert [r["Année"] for r in rows] == ["2020", "2021", "2022", "Total"]
    assert rows[2]["AE engagées"] == "220000.00" and rows[2]["AE non engagées"] == "1280000.00"
    assert rows[-1]["Restes à payer"] == "150000.00" and rows[1]["CP non consommés"] == "610000.00"

    assert main([*database, "report", "--final", "--format", "md"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Bilan final de la convention MC-DINUM-2020")
    assert "## Restes à payer à la fin de la convention" in text and "| ouverte |" in text
    assert "## Décisions des comités d'investissement" in text and "| Médiathèque | relais |" in text

    book = tmp_path / "bilan.xlsx"
    assert main([*database, "report", "--final", "--format", "xlsx", "--output", str(book)]) == 0
    sheets = load_workbook(book)
    assert {"Par année", "Commandes ouvertes", "Par startup", "Décisions"} <= set(sheets.sheetnames)
    assert sheets["Commandes ouvertes"]["K2"].value == 60000  # D1's reste à payer, a number

    target = tmp_path / "bilan.pdf"
    assert main([*database, "report", "--final", "--format", "pdf", "--output", str(target)]) == 0
    data = target.read_bytes()
    keep(data, "bilan")
    pdf = pdf_text(data)
    assert "Bilan final de la convention MC-DINUM-2020" in pdf and "AE et CP de chaque année" in pdf
    assert "150 000,00 €" in pdf
    share, blue = ink(rendered_page(data))
    assert share > 0.01 and blue > 500

    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        main([*database, "report", "--final", "--month", "2022-11"])
    assert refused.value.code == 2 and "incompatible" in capsys.readouterr().err


# --------------------------------------------------------------------------- the reminder


def test_the_bilan_goes_once_on_the_first_working_day_after_the_end_to_managers_and_the_delegant(
        engine: Engine, clock: Clock) -> None:
    """The convention ends on Saturday 31 December 2022 (1 January is a Sunday and a holiday): on Monday
    2 January at 09:00 the bilan, its PDF attached, goes to the managers' channel and to Camille, the délégant's
    manager, by direct message — not to Hugo, on the délégataire's side — once, with the audit row saying she
    was told."""
    walk(session_factory(engine))
    inc = make_incubator(engine, clock)
    for moment in (paris(2022, 12, 31, 9), paris(2023, 1, 1, 9), paris(2023, 1, 2, 8)):
        assert not [r for r in inc.sweep(moment) if r.kind == reminders.FINAL_REPORT]
    fired = [r for r in inc.sweep(paris(2023, 1, 2, 9)) if r.kind == reminders.FINAL_REPORT]
    assert sorted(r.target for r in fired) == ["managers", "person:camille.martin"]
    assert {r.occurrence for r in fired} == {"MC-DINUM-2020@2022-12-31"}
    assert not [r for r in inc.sweep(paris(2023, 1, 2, 15)) if r.kind == reminders.FINAL_REPORT]
    assert not [r for r in inc.sweep(paris(2023, 3, 1, 9)) if r.kind == reminders.FINAL_REPORT]
    (channel,) = inc.managers("Bilan final")
    assert "Restes à payer à la fin : 150 000,00 €" in channel and "Ci-joint le bilan complet" in channel
    assert inc.dms("camille.martin", "Bilan final") == [channel]
    for place in ("managers", "dm:camille.martin"):
        (sent,) = [r for r in inc.sender.messages(place) if "Bilan final" in r.text]
        assert [f.filename for f in sent.files] == ["bilan-MC-DINUM-2020.pdf"]
        pdf = pdf_text(sent.files[0].data)
        assert "Bilan final de la convention MC-DINUM-2020" in pdf and "150 000,00 €" in pdf
    assert not inc.dms("hugo.bernard", "Bilan final")
    with unit_of_work(inc.runtime.services.sessions) as session:
        told = session.exec(select(AuditEvent).where(AuditEvent.action == "alert.delegant_informed")).all()
    assert [e.after for e in told if "final_report" in (e.after or "")] == [
        '{"alert": "reminder.final_report", "occurrence": "MC-DINUM-2020@2022-12-31", "told": ["camille.martin"]}']


def test_after_a_termination_the_bilan_waits_for_the_working_day_after_its_last_day(
        engine: Engine, clock: Clock) -> None:
    """Terminated with 10 November 2022 as last day: 11 November is a holiday, then the week-end, so the bilan
    goes on Monday 14 November, with the termination's figures; the end's own date sends nothing more."""
    sessions = session_factory(engine)
    walk(sessions)
    terminate(sessions, date(2022, 11, 10))
    inc = make_incubator(engine, clock)
    for moment in (paris(2022, 11, 11, 9), paris(2022, 11, 12, 9), paris(2022, 11, 13, 9)):
        assert not [r for r in inc.sweep(moment) if r.kind == reminders.FINAL_REPORT]
    fired = [r for r in inc.sweep(paris(2022, 11, 14, 9)) if r.kind == reminders.FINAL_REPORT]
    assert {r.occurrence for r in fired} == {"MC-DINUM-2020@2022-11-10"} and len(fired) == 2
    assert "Résiliée : dernier jour le 10 novembre 2022 (art. 7)" in inc.managers("Bilan final")[0]
    assert not [r for r in inc.sweep(paris(2023, 1, 2, 9)) if r.kind == reminders.FINAL_REPORT]


def test_month_start_is_the_convention_months_first_instant() -> None:
    """The bilan of a termination on the 15th reads the steps of the 1st–15th; one of a month's last day reads none."""
    assert month_start(datetime(2022, 9, 16, tzinfo=PARIS)) == datetime(2022, 9, 1, tzinfo=PARIS)
    assert month_start(datetime(2023, 1, 1, tzinfo=PARIS)) == datetime(2023, 1, 1, tzinfo=PARIS)
    assert month_start(datetime(2022, 8, 31, 22, 30, tzinfo=ZoneInfo("UTC"))) == datetime(2022, 9, 1, tzinfo=PARIS)


def test_no_convention_no_bilan(engine: Engine) -> None:
    """Without a convention the bilan says to import the reference file first."""
    from handlers.errors import CommandError

    with pytest.raises(CommandError, match="importez d'abord"):
        bilan(session_factory(engine), paris(2023, 1, 2))
