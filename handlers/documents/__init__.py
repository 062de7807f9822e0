"""Documents: a small model (:mod:`.model`) rendered to Markdown, CSV, XLSX and PDF.

Reports, the PV de service fait and the committee file build a :class:`Document`; :func:`render`
turns it into the bytes of a file. Nothing here knows the ledger: a document is data.
"""

from __future__ import annotations

from handlers.documents.from_markdown import from_markdown
from handlers.documents.model import (
    Block,
    Bullets,
    Chart,
    Document,
    Heading,
    KeyValues,
    Money,
    PageBreak,
    Paragraph,
    Rate,
    Series,
    Signature,
    Signatures,
    Table,
    Value,
)
from handlers.documents.pdf import to_pdf
from handlers.documents.sheets import to_csv, to_xlsx
from handlers.documents.text import to_markdown
from handlers.i18n import Translator

FORMATS = ("md", "csv", "xlsx", "pdf")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render(document: Document, fmt: str, t: Translator) -> bytes:
    """``document`` as the bytes of a ``fmt`` file (one of :data:`FORMATS`)."""
    if fmt == "md":
        return to_markdown(document, t).encode("utf-8")
    if fmt == "csv":
        return to_csv(document).encode("utf-8")
    if fmt == "xlsx":
        return to_xlsx(document, t)
    if fmt == "pdf":
        return to_pdf(document, t)
    raise ValueError(f"unknown document format {fmt!r}")


def render_apart(document: Document, fmt: str, t: Translator, *, timeout: float = 300.0) -> bytes:
    """:func:`render` in a short-lived child process: what a long-running ``incubot serve`` uses, so the
    PDF library (fpdf2, fontTools, Pillow: about 40 MB once imported) never stays in its memory — the
    child is gone with them once the file is made. The document is data and goes to the child pickled;
    the child speaks ``t``'s language, time zone and typography."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(_render_in_child, document, fmt, t.language, t.tz.key,
                            "fine" if t.fine else "plain").result(timeout=timeout)


def _render_in_child(document: Document, fmt: str, language: str, tz: str, typography: str) -> bytes:
    from zoneinfo import ZoneInfo

    return render(document, fmt, Translator(language, ZoneInfo(tz), typography))


__all__ = [
    "FORMATS", "MEDIA_TYPES", "Block", "Bullets", "Chart", "Document", "Heading", "KeyValues", "Money", "PageBreak",
    "Paragraph", "Rate", "Series", "Signature", "Signatures", "Table", "Value", "from_markdown", "render",
    "render_apart",
]
