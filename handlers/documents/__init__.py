"""Documents: a small model (:mod:`.model`) rendered to Markdown, CSV, XLSX and PDF.

Reports, the PV de service fait and the committee file build a :class:`Document`; :func:`render`
turns it into the bytes of a file. Nothing here knows the ledger: a document is data.
"""

from __future__ import annotations

from typing import Any

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

    One process for one file, which sends it back and ends: not a process pool, whose worker waits for
    more work on a queue it holds both ends of — it outlived a ``serve`` killed while it rendered, for
    good (with its resource tracker), one more at each such stop."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_render_and_send, name="incubot-render", daemon=True,
                            args=(send, document, fmt, t.language, t.tz.key, "fine" if t.fine else "plain"))
    child.start()
    send.close()  # the child's end only: if it dies without a word, recv() ends with EOFError
    try:
        if not receive.poll(timeout):
            raise TimeoutError(f"rendering {fmt} took more than {timeout:.0f} s")
        made, value = receive.recv()
    finally:
        receive.close()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
    if not made:
        raise value
    return bytes(value)


def _render_and_send(send: Any, document: Document, fmt: str, language: str, tz: str, typography: str) -> None:
    from zoneinfo import ZoneInfo

    try:
        result: tuple[bool, Any] = (True, render(document, fmt, Translator(language, ZoneInfo(tz), typography)))
    except Exception as exc:  # noqa: BLE001 - raised again in the parent
        result = (False, exc)
    try:
        send.send(result)
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its words
        send.send((False, RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))
    finally:
        send.close()


__all__ = [
    "FORMATS", "MEDIA_TYPES", "Block", "Bullets", "Chart", "Document", "Heading", "KeyValues", "Money", "PageBreak",
    "Paragraph", "Rate", "Series", "Signature", "Signatures", "Table", "Value", "from_markdown", "render",
    "render_apart",
]
