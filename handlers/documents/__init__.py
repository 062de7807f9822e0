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


__all__ = [
    "FORMATS", "MEDIA_TYPES", "Block", "Bullets", "Chart", "Document", "Heading", "KeyValues", "Money", "PageBreak",
    "Paragraph", "Rate", "Series", "Signature", "Signatures", "Table", "Value", "from_markdown", "render",
]
