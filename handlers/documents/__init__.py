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
    the child speaks ``t``'s language, time zone and typography.

    One interpreter for one file (``python -m handlers.documents.apart``), which sends it back and ends:
    it imports the document layer alone (0.3 s), where a ``multiprocessing`` child imported the server's
    main module again (the whole CLI, 0.75 s more) — and not a process pool, whose worker waits for more
    work on a queue it holds both ends of: it outlived a ``serve`` killed while it rendered, for good."""
    import pickle
    import subprocess
    import sys

    request = pickle.dumps((document, fmt, t.language, t.tz.key, "fine" if t.fine else "plain"))
    child = subprocess.Popen([sys.executable, "-m", "handlers.documents.apart"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = child.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise TimeoutError(f"rendering {fmt} took more than {timeout:.0f} s") from None
    if child.returncode != 0 or not out:
        raise RuntimeError(f"the rendering child ended with {child.returncode}: {err.decode(errors='replace')[-500:]}")
    made, value = pickle.loads(out)  # noqa: S301 - our own child's answer, on its own pipe
    if not made:
        raise value
    return bytes(value)


__all__ = [
    "FORMATS", "MEDIA_TYPES", "Block", "Bullets", "Chart", "Document", "Heading", "KeyValues", "Money", "PageBreak",
    "Paragraph", "Rate", "Series", "Signature", "Signatures", "Table", "Value", "from_markdown", "render",
    "render_apart",
]
