"""A document from the Markdown the bot writes (a title, lines, ``##``/``###`` headings, ``-`` lists, ``---``
page breaks), so a file first written as Markdown — the committee file — is also a PDF or an XLSX."""

from __future__ import annotations

from handlers.documents.model import Block, Bullets, Document, Heading, PageBreak, Paragraph


def _inline(text: str) -> str:
    return text.replace("**", "").strip()


def from_markdown(text: str, *, footer: str = "") -> Document:
    """``# Title``, then the lines up to the first rule or heading as metadata, then blocks."""
    lines = text.splitlines()
    title = ""
    if lines and lines[0].startswith("# "):
        title, lines = _inline(lines[0][2:]), lines[1:]
    metadata: list[str] = []
    blocks: list[Block] = []
    bullets: list[str] = []

    def flush() -> None:
        if bullets:
            blocks.append(Bullets(tuple(bullets)))
            bullets.clear()

    for raw in lines:
        line = raw.rstrip()
        if line.startswith("- ") or line.startswith("* "):
            bullets.append(_inline(line[2:]))
            continue
        flush()
        if not line.strip():
            continue
        if line.strip() == "---":
            blocks.append(PageBreak())
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(Heading(_inline(line[level:]), level=max(2, level)))
        elif not blocks:
            metadata.append(_inline(line))
        else:
            blocks.append(Paragraph(_inline(line)))
    flush()
    return Document(title=title, metadata=tuple(metadata), blocks=tuple(blocks), footer=footer)
