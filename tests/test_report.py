"""The monthly report (art. 5): per startup and in total, in chat, as Markdown and CSV for the ministry."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.i18n import Translator
from handlers.reports import monthly_report, report_csv, report_markdown
from storage import ledger
from storage.db import unit_of_work

PARIS = ZoneInfo("Europe/Paris")


def at(m: int, d: int, h: int = 10) -> datetime:
    return datetime(2026, m, d, h, tzinfo=PARIS)


@pytest.fixture
def october(world):  # type: ignore[no-untyped-def]
    """The order chain up to October 2026. Collectif Objets: 5 000 € validated on 10 September, ordered on the
    12th, 1 000 € certified on the 30th and paid on 2 October. Dédale: 10 000 € validated on 5 October, ordered
    on the 8th, 2 500 € certified on the 20th (to pay); 3 000 € validated on the 25th, its order not placed;
    7 000 € validated in November. Euphrosyne: 4 000 € waiting. AE 2026 is 1 500 000 €, CP 1 700 000 €."""
    with unit_of_work(world) as session:
        def quote(startup: str, cents: int, when: datetime, intra: str | None, *, ordered: datetime | None = None,
                  certify: int = 0, certified_on: datetime | None = None, paid_on: datetime | None = None) -> None:
            q = ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont",
                                    amount_cents=cents, amount_ht_cents=None, supplier="Scopyleft", object="Sprints",
                                    platform="console", now=when, year=2026)
            if intra is None:
                return
            ledger.validate_quote(session=session, reference=q.reference, actor_id=intra, platform="console",
                                  now=when, year=2026)
            if ordered is not None:
                ledger.place_order(session=session, reference=q.reference, ej=f"21000{q.seq:05d}", bc=None,
                                   actor_id="camille.martin", platform="console", now=ordered, year=2026)
            if certify:
                sd, _ = ledger.create_service_done(session=session, quote_reference=q.reference,
                                                   submitted_by="lea.dupont", amount_cents=certify, period=None,
                                                   platform="console", now=certified_on or when, year=2026)
                ledger.certify_service_done(session=session, reference=sd.reference, actor_id=intra,
                                            platform="console", now=certified_on or when, year=2026)
                if paid_on is not None:
                    ledger.record_payment(session=session, reference=sd.reference, paid_on=paid_on.date(),
                                          actor_id="camille.martin", platform="console", now=paid_on)

        quote("dedale", 10_000_00, at(10, 5), "julien.moreau", ordered=at(10, 8), certify=2_500_00,
              certified_on=at(10, 20))
        quote("collectif-objets", 5_000_00, at(9, 10), "claire.petit", ordered=at(9, 12), certify=1_000_00,
              certified_on=at(9, 30), paid_on=at(10, 2))
        quote("euphrosyne", 4_000_00, at(10, 28), None)
        quote("dedale", 3_000_00, at(10, 25), "julien.moreau")  # validated, its order not placed: AE réservées
        quote("dedale", 7_000_00, at(11, 3), "julien.moreau")  # November: not in October's month figures
    return world


def test_report_figures_per_startup_and_in_total(october) -> None:  # type: ignore[no-untyped-def]
    """October 2026 at each step of the chain: AE engagées by the orders (month, year), réservées by the quote
    without its order, CP à payer by the certification, consommés by the payment; pending, restes à payer
    (engaged − paid), projections at October's pace."""
    with unit_of_work(october) as session:
        report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=10)
    rows = {r.startup_id: r for r in report.rows}
    dedale, collectif = rows["dedale"], rows["collectif-objets"]
    assert (dedale.ae_month_cents, dedale.ae_year_cents, dedale.ae_reserved_cents) == (10_000_00, 10_000_00, 3_000_00)
    assert (dedale.cp_to_pay_cents, dedale.cp_month_cents, dedale.outstanding_cents) == (2_500_00, 0, 10_000_00)
    assert (collectif.ae_month_cents, collectif.ae_year_cents, collectif.ae_reserved_cents) == (0, 5_000_00, 0)
    assert (collectif.cp_to_pay_cents, collectif.cp_month_cents, collectif.cp_year_cents) == (0, 1_000_00, 1_000_00)
    assert collectif.outstanding_cents == 4_000_00
    assert rows["euphrosyne"].pending_count == 1 and rows["euphrosyne"].pending_cents == 4_000_00
    assert report.total("ae_year_cents") == 15_000_00 and report.total("cp_year_cents") == 1_000_00
    assert report.projected_cp_cents == 1_000_00 * 12 // 10
    assert report.projected_ae_cents == 15_000_00 * 12 // 10


