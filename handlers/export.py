"""``incubot export``: the quotes, the services done or the payments, flat, in CSV, JSON or XLSX.

Each export is a :class:`Table` of typed values (amounts in integer cents, dates, datetimes,
text); the three formats render the same table with the same column names:

* **JSON** is read by programs: amounts as exact decimal strings (``"12500.00"``), dates and
  datetimes in ISO 8601, an absent value as ``""``; text kept raw.
* **CSV** is the JSON's values as cells (``,`` separator, ``.`` decimals), every cell through
  :func:`spreadsheet_cell`: a supplier typed ``=HYPERLINK(…)`` is read as text by Excel or
  LibreOffice, never run (SPEC: exports neutralise formulas).
* **XLSX** is for people (DOMAIN: what replaces their Grist and Notion boards opens cleanly
  in a spreadsheet): amounts are numbers in euros shown ``1 250,00 €`` on a French system
  (:data:`EUROS_FORMAT`), dates are dates, datetimes are in the configured time zone, the
  header row is bold, frozen and filtered, columns are wide enough. A text that starts like a
  formula is written as a text cell with Excel's quote prefix (the cell keeps exactly what was
  typed, shows it, and stays text when edited); characters XML cannot carry are dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.documents.cells import spreadsheet_cell, starts_like_a_formula
from handlers.i18n import N_, Translator
from handlers.money import decimal_euros
from storage import exchange, ledger, reference
from storage.models import OPEN_ORDER_STATUSES, Quote, QuoteStatus, ServiceDone

# Excel's format codes are written with "," for thousands and "." for decimals whatever the
# viewer's language; a French system shows this one as « 1 250,00 € ».
EUROS_FORMAT = '#,##0.00\\ "€"'
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
FORMATS = ("csv", "json", "xlsx")

Kind = Literal["text", "euros", "date", "datetime", "int"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"


@dataclass
class Table:
    """An export: its sheet's title (French, a msgid), its columns and its rows of typed values."""

    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def to_csv(rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, delimiter: str = ",") -> str:
    """``rows`` as CSV text with a header, every cell through :func:`spreadsheet_cell`."""
    buffer = io.StringIO()
    names = list(columns if columns is not None else (rows[0].keys() if rows else ["reference"]))
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([spreadsheet_cell(name) for name in names])
    writer.writerows([spreadsheet_cell(row.get(name)) for name in names] for row in rows)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the three formats


