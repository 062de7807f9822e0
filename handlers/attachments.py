"""The documents a message can carry, made when the message goes out.

A decision or a reminder only names the document (:class:`handlers.types.Attachment` with
``document`` = (kind, key)): rendering a PDF inside a decision's transaction would hold its
locks, and the sweep only plans. The courier asks :func:`make` for it once, when the message
first goes out, and keeps the bytes for every platform and every retry (``storage.outbox``).

- ``pv``, ``SF-…``: the PV de service fait to have signed by the délégataire (``handlers/pv.py``);
- ``report``, ``AAAA-MM``: the monthly report, as it stood at the end of that month (``handlers/reports.py``);
- ``final``, ``REFERENCE@AAAA-MM-JJ``: the convention's final report, as it stood at the end of its last day
  (``handlers/final_report.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlmodel import Session

from handlers.documents import MEDIA_TYPES, render, render_apart
from handlers.final_report import final_document, final_report
from handlers.i18n import Translator
from handlers.pv import find_certified, pv_document
from handlers.reports import monthly_report as report_of
from handlers.reports import report_document
from handlers.types import Attachment

PV = "pv"
REPORT = "report"
FINAL = "final"
PDF = MEDIA_TYPES["pdf"]


def pv(reference: str) -> Attachment:
    """``PV-SF-….pdf``, the PV de service fait of ``reference``."""
    return Attachment(f"PV-{reference}.pdf", PDF, document=(PV, reference))


def monthly_report(year: int, month: int) -> Attachment:
    """``rapport-AAAA-MM.pdf``, the report of that month."""
    return Attachment(f"rapport-{year:04d}-{month:02d}.pdf", PDF, document=(REPORT, f"{year:04d}-{month:02d}"))


def final(reference: str, last_day: date) -> Attachment:
    """``bilan-REFERENCE.pdf``, the final report of the convention ``reference`` ending on ``last_day``."""
    return Attachment(f"bilan-{reference}.pdf", PDF, document=(FINAL, f"{reference}@{last_day.isoformat()}"))


def make(session: Session, kind: str, key: str, *, t: Translator, apart: bool = False) -> Callable[[], bytes]:
    """Read what the document ``(kind, key)`` says, in ``session``; the returned function renders its
    PDF (after the session, whose transaction need not wait for the rendering) — with ``apart``, in a
    child process (:func:`handlers.documents.render_apart`: a long-running process keeps its memory)."""
    if kind == PV:
        document = pv_document(find_certified(session=session, reference=key, t=t), t)
    elif kind == REPORT:
        year, month = (int(part) for part in key.split("-"))
        document = report_document(report_of(session=session, t=t, year=year, month=month), t, session=session)
    elif kind == FINAL:  # the convention in force, as it stood at the end of its last day
        document = final_document(final_report(session=session, t=t), t)
    else:
        raise ValueError(f"unknown document {kind!r}")
    if apart:
        return lambda: render_apart(document, "pdf", t)
    return lambda: render(document, "pdf", t)