def test_the_report_agrees_with_budget_at_the_end_of_the_month(october) -> None:  # type: ignore[no-untyped-def]
    """Asked for November with nothing after it, the report's AE réservées / engagées, CP à payer / consommés
    and restes à payer are budget's figures, the same CHORUS shows."""
    with unit_of_work(october) as session:
        report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=11)
        balance = ledger.year_balance(session=session, year=2026)
    assert report.total("ae_reserved_cents") == balance.ae_reserved_cents == 10_000_00
    assert report.total("ae_year_cents") == balance.ae_engaged_cents == 15_000_00
    assert report.total("cp_to_pay_cents") == balance.cp_to_pay_cents == 2_500_00
    assert report.total("cp_year_cents") == balance.cp_consumed_cents == 1_000_00
    assert report.total("outstanding_cents") == balance.restes_all_years_cents == 14_000_00


def test_october_asked_again_after_novembers_activity_gives_the_same_figures(october) -> None:  # type: ignore[no-untyped-def]
    """October's report, asked on 5 November then again after November's steps on October's requests (the quote
    waiting withdrawn, the reserved one ordered, the certified part paid — recorded in November with an October
    payment date — the order closed): the same document, word for word; November's report has the moves."""
    from sqlmodel import select

    from storage.models import Quote, ServiceDone

    def october_text() -> str:
        with unit_of_work(october) as session:
            report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=10)
            return report_markdown(report, Translator("fr", PARIS), session=session)

    before = october_text()
    with unit_of_work(october) as session:
        quotes = {(q.startup_id, q.amount_cents): q.reference for q in session.exec(select(Quote)).all()}
        to_pay = session.exec(select(ServiceDone).where(ServiceDone.status == "certified")).one().reference
        ledger.withdraw_quote(session=session, reference=quotes[("euphrosyne", 4_000_00)], actor_id="lea.dupont",
                              platform="console", now=at(11, 6))
        ledger.place_order(session=session, reference=quotes[("dedale", 3_000_00)], ej="2100099999", bc=None,
                           actor_id="camille.martin", platform="console", now=at(11, 9), year=2026)
        ledger.record_payment(session=session, reference=to_pay, paid_on=at(10, 30).date(),
                              actor_id="camille.martin", platform="console", now=at(11, 12))
        ledger.close_order(session=session, reference=quotes[("dedale", 10_000_00)], actor_id="camille.martin",
                           platform="console", now=at(11, 20), year=2026)

    assert october_text() == before
    with unit_of_work(october) as session:
        november = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=11)
    dedale = {r.startup_id: r for r in november.rows}["dedale"]
    assert (dedale.ae_month_cents, dedale.cp_month_cents, dedale.ae_reserved_cents) == (
        3_000_00 - 7_500_00, 2_500_00, 7_000_00)  # ordered 3 000, released 7 500 by the closing; paid 2 500
    assert {r.startup_id: r for r in november.rows}["euphrosyne"].pending_count == 0


def test_report_as_csv_for_the_ministry(october) -> None:  # type: ignore[no-untyped-def]
    """CSV: one line per startup plus the total, exact euros, rates with one decimal, restes à payer."""
    with unit_of_work(october) as session:
        report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=10)
    rows = list(csv.DictReader(io.StringIO(report_csv(report, Translator("fr", PARIS))), delimiter=";"))
    assert [r["Startup"] for r in rows] == ["Collectif Objets", "Dédale", "Euphrosyne", "Locadocs", "Total"]
    total = rows[-1]
    assert total["AE réservées"] == "3000.00"
    assert total["AE engagées (mois)"] == "10000.00" and total["AE engagées (année)"] == "15000.00"
    assert total["CP à payer"] == "2500.00"
    assert total["CP consommés (mois)"] == "1000.00" and total["CP consommés (année)"] == "1000.00"
    assert total["Taux AE (année)"] == "1.0" and total["Taux CP (année)"] == "0.1"
    assert total["Devis en attente"] == "1" and total["Montant en attente"] == "4000.00"
    assert total["Restes à payer"] == "14000.00"  # 15 000 engaged − 1 000 paid at the end of October
    assert total["Projection CP au 31/12"] == "1200.00"


