"""Documents for the ministry, opened by other tools: the monthly report and the PV de service fait as PDF
(text extracted, page rendered to an image), XLSX (cells read back), Markdown and CSV; bad input refused."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from handlers.documents import (
    Bullets,
    Chart,
    Document,
    Heading,
    KeyValues,
    Money,
    Paragraph,
    Rate,
    Series,
    Signature,
    Table,
    render,
)
from handlers.i18n import Translator
from storage import ledger
from storage.db import unit_of_work

PARIS = ZoneInfo("Europe/Paris")
T = Translator("fr", PARIS)


def at(m: int, d: int, h: int = 10) -> datetime:
    return datetime(2026, m, d, h, tzinfo=PARIS)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Lines joined (a sentence wrapped in the PDF reads as one), narrow no-break spaces kept."""
    return re.sub(r"[ \n]+", " ", text)


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def rendered_page(data: bytes, page: int = 0, scale: float = 1.0):  # type: ignore[no-untyped-def]
    """The page as a Pillow image, drawn by pdfium (the PDF engine of Chromium), or poppler's pdftoppm."""
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - the test extra installs it
        pdfium = None
    if pdfium is not None:
        document = pdfium.PdfDocument(data)
        return document[page].render(scale=scale).to_pil().convert("RGB")
    import shutil
    import subprocess
    import tempfile

    from PIL import Image

    if shutil.which("pdftoppm") is None:  # pragma: no cover
        pytest.skip("neither pypdfium2 nor pdftoppm is installed: no PDF page can be drawn here")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(data)
        subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", str(page + 1), "-l", str(page + 1), str(source),
                        str(Path(folder) / "page")], check=True, timeout=60)
        return Image.open(next(Path(folder).glob("page*.png"))).convert("RGB")


def keep(data: bytes, name: str) -> None:
    """With INCUBOT_KEEP_DOCUMENTS=FOLDER, the PDF and its pages as PNG are kept there, for a person to look at."""
    import os

    folder = os.environ.get("INCUBOT_KEEP_DOCUMENTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{name}.pdf").write_bytes(data)
    for page in range(pdf_pages(data)):
        rendered_page(data, page, scale=1.5).save(Path(folder) / f"{name}-{page + 1}.png")


def ink(image) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """The share of the page that is not white, and how many pixels are bleu France (the titles, the AE line)."""
    pixels = list(image.getdata())
    dark = sum(1 for r, g, b in pixels if r + g + b < 600)
    blue = sum(1 for r, g, b in pixels if r < 60 and g < 60 and b > 110)
    return dark / len(pixels), blue


@pytest.fixture
def october(world):  # type: ignore[no-untyped-def]
    """Dédale: 10 000 € validated on 5 October and ordered on the 6th (EJ 2100000001), 2 500 € certified on
    20 October (SF-2026-0001) and paid on the 27th, 3 000 € certified on 3 November (SF-2026-0002);
    Euphrosyne: 4 000 € submitted on 28 October, validated on 4 November."""
    with unit_of_work(world) as session:
        q = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                amount_cents=10_000_00, amount_ht_cents=8_333_33, supplier="Scopyleft",
                                object="Sprints 7 à 9 — développement", platform="console", now=at(10, 5), year=2026)
        ledger.validate_quote(session=session, reference=q.reference, actor_id="julien.moreau", platform="console",
                              now=at(10, 5, 11), year=2026)
        ledger.place_order(session=session, reference=q.reference, ej="2100000001", bc=None, actor_id="camille.martin",
                           platform="console", now=at(10, 6), year=2026)
        for cents, when, period in ((2_500_00, at(10, 20), "octobre 2026, sprint 7"),
                                    (3_000_00, at(11, 3), "novembre 2026, sprint 8")):
            sd, _ = ledger.create_service_done(session=session, quote_reference=q.reference,
                                               submitted_by="lea.dupont", amount_cents=cents, period=period,
                                               platform="console", now=when, year=2026)
            ledger.certify_service_done(session=session, reference=sd.reference, actor_id="julien.moreau",
                                        platform="console", now=when.replace(hour=15), year=2026)
        ledger.record_payment(session=session, reference="SF-2026-0001", paid_on=date(2026, 10, 27),
                              actor_id="camille.martin", platform="console", now=at(10, 27))
        pending = ledger.create_quote(session=session, startup_id="euphrosyne", submitted_by="lea.dupont",
                                      amount_cents=4_000_00, amount_ht_cents=None, supplier="Octo",
                                      object="Design", platform="console", now=at(10, 28), year=2026)
        ledger.validate_quote(session=session, reference=pending.reference, actor_id="sophie.laurent",
                              platform="console", now=at(11, 4), year=2026)
        waiting = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                      amount_cents=1_000_00, amount_ht_cents=None, supplier="Scopyleft",
                                      object="Hébergement", platform="console", now=at(11, 4), year=2026)
        sd, _ = ledger.create_service_done(session=session, quote_reference=pending.reference,
                                           submitted_by="lea.dupont", amount_cents=1_000_00, period=None,
                                           platform="console", now=at(11, 5), year=2026)
        del waiting, sd
    return world


