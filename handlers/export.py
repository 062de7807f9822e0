"""Every quote, flat, for ``incubot export`` (CSV or JSON): state, amounts, dates, actors, CHORUS.

CSV cells go through :func:`spreadsheet_cell`: a supplier typed ``=HYPERLINK(…)`` must be
read as text by Excel or LibreOffice, never run (SPEC: exports neutralise formulas). JSON
keeps the raw values: it is read by programs, not spreadsheets.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from handlers.money import decimal_euros
from storage import ledger, reference
from storage.models import QuoteStatus

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: object) -> str:
    """``value`` as a CSV cell no spreadsheet runs: a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or CR
    (also after leading spaces, which some importers trim); a plain decimal number (``-12.50``) stays a number."""
    text = "" if value is None else str(value)
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(FORMULA_STARTS) or text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, delimiter: str = ",") -> str:
    """``rows`` as CSV text with a header, every cell through :func:`spreadsheet_cell`."""
    buffer = io.StringIO()
    names = list(columns if columns is not None else (rows[0].keys() if rows else ["reference"]))
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([spreadsheet_cell(name) for name in names])
    writer.writerows([spreadsheet_cell(row.get(name)) for name in names] for row in rows)
    return buffer.getvalue()


def _euros(cents: int | None) -> str:
    return "" if cents is None else decimal_euros(cents)


def export_rows(*, session: Session) -> list[dict[str, Any]]:
    convention = reference.current_convention(session=session)
    names = {p.id: p.name for p in reference.people(session=session)}
    startups = {s.id: s.name for s in reference.startups(session=session)}
    chorus = {
        "chorus_axe_ministeriel": convention.chorus_axe_ministeriel if convention else "",
        "chorus_domaine_fonctionnel": convention.chorus_domaine_fonctionnel if convention else "",
        "chorus_centre_financier": convention.chorus_centre_financier if convention else "",
        "chorus_activite": convention.chorus_activite if convention else "",
        "chorus_centre_de_cout": convention.chorus_centre_de_cout if convention else "",
        "convention": convention.reference if convention else "",
        "operational_unit": convention.operational_unit if convention else "",
    }
    rows = []
    for q in ledger.all_quotes(session=session):
        rows.append({
            "reference": q.reference,
            "status": q.status,
            "startup_id": q.startup_id,
            "startup": startups.get(q.startup_id, q.startup_id),
            "supplier": q.supplier,
            "object": q.object,
            "amount_ttc": _euros(q.amount_cents),
            "amount_ht": _euros(q.amount_ht_cents),
            "certified": _euros(q.certified_cents),
            "remaining": _euros(q.amount_cents - q.certified_cents) if q.status == QuoteStatus.VALIDATED else "",
            "submitted_by": names.get(q.submitted_by, q.submitted_by),
            "submitted_at": q.created_at.isoformat(),
            "decided_by": names.get(q.decided_by, q.decided_by) if q.decided_by else "",
            "decided_at": q.decided_at.isoformat() if q.decided_at else "",
            "commitment_year": q.commitment_year or "",
            "refusal_reason": q.refusal_reason or "",
            "platform": q.platform,
            **chorus,
        })
    return rows
