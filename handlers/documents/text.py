"""Values as people read them (Markdown, PDF) and as spreadsheets read them (CSV), and the Markdown renderer."""

from __future__ import annotations

from datetime import date, datetime

from handlers.documents.model import (
    Bullets,
    Chart,
    Document,
    Heading,
    KeyValues,
    Money,
    PageBreak,
    Paragraph,
    Rate,
    Signature,
    Signatures,
    Table,
    Value,
)
from handlers.i18n import Translator
from handlers.money import decimal_euros


def shown(value: Value, t: Translator) -> str:
    """``value`` for a reader, in the language of ``t``: « 1 500,00 € », « 12 % », « 1er décembre 2026 »."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return t.money(value.cents)
    if isinstance(value, Rate):
        return t.percent(value.part, value.whole)
    if isinstance(value, datetime):
        return t.datetime(value)
    if isinstance(value, date):
        return t.date(value)
    if isinstance(value, int):
        return t.number(value)
    return value


def exact_rate(part: int, whole: int) -> str:
    """A rate in percent with one decimal, rounded half up, in integers (no binary floating point): ``12.5``."""
    if whole <= 0:
        return ""
    tenths = (part * 1000 * 2 + whole) // (2 * whole)
    sign = "-" if tenths < 0 else ""
    tenths = abs(tenths)
    return f"{sign}{tenths // 10}.{tenths % 10}"


def machine(value: Value) -> str:
    """``value`` for a program or a spreadsheet import: euros ``1500.00``, rates ``12.5``, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return decimal_euros(value.cents)
    if isinstance(value, Rate):
        return exact_rate(value.part, value.whole)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def labelled(label: str, value: str, t: Translator) -> str:
    """« Montant : 1 500,00 € » (French puts a space before the colon), "Amount: €1,500.00"."""
    return t("{label} : {value}", label=label, value=value)


def is_number(value: Value) -> bool:
    return isinstance(value, Money | Rate | int) and not isinstance(value, bool)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(columns: tuple[str, ...], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(document: Document, t: Translator) -> str:
    """The document as Markdown (GitHub flavour: pipe tables, numbers aligned right); a chart becomes the table
    of its figures."""
    out = [f"# {document.title}", ""]
    if document.metadata:
        out += [f"{line}  " for line in document.metadata[:-1]] + [document.metadata[-1], ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            out += ["#" * max(2, min(block.level, 6)) + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [f"**{block.text}**" if block.emphasis else block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, KeyValues):
            if block.title:
                out += [f"**{block.title}**", ""]
            out += [f"- {labelled(label, shown(value, t), t)}" for label, value in block.rows] + [""]
        elif isinstance(block, Table):
            if block.title:
                out += [f"**{block.title}**", ""]
            numeric = [any(is_number(row[i]) for row in block.rows) for i in range(len(block.columns))]
            rows = [[shown(v, t) for v in row] for row in block.rows]
            if block.total and rows:
                rows[-1] = [f"**{c}**" if c else c for c in rows[-1]]
            out += _md_table(block.columns, rows, numeric) + [""]
        elif isinstance(block, Chart):
            out += [f"**{block.title}**", ""]
            columns = ("", *(s.label for s in block.series))
            rows = [[category, *(t.money(s.values[i]) for s in block.series)]
                    for i, category in enumerate(block.categories)]
            out += _md_table(columns, rows, [False] + [True] * len(block.series))
            ceilings = [labelled(s.ceiling_label or s.label, t.money(s.ceiling), t)
                        for s in block.series if s.ceiling is not None]
            out += [""]
            if block.caption:
                out += [block.caption, ""]
            if ceilings:
                out += [" · ".join(ceilings), ""]
        elif isinstance(block, Signature | Signatures):
            for box in block.boxes if isinstance(block, Signatures) else (block,):
                out += [f"**{box.label}**", ""] + [f"{line}  " for line in box.lines] + ["", "_" * 30, ""]
        elif isinstance(block, PageBreak):
            out += ["---", ""]
    if document.footer:
        out += [f"_{document.footer}_", ""]
    return "\n".join(out).rstrip("\n") + "\n"
