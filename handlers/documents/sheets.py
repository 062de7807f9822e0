"""A document for spreadsheets: CSV (its main table) and XLSX (typed cells, one sheet per table).

Every text cell goes through the exports' formula guard (SPEC: CSV and XLSX neutralise cells a
spreadsheet would run): a startup named ``=HYPERLINK(…)`` stays text. In XLSX, amounts are numbers
(``Decimal`` euros, exact: openpyxl writes ``str(Decimal)``) with a euro format, rates are fractions with
a percent format, dates are dates — a sum or a filter works in the ministry's spreadsheet as it is.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from handlers.documents.cells import spreadsheet_cell
from handlers.documents.model import Chart, Document, KeyValues, Money, Rate, Table, Value
from handlers.documents.text import machine
from handlers.i18n import Translator

EURO_FORMAT = '#,##0.00\\ "€";-#,##0.00\\ "€"'
RATE_FORMAT = "0.0%"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def main_table(document: Document) -> Table | None:
    tables = document.tables()
    return next((table for table in tables if table.primary), tables[0] if tables else None)


def to_csv(document: Document, *, delimiter: str = ";") -> str:
    """The document's main table (:func:`main_table`) as CSV (``;``-separated, as French spreadsheets expect):
    a header, then one line per row; amounts as decimal euros, rates in percent with one decimal, ISO dates."""
    table = main_table(document)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if table is None:
        return ""
    writer.writerow([spreadsheet_cell(c) for c in table.columns])
    writer.writerows([spreadsheet_cell(machine(v)) for v in row] for row in table.rows)
    return buffer.getvalue()


def _typed(value: Value, tz: Any) -> tuple[Any, str | None]:
    """The cell's value for openpyxl and its number format."""
    if value is None:
        return None, None
    if isinstance(value, Money):
        return Decimal(value.cents) / 100, EURO_FORMAT
    if isinstance(value, Rate):
        if value.whole <= 0:
            return None, None
        return Decimal(value.part) / Decimal(value.whole), RATE_FORMAT
    if isinstance(value, datetime):
        # Spreadsheets know no time zones: the local time of the convention, as people read it.
        return value.astimezone(tz).replace(tzinfo=None), DATETIME_FORMAT
    if isinstance(value, date):
        return value, DATE_FORMAT
    if isinstance(value, int):
        return value, "0"
    return value, None


def _sheet_title(text: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", text).strip()[:31] or "Feuille"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def to_xlsx(document: Document, t: Translator) -> bytes:
    """The document as a workbook: a first sheet with the title, metadata and key/value blocks, then one sheet
    per table (header in bold and frozen, columns sized), then one per chart's figures."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)

    def put(ws: Any, row: int, column: int, value: Value, *, strong: bool = False) -> None:
        typed, number_format = _typed(value, t.tz)
        cell = ws.cell(row=row, column=column)
        if isinstance(typed, str):
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", spreadsheet_cell(typed))
            cell.data_type = "s"  # never "f": openpyxl would store a text starting with = as a formula
        else:
            cell.value = typed
        if number_format:
            cell.number_format = number_format
        if strong:
            cell.font = bold

    def size_columns(ws: Any, widths: dict[int, int]) -> None:
        for column, width in widths.items():
            ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 10), 60)

    workbook = Workbook()
    summary = workbook.active
    taken: set[str] = set()
    summary.title = _sheet_title(t("Synthèse"), taken)
    put(summary, 1, 1, document.title, strong=True)
    row = 2
    for line in document.metadata:
        put(summary, row, 1, line)
        row += 1
    widths = {1: 24, 2: 18}
    for block in document.blocks:
        if isinstance(block, KeyValues):
            row += 1
            if block.title:
                put(summary, row, 1, block.title, strong=True)
                row += 1
            for label, value in block.rows:
                put(summary, row, 1, label)
                put(summary, row, 2, value)
                widths[1] = max(widths[1], len(label))
                row += 1
    size_columns(summary, widths)

    for index, table in enumerate(document.tables(), start=1):
        ws = workbook.create_sheet(_sheet_title(table.name or table.title or f"{t('Tableau')} {index}", taken))
        widths = {}
        for column, label in enumerate(table.columns, start=1):
            put(ws, 1, column, label, strong=True)
            widths[column] = len(label)
        for r, values in enumerate(table.rows, start=2):
            strong = table.total and r == len(table.rows) + 1
            for column, value in enumerate(values, start=1):
                put(ws, r, column, value, strong=strong)
                widths[column] = max(widths.get(column, 0), len(machine(value)) + 3)
        ws.freeze_panes = "B2"
        size_columns(ws, widths)

    for chart in document.charts():
        _chart_sheet(workbook, chart, _sheet_title(chart.title, taken), put, t)

    workbook.properties.title = document.title
    workbook.properties.creator = document.author or "incubot"
    if document.created is not None:
        created = document.created.astimezone(t.tz).replace(tzinfo=None)
        workbook.properties.created = workbook.properties.modified = created
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _chart_sheet(workbook: Any, chart: Chart, title: str, put: Any, t: Translator) -> None:
    """The chart's figures as a table, and the same chart drawn by the spreadsheet (openpyxl's native charts)."""
    from openpyxl.chart import BarChart, LineChart, Reference

    ws = workbook.create_sheet(title)
    put(ws, 1, 1, "", strong=True)
    for column, series in enumerate(chart.series, start=2):
        put(ws, 1, column, series.label, strong=True)
    for r, category in enumerate(chart.categories, start=2):
        put(ws, r, 1, category)
        for column, series in enumerate(chart.series, start=2):
            put(ws, r, column, Money(series.values[r - 2]))
    ws.column_dimensions["A"].width = 16
    for column in range(2, len(chart.series) + 2):
        ws.column_dimensions[chr(64 + column)].width = 20
    if not chart.categories:
        return
    drawn = LineChart() if chart.kind == "line" else BarChart()
    drawn.title = chart.title
    drawn.y_axis.title = "€"
    data = Reference(ws, min_col=2, max_col=len(chart.series) + 1, min_row=1, max_row=len(chart.categories) + 1)
    drawn.add_data(data, titles_from_data=True)
    drawn.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(chart.categories) + 1))
    for series, colored in zip(chart.series, drawn.series, strict=False):
        color = series.color.lstrip("#").upper()
        if chart.kind == "line":
            colored.graphicalProperties.line.solidFill = color
        else:
            colored.graphicalProperties.solidFill = color
    drawn.width, drawn.height = 22, 11
    ws.add_chart(drawn, f"{chr(64 + len(chart.series) + 3)}2")