def database(engine: Engine) -> list[str]:
    return ["--database", engine.url.render_as_string(hide_password=False)]


# --------------------------------------------------------------------------- the document layer


def sample() -> Document:
    return Document(
        title="Document d’essai — « é € ’ »",
        metadata=("Données au 1er décembre 2026", "Espace fine\u202f: ok"),
        blocks=(
            Heading("Chiffres"),
            Bullets(("Premier point", "Second point")),
            KeyValues((("Montant", Money(1_234_567_89)), ("Taux", Rate(1, 8)), ("Le", date(2026, 12, 1)),
                       ("Nombre", 12)), title="Bloc"),
            Table(("Nom", "Montant", "Taux", "Depuis"),
                  (("=HYPERLINK(\"x\")", Money(1_000_00), Rate(1, 4), date(2026, 3, 1)),
                   ("Total", Money(1_000_00), Rate(1, 4), None)), title="Tableau", total=True, name="Tableau"),
            Chart("Consommation", ("janv.", "févr.", "mars"),
                  (Series("AE", (0, 50_000_00, 90_000_00), "#000091", 100_000_00, "Dotation AE"),
                   Series("CP", (0, 10_000_00, 30_000_00), "#E1000F", 120_000_00, "Dotation CP"))),
            Paragraph("Certifié.", emphasis=True),
            Signature("Pour le délégataire", ("Date :",)),
        ),
        footer="pied de page", created=datetime(2026, 12, 1, 9, tzinfo=PARIS))


def test_a_document_as_pdf_embeds_a_font_that_writes_french() -> None:
    """The PDF carries its own font: « é € ’ », the narrow no-break space, amounts the French way, read back."""
    data = render(sample(), "pdf", T)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Document d’essai — « é € ’ »" in text
    assert "1 234 567,89 €" in text and "12 %" in text and "1er décembre 2026" in text
    assert "Espace fine\u202f: ok" in text
    assert b"/FontFile2" in data and b"DejaVu" in data  # a TrueType font embedded, not a standard PDF font