def _flat(value: Any, kind: Kind) -> Any:
    """A typed value as JSON and CSV carry it."""
    if value is None or value == "":
        return ""
    if kind == "euros":
        return decimal_euros(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def flat_rows(table: Table) -> list[dict[str, Any]]:
    return [{c.name: _flat(row.get(c.name), c.kind) for c in table.columns} for row in table.rows]


def table_json(table: Table) -> str:
    return json.dumps(flat_rows(table), ensure_ascii=False, indent=2) + "\n"


def table_csv(table: Table) -> str:
    return to_csv(flat_rows(table), columns=table.names)


_WIDTHS = {"euros": 16, "date": 12, "datetime": 17, "int": 8}
MAX_WIDTH = 60


def _xlsx_value(value: Any, kind: Kind, tz: ZoneInfo) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value == "":
        return None
    if kind == "euros":
        return Decimal(value) / 100  # exact: openpyxl writes str(Decimal)
    if kind == "datetime" and isinstance(value, datetime):
        local = value.astimezone(tz) if value.tzinfo else value
        return local.replace(tzinfo=None)  # the file format has no time zones: the configured one
    if kind in ("date", "int"):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


_FORMATS = {"euros": EUROS_FORMAT, "date": DATE_FORMAT, "datetime": DATETIME_FORMAT}


def to_xlsx(tables: Iterable[Table], *, t: Translator, tz: ZoneInfo) -> bytes:
    """The tables as one XLSX workbook (a sheet each), typed cells; see the module's docstring.

    openpyxl's write-only mode: rows are streamed, so 10⁵ quotes fit in a few tens of MB.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def styled(sheet: Any, value: Any, number_format: str | None) -> Any:
        """A value as openpyxl appends it: as is when it needs nothing (most text, numbers: the fast path), a
        cell with its number format (amounts, dates), or a text cell that stays text (one starting like a
        formula, or "#N/A", which would be an error value)."""
        if value is None:
            return None
        if number_format is not None:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = number_format
            return cell
        if isinstance(value, str) and (starts_like_a_formula(value) or value in ERROR_CODES):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # never "f": openpyxl writes a text starting with = as a formula
            cell.quotePrefix = True  # Excel's mark of a text typed '=…: shown as is, still text when edited
            return cell
        return value

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(t(table.title)[:31])
        values = [[_xlsx_value(row.get(c.name), c.kind, tz) for c in table.columns] for row in table.rows]
        for index, column in enumerate(table.columns):
            width = _WIDTHS.get(column.kind) or max([len(str(r[index])) for r in values if r[index] is not None]
                                                    + [8])
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width, len(column.name)) + 2,
                                                                               MAX_WIDTH)
        sheet.freeze_panes = "A2"
        if table.columns:
            last = get_column_letter(len(table.columns))
            sheet.auto_filter.ref = f"A1:{last}{len(values) + 1}"
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=column.name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        formats = [_FORMATS.get(column.kind) for column in table.columns]
        for row in values:
            sheet.append([styled(sheet, value, number_format) for value, number_format in zip(row, formats,
                                                                                                strict=True)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- what is exported


CHORUS = (
    Column("chorus_axe_ministeriel"), Column("chorus_domaine_fonctionnel"), Column("chorus_centre_financier"),
    Column("chorus_activite"), Column("chorus_centre_de_cout"), Column("convention"), Column("operational_unit"),
)

# The first export's columns first, in their order (programs read them), then the order chain's.
QUOTE_COLUMNS = (
    Column("reference"), Column("status"), Column("startup_id"), Column("startup"), Column("supplier"),
    Column("object"), Column("amount_ttc", "euros"), Column("amount_ht", "euros"), Column("certified", "euros"),
    Column("remaining", "euros"), Column("submitted_by"), Column("submitted_at", "datetime"), Column("decided_by"),
    Column("decided_at", "datetime"), Column("commitment_year", "int"), Column("refusal_reason"),
    Column("platform"), *CHORUS,
    Column("ej"), Column("bc"), Column("ordered_by"), Column("ordered_at", "datetime"), Column("paid", "euros"),
    Column("restes_a_payer", "euros"), Column("released", "euros"), Column("closed_by"),
    Column("closed_at", "datetime"), Column("close_reason"),
)

SERVICE_DONE_COLUMNS = (
    Column("reference"), Column("quote"), Column("ej"), Column("bc"), Column("status"), Column("startup_id"),
    Column("startup"), Column("supplier"), Column("object"), Column("amount", "euros"), Column("period"),
    Column("submitted_by"), Column("submitted_at", "datetime"), Column("decided_by"), Column("decided_at", "datetime"),
    Column("consumption_year", "int"), Column("refusal_reason"), Column("paid_on", "date"),
    Column("payment_year", "int"), Column("paid_by"), Column("paid_at", "datetime"), Column("platform"), *CHORUS,
)

PAYMENT_COLUMNS = (
    Column("reference"), Column("quote"), Column("ej"), Column("bc"), Column("startup_id"), Column("startup"),
    Column("supplier"), Column("object"), Column("amount", "euros"), Column("paid_on", "date"),
    Column("payment_year", "int"), Column("certified_by"), Column("certified_at", "datetime"),
    Column("consumption_year", "int"), Column("recorded_by"), Column("recorded_at", "datetime"), *CHORUS,
)


def _chorus(session: Session) -> dict[str, str]:
    convention = reference.current_convention(session=session)
    if convention is None:
        return {c.name: "" for c in CHORUS}
    return {
        "chorus_axe_ministeriel": convention.chorus_axe_ministeriel,
        "chorus_domaine_fonctionnel": convention.chorus_domaine_fonctionnel,
        "chorus_centre_financier": convention.chorus_centre_financier,
        "chorus_activite": convention.chorus_activite,
        "chorus_centre_de_cout": convention.chorus_centre_de_cout,
        "convention": convention.reference,
        "operational_unit": convention.operational_unit,
    }


def _names(session: Session) -> tuple[Callable[[str | None], str], dict[str, str]]:
    people = {p.id: p.name for p in reference.people(session=session)}
    startups = {s.id: s.name for s in reference.startups(session=session)}

    def name(person: str | None) -> str:
        return people.get(person, person) if person else ""

    return name, startups


def quotes_table(*, session: Session) -> Table:
    """Every quote with its state, amounts, dates, actors and the convention's CHORUS references."""
    name, startups = _names(session)
    chorus = _chorus(session)
    table = Table(N_("devis"), QUOTE_COLUMNS)
    for q in ledger.all_quotes(session=session):
        table.rows.append({
            "reference": q.reference,
            "status": q.status,
            "startup_id": q.startup_id,
            "startup": startups.get(q.startup_id, q.startup_id),
            "supplier": q.supplier,
            "object": q.object,
            "amount_ttc": q.amount_cents,
            "amount_ht": q.amount_ht_cents,
            "certified": q.certified_cents,
            "remaining": q.amount_cents - q.certified_cents if q.status in OPEN_ORDER_STATUSES else None,
            "submitted_by": name(q.submitted_by),
            "submitted_at": q.created_at,
            "decided_by": name(q.decided_by),
            "decided_at": q.decided_at,
            "commitment_year": q.commitment_year,
            "refusal_reason": q.refusal_reason,
            "platform": q.platform,
            **chorus,
            "ej": q.ej,
            "bc": q.bc,
            "ordered_by": name(q.ordered_by),
            "ordered_at": q.ordered_at,
            "paid": q.paid_cents,
            "restes_a_payer": q.amount_cents - q.released_cents - q.paid_cents if q.ej else None,
            "released": q.released_cents if q.status == QuoteStatus.CLOSED else None,
            "closed_by": name(q.closed_by),
            "closed_at": q.closed_at,
            "close_reason": q.close_reason,
        })
    return table


def _of_order(row: ServiceDone, quote: Quote, startups: Mapping[str, str]) -> dict[str, Any]:
    """A service done's reference and what its row says of its order (the columns are placed by name)."""
    return {"reference": row.reference, "quote": quote.reference, "ej": quote.ej, "bc": quote.bc,
            "startup_id": quote.startup_id, "startup": startups.get(quote.startup_id, quote.startup_id),
            "supplier": quote.supplier, "object": quote.object}


def service_done_table(*, session: Session) -> Table:
    """Every service done with its order, amount, period, state, actors and CHORUS references."""
    name, startups = _names(session)
    chorus = _chorus(session)
    table = Table(N_("services faits"), SERVICE_DONE_COLUMNS)
    for row, quote in exchange.service_done_with_orders(session=session):
        table.rows.append({
            **_of_order(row, quote, startups),
            "status": row.status,
            "amount": row.amount_cents,
            "period": row.period,
            "submitted_by": name(row.submitted_by),
            "submitted_at": row.created_at,
            "decided_by": name(row.decided_by),
            "decided_at": row.decided_at,
            "consumption_year": row.consumption_year,
            "refusal_reason": row.refusal_reason,
            "paid_on": row.paid_on,
            "payment_year": row.payment_year,
            "paid_by": name(row.paid_by),
            "paid_at": row.paid_at,
            "platform": row.platform,
            **chorus,
        })
    return table


def payments_table(*, session: Session) -> Table:
    """Every payment recorded (a paid service done), by date: what CHORUS paid, against what incubot certified."""
    name, startups = _names(session)
    chorus = _chorus(session)
    table = Table(N_("paiements"), PAYMENT_COLUMNS)
    for row, quote in exchange.paid_with_orders(session=session):
        table.rows.append({
            **_of_order(row, quote, startups),
            "amount": row.amount_cents,
            "paid_on": row.paid_on,
            "payment_year": row.payment_year,
            "certified_by": name(row.decided_by),
            "certified_at": row.decided_at,
            "consumption_year": row.consumption_year,
            "recorded_by": name(row.paid_by),
            "recorded_at": row.paid_at,
            **chorus,
        })
    return table


TABLES: dict[str, Callable[..., Table]] = {
    "quotes": quotes_table,
    "service-done": service_done_table,
    "payments": payments_table,
}


WHAT = tuple(TABLES)
COLUMNS = {"quotes": QUOTE_COLUMNS, "service-done": SERVICE_DONE_COLUMNS, "payments": PAYMENT_COLUMNS}


def export_table(*, session: Session, what: str) -> Table:
    return TABLES[what](session=session)


def export_rows(*, session: Session) -> list[dict[str, Any]]:
    """Every quote as JSON carries it (kept for the callers of the first export)."""
    return flat_rows(quotes_table(session=session))