def test_report_csv_neutralises_a_startup_name_a_spreadsheet_would_run(october) -> None:  # type: ignore[no-untyped-def]
    """A startup named `=HYPERLINK(…)` is a text cell (`'=HYPERLINK(…)`) in the report CSV; figures stay numbers."""
    import sqlalchemy as sa

    with unit_of_work(october) as session:
        session.execute(sa.text("UPDATE startup SET name = :name WHERE id = 'dedale'"),
                        {"name": '=HYPERLINK("https://evil.example","Dédale")'})
    with unit_of_work(october) as session:
        report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=10)
    rows = list(csv.DictReader(io.StringIO(report_csv(report, Translator("fr", PARIS))), delimiter=";"))
    names = [r["Startup"] for r in rows]
    assert "'=HYPERLINK(\"https://evil.example\",\"Dédale\")" in names
    assert all(not n.startswith(("=", "+", "-", "@")) for n in names)
    assert rows[-1]["AE engagées (année)"] == "15000.00"


def test_report_as_markdown(october) -> None:  # type: ignore[no-untyped-def]
    """Markdown: a title with the month, the expenses, the chart's figures, every startup and the total, the
    quotes pending at the end of the month as forecast, each startup's phase."""
    with unit_of_work(october) as session:
        report = monthly_report(session=session, t=Translator("fr", PARIS), year=2026, month=10)
        text = report_markdown(report, Translator("fr", PARIS), session=session)
    assert text.startswith("# Rapport mensuel — octobre 2026")
    assert "Convention MC-DINUM-2024" in text and "Période : du 1er octobre 2026 au 31 octobre 2026" in text
    assert "| AE réservées (commande à passer) |  | 3 000,00 € |  | 0 % |  |" in text
    assert "| AE engagées | 10 000,00 € | 15 000,00 € | 1 500 000,00 € | 1 % | 1 482 000,00 € |" in text
    assert "| CP à payer (services faits certifiés) |  | 2 500,00 € |  | 0 % |  |" in text
    assert "| CP consommés (payés) | 1 000,00 € | 1 000,00 € | 1 700 000,00 € | 0 % | 1 696 500,00 € |" in text
    assert "| sept. | 5 000,00 € | 0,00 € |" in text and "| oct. | 15 000,00 € | 1 000,00 € |" in text
    assert "| Dédale | 3 000,00 € | 10 000,00 € | 10 000,00 € | 1 % |" in text  # the November quote is not October's
    assert "| **Total** |" in text and "Restes à payer" in text and "Projection au 31 décembre" in text
    assert "| D-2026-0003 | Euphrosyne | Scopyleft | Sprints | 4 000,00 € |" in text
    assert "| Dédale | Construction |" in text


def test_manager_asks_the_report_in_chat_with_rates(chat, october) -> None:  # type: ignore[no-untyped-def]
    """A manager types `rapport 2026-10`: totals, rates, and one line per startup."""
    said = chat.say("camille.martin", "rapport 2026-10")
    assert "Rapport mensuel — octobre 2026" in said.text
    assert "Dédale — AE 10 000,00 € / 10 000,00 € (1 %)" in said.text
    assert "restes à payer : 14 000,00 €" in said.text
    assert "incubot report --month 2026-10 --format pdf" in said.text  # where the file with the chart comes from


def test_cli_report_month_as_csv_and_md(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`incubot report --month 2022-11 --format csv|md` writes the file for the ministry; a bad month is refused."""
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'report.db'}"
    seed = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(seed)]) == 0
    capsys.readouterr()
    assert main(["--database", url, "report", "--month", "2022-11", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Startup;AE réservées;AE engagées (mois)") and "Archives Ouvertes;0.00" in out
    target = tmp_path / "rapport.md"
    assert main(["--database", url, "report", "--month", "2022-11", "--format", "md", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("# Rapport mensuel — novembre 2022")
    assert main(["--database", url, "report", "--month", "2022-13"]) == 2
    assert "n'est pas un mois" in capsys.readouterr().err