@pytest.fixture(autouse=True)
def every_glyph_drawn(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Each PDF these tests make is drawn whole: fpdf2 warns of a character the embedded font lacks."""
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        yield
    missing = [r.getMessage() for phase in ("setup", "call") for r in caplog.get_records(phase)
               if r.name.startswith("fpdf") and "missing" in r.getMessage()]
    assert not missing, missing


def test_names_in_any_european_language_are_drawn() -> None:
    """A supplier or a person written in Romanian, Vietnamese, Greek or Cyrillic is drawn, not a box: the
    embedded font keeps every Latin letter, Greek and Cyrillic, and the signs a report writes."""
    names = ("Ștefan Țară — Nguyễn Thị Minh Khai — Αθηνά Παπαδοπούλου — Москва, ул. Тверская — "
             "Œuvre nº 3, № 12, ½, 2ᵉ → ≤ ≥ × − ✓ ⚠️")
    data = render(Document(title="Fournisseurs", blocks=(Paragraph(names), Paragraph(names, emphasis=True))),
                  "pdf", T)
    text = flat(pdf_text(data))
    for word in ("Ștefan", "Nguyễn", "Αθηνά", "Москва", "Œuvre", "№ 12", "→ ≤ ≥ × −"):
        assert word in text


def test_a_document_as_pdf_draws_ink_on_its_page() -> None:
    """Rendered to an image, the page has text and the chart: not blank, bleu France present."""
    share, blue = ink(rendered_page(render(sample(), "pdf", T)))
    assert 0.01 < share < 0.5
    assert blue > 500


def test_a_document_as_xlsx_has_typed_cells() -> None:
    """XLSX: amounts are numbers with a euro format, rates fractions, dates dates; a formula stays text."""
    from decimal import Decimal

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render(sample(), "xlsx", T)))
    assert book.sheetnames[:2] == ["Synthèse", "Tableau"]
    summary = {row[0].value: row[1] for row in book["Synthèse"].iter_rows() if len(row) > 1}
    assert Decimal(str(summary["Montant"].value)) == Decimal("1234567.89") and "€" in summary["Montant"].number_format
    table = book["Tableau"]
    assert [c.value for c in table[1]] == ["Nom", "Montant", "Taux", "Depuis"]
    name, amount, rate, since = table[2]
    assert name.data_type == "s" and name.value == "'=HYPERLINK(\"x\")"
    assert amount.data_type == "n" and amount.value == 1000
    assert rate.value == 0.25 and "%" in rate.number_format
    assert since.is_date and since.value.date() == date(2026, 3, 1)
    assert table[3][0].font.bold


def test_a_document_as_markdown_and_csv() -> None:
    """Markdown: headings, the table with numbers aligned right, the chart's figures; CSV: the main table."""
    markdown = render(sample(), "md", T).decode()
    assert markdown.startswith("# Document d’essai")
    assert "|---|---:|---:|---|" in markdown and "| **Total** | **1 000,00 €** |" in markdown
    assert "| mars | 90 000,00 € | 30 000,00 € |" in markdown and "Dotation AE : 100 000,00 €" in markdown
    csv_text = render(sample(), "csv", T).decode()
    assert list(csv.reader(io.StringIO(csv_text), delimiter=";")) == [
        ["Nom", "Montant", "Taux", "Depuis"], ["'=HYPERLINK(\"x\")", "1000.00", "25.0", "2026-03-01"],
        ["Total", "1000.00", "25.0", ""]]


# --------------------------------------------------------------------------- the monthly report


def test_report_pdf_has_the_figures_and_the_chart(october, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`incubot report --month 2026-10 --format pdf`: the month's figures in French, a page with the chart."""
    target = tmp_path / "rapport.pdf"
    assert main([*database(engine), "report", "--month", "2026-10", "--format", "pdf", "--output", str(target)]) == 0
    data = target.read_bytes()
    keep(data, "report")
    text = pdf_text(data)
    assert "Rapport mensuel — octobre 2026" in text and "Convention MC-DINUM-2024" in text
    # In the month, since 1 January, the allocation, the rate, what is left: AE then CP.
    assert "AE engagées 10 000,00 € 10 000,00 € 1 500 000,00 € 1 % 1 490 000,00 €" in text
    assert "CP consommés (payés) 2 500,00 € 2 500,00 € 1 700 000,00 € 0 % 1 697 500,00 €" in text
    assert "Consommation des AE et des CP en 2026" in text and "Dotation AE 2026 : 1 500 000,00 €" in text
    assert "D-2026-0002" in text  # Euphrosyne's quote, pending at the end of October: the forecast
    share, blue = ink(rendered_page(data))
    assert share > 0.01 and blue > 500


def test_report_xlsx_cells_read_back(october, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """XLSX report: one row per startup and a total, amounts as numbers, the pending quote's date as a date."""
    from openpyxl import load_workbook

    target = tmp_path / "rapport.xlsx"
    assert main([*database(engine), "report", "--month", "2026-10", "--format", "xlsx", "--output", str(target)]) == 0
    book = load_workbook(target)
    table = book["Par startup"]
    header = [c.value for c in table[1]]
    rows = {r[0].value: dict(zip(header, (c.value for c in r), strict=True)) for r in table.iter_rows(min_row=2)}
    assert rows["Dédale"]["AE engagées (mois)"] == 10000 and rows["Dédale"]["CP consommés (mois)"] == 2500
    assert rows["Total"]["Restes à payer"] == 7500  # 10 000 − 2 500 at the end of October
    pending = book["Devis en attente"]
    assert pending["A2"].value == "D-2026-0002" and pending["E2"].value == 4000
    assert pending["F2"].is_date and pending["F2"].value.date() == date(2026, 10, 28)


def test_report_of_a_past_month_is_the_same_after_new_activity(october, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """October's report gives the same figures before and after November's decisions, orders and payments:
    they are read from dated events, not from today's state."""
    from handlers.reports import report_file

    with unit_of_work(october) as session:
        first = report_file(session=session, t=T, year=2026, month=10, fmt="csv")
    with unit_of_work(october) as session:
        q = ledger.get_quote(session=session, reference="D-2026-0003")
        ledger.validate_quote(session=session, reference=q.reference, actor_id="julien.moreau", platform="console",
                              now=at(11, 6), year=2026)
        sd = ledger.get_service_done(session=session, reference="SF-2026-0003")
        ledger.certify_service_done(session=session, reference=sd.reference, actor_id="sophie.laurent",
                                    platform="console", now=at(11, 6), year=2026)
        ledger.place_order(session=session, reference="D-2026-0002", ej="2100000002", bc=None,
                           actor_id="camille.martin", platform="console", now=at(11, 6), year=2026)
        ledger.record_payment(session=session, reference="SF-2026-0002", paid_on=date(2026, 11, 6),
                              actor_id="camille.martin", platform="console", now=at(11, 6))
    with unit_of_work(october) as session:
        again = report_file(session=session, t=T, year=2026, month=10, fmt="csv")
        november = report_file(session=session, t=T, year=2026, month=11, fmt="csv")
    assert again == first
    # Total: AE réservées; engagées in the month; engagées in the year — October, then November.
    assert b"Total;0.00;10000.00;10000.00" in first and b"Total;1000.00;4000.00;14000.00" in november


@pytest.mark.parametrize(("argv", "said"), [
    (["report", "--month", "2026-13"], "n'est pas un mois"),
    (["report", "--month", "octobre"], "n'est pas un mois"),
    (["report", "--month", "2026-10", "--format", "docx"], "choix invalide"),
    (["report", "--month", "2026-10", "--format", "pdf"], "ajoutez --output"),
    (["report", "--month", "2026-10", "--format", "pdf", "--output", "/nonexistent/dir/r.pdf"], "n'existe pas"),
])
def test_report_bad_input_is_refused_in_french(october, engine: Engine, capsys, argv: list[str],  # type: ignore[no-untyped-def]
                                               said: str) -> None:
    """A bad month, an unknown format, a PDF without a file, a folder that does not exist: a French sentence
    on stderr, exit code 2, no file."""
    try:
        code = main([*database(engine), *argv])
    except SystemExit as exit_:  # argparse's own refusals (an unknown format) exit from the parser
        code = int(exit_.code or 0)
    assert code == 2
    assert said in capsys.readouterr().err


def test_report_to_an_unwritable_file_is_refused(october, engine: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A file that cannot be written (a read-only folder; a folder given as the file): said, exit code 2."""
    assert main([*database(engine), "report", "--month", "2026-10", "--format", "md", "--output",
                 str(tmp_path)]) == 2
    assert "est un dossier" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    target = locked / "rapport.xlsx"
    target.mkdir()  # a directory where the file should go: writing fails even as root
    assert main([*database(engine), "report", "--month", "2026-10", "--format", "xlsx", "--output",
                 str(target / "x" / "y.xlsx")]) == 2
    assert "n'existe pas" in capsys.readouterr().err


# --------------------------------------------------------------------------- the PV de service fait


def test_pv_of_a_certified_service_done(october, engine: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`incubot pv SF-2026-0002 --output pv.pdf`: the convention, CHORUS, the order, this service done, what
    was certified before it and in all (% of the order), the certification and the signature box."""
    target = tmp_path / "pv.pdf"
    assert main([*database(engine), "pv", "sf-2026-0002", "--output", str(target)]) == 0
    assert "PV de service fait SF-2026-0002 écrit dans" in capsys.readouterr().err
    data = target.read_bytes()
    keep(data, "pv")
    text = pdf_text(data)
    assert "Procès-verbal de service fait SF-2026-0002" in text
    assert "Convention MC-DINUM-2024" in text and "Centre financier 0224-CSGC-ANUM" in text
    assert "Devis D-2026-0001" in text and "Fournisseur Scopyleft" in text
    assert "Montant commandé TTC 10 000,00 €" in text and "Montant commandé HT 8 333,33 €" in text
    assert "Période novembre 2026, sprint 8" in text
    assert "Montant de ce service fait TTC 3 000,00 €" in text
    assert "Déjà certifié avant ce PV 2 500,00 €" in text
    assert "Cumul certifié, ce PV compris 5 500,00 €" in text and "Part de la commande (cumul) 55 %" in text
    assert "Reste à certifier 4 500,00 €" in text
    assert "Certifié par Julien Moreau, intrapreneur de Dédale, le 3 nov. 2026 à 15 h 00" in flat(text)
    assert pdf_pages(data) == 1  # one page to sign
    assert "Pour le délégataire" in text and "Signature :" in text
    share, blue = ink(rendered_page(data))
    assert share > 0.01 and blue > 200


@pytest.mark.parametrize(("reference", "said"), [
    ("SF-2026-0999", "Je ne trouve pas le service fait SF-2026-0999"),
    ("SF-2026-0003", "SF-2026-0003 n'est pas certifié (il est en attente)"),
])
def test_pv_is_refused_for_an_unknown_or_uncertified_service_done(october, engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    capsys, reference: str, said: str) -> None:
    """No PV for a service done that does not exist or is not certified yet: said in French, no file."""
    target = tmp_path / "pv.pdf"
    assert main([*database(engine), "pv", reference, "--output", str(target)]) == 2
    assert said in capsys.readouterr().err
    assert not target.exists()


def test_the_certification_says_where_the_pv_comes_from(chat) -> None:  # type: ignore[no-untyped-def]
    """Certifying a service done tells the intrapreneur how to get its PV to sign and the coach that it comes
    with her message (tests/test_attachments.py); a refusal does neither."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    chat.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    said = chat.say("julien.moreau", "certifier SF-2026-0001")
    assert "incubot pv SF-2026-0001 --output SF-2026-0001.pdf" in said.text
    assert "Ci-joint le PV de service fait SF-2026-0001 (PV-SF-2026-0001.pdf)" in chat.inbox("lea.dupont")[-1].text
    chat.say("lea.dupont", "service-fait D-2026-0001; 1 000; novembre")
    refused = chat.say("julien.moreau", "refuser SF-2026-0002; pas encore livré")
    assert "incubot pv" not in refused.text


def test_report_progress_shows_the_committee_decisions_as_they_stood(october) -> None:  # type: ignore[no-untyped-def]
    """October's report shows Dédale's decision of 15 October, not the one recorded on 10 November."""
    from openpyxl import load_workbook
    from sqlmodel import select

    from handlers.reports import report_file
    from storage.committees import record_decision
    from storage.models import Committee

    with unit_of_work(october) as session:
        committees = session.exec(select(Committee).order_by(Committee.held_on)).all()
        for committee, kind, cents, until, when in ((committees[0], "poursuite", 120_000_00, date(2027, 3, 31),
                                                     at(10, 15)),
                                                    (committees[1], "acceleration", 300_000_00, date(2027, 9, 30),
                                                     at(11, 10))):
            record_decision(session=session, startup_id="dedale", committee=committee, kind=kind,
                            amount_cents=cents, until=until, note=None, actor_id="camille.martin",
                            platform="console", now=when)
    with unit_of_work(october) as session:
        markdown = report_file(session=session, t=T, year=2026, month=10, fmt="md").decode()
        book = load_workbook(io.BytesIO(report_file(session=session, t=T, year=2026, month=10, fmt="xlsx")))
    assert "| Dédale | Construction | poursuite | 120 000,00 € | 31 mars 2027 | 1 |" in markdown
    assert "accélération" not in markdown
    progress = book["Avancement"]
    dedale = next(row for row in progress.iter_rows(min_row=2) if row[0].value == "Dédale")
    assert dedale[3].value == 120000 and dedale[4].is_date and dedale[5].value == 1


def test_committee_file_as_pdf_one_page_per_startup(october, engine: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`incubot committee-file --format pdf`: the next committee's file, a title page then one page per reviewed
    startup; an unknown date is refused in French."""
    target = tmp_path / "comite.pdf"
    assert main([*database(engine), "committee-file", "--format", "pdf", "--output", str(target)]) == 0
    data = target.read_bytes()
    keep(data, "committee")
    text = pdf_text(data)
    assert "Comité d'investissement du" in text and "Dédale" in text and "Argent" in text
    assert pdf_pages(data) >= 2 and "Phase : construction" in flat(text)
    assert main([*database(engine), "committee-file", "--date", "2026-02-30", "--format", "md"]) == 2
    assert "n'est pas une date" in capsys.readouterr().err
    assert main([*database(engine), "committee-file", "--date", "2026-01-07"]) == 2
    assert "aucun comité n'est prévu le 7 janvier 2026" in capsys.readouterr().err


APART = """
import sys
from datetime import datetime, UTC
from handlers.documents import Document, Paragraph, render, render_apart
from handlers.i18n import Translator
document = Document("Procès-verbal de service fait", (Paragraph("Service fait certifié le 5 novembre 2026."),),
                    created=datetime(2026, 11, 5, 9, tzinfo=UTC))
apart = render_apart(document, "pdf", Translator("fr"))
kept = sorted(m for m in ("fpdf", "fontTools", "PIL") if m in sys.modules)
try:
    render_apart(document, "docx", Translator("fr"))
except ValueError as exc:
    refused = type(exc).__name__
import os
try:
    os.waitpid(-1, os.WNOHANG)
    left = "a child is left"
except ChildProcessError:  # every child ended and was reaped
    left = "no child"
print(kept, apart == render(document, "pdf", Translator("fr")), apart[:5], refused, left)
"""


def test_serve_renders_a_pdf_in_a_child_and_keeps_none_of_the_pdf_library() -> None:
    """What `incubot serve` attaches is rendered in a child process: the same bytes as in-process, and the
    PDF library (about 40 MB once imported) never loaded in the server's own memory; the child's refusal is
    raised in the server as it is, and no child is left once each file is made."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", APART], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[] True b'%PDF-' ValueError no child"
