"""A small document model: what a report, a PV de service fait or a committee file says, not how it looks.

A document is a title, a few metadata lines and a sequence of blocks (headings, paragraphs, bullet
lists, key/value blocks, tables, a chart, a signature box, a page break). Values in key/value blocks
and tables are **typed** (:class:`Money` in cents, :class:`Rate`, ``date``, ``datetime``, ``int``,
``str``): each renderer writes them its own way — « 1 500,00 € » in Markdown and PDF, ``1500.00`` in
CSV, a number with a euro format in XLSX — so no renderer parses text back into numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal


@dataclass(frozen=True)
class Money:
    """An amount in euro cents (exact; never a float)."""

    cents: int


@dataclass(frozen=True)
class Rate:
    """``part`` of ``whole`` (both in cents, or counts), shown as a percentage; none when ``whole`` is 0."""

    part: int
    whole: int


Value = str | int | Money | Rate | date | datetime | None


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2  # 1 is the document's title level; sections are 2, sub-sections 3


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False  # bold (a certification sentence, a warning)


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class KeyValues:
    """Labelled values, one per line (a convention's references, a service done's figures)."""

    rows: tuple[tuple[str, Value], ...]
    title: str = ""


@dataclass(frozen=True)
class Table:
    """A table with typed cells; ``total``: its last row is a total (bold). ``name``: a short name
    (a spreadsheet's sheet). ``primary``: the table a CSV of the document holds (else its first table)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    title: str = ""
    total: bool = False
    name: str = ""
    primary: bool = False


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[int, ...]  # cents, one per category
    color: str  # "#RRGGBB"
    ceiling: int | None = None  # an allocation drawn as a dashed line (cents)
    ceiling_label: str = ""  # « Dotation AE 2026 »; the series' label when empty


@dataclass(frozen=True)
class Chart:
    """Amounts per category (months, years): ``line`` for cumulated consumption (the legend gives each
    series' last value), ``bar`` for amounts side by side (the legend gives their sum); each series may
    carry its ceiling (the year's allocation)."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    kind: Literal["line", "bar"] = "line"
    caption: str = ""


@dataclass(frozen=True)
class Signature:
    """A box to sign in: who signs (``label``) and the lines printed above the space (name, date)."""

    label: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signatures:
    """Boxes side by side (who certified, who signs): each a :class:`Signature`."""

    boxes: tuple[Signature, ...]


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Paragraph | Bullets | KeyValues | Table | Chart | Signature | Signatures | PageBreak


@dataclass(frozen=True)
class Document:
    """``metadata``: short lines under the title (the convention, the period, « données au … »);
    ``landscape``: wide tables (the monthly report). ``author`` and ``created``: the PDF's and the
    workbook's properties (``created`` from the injected clock, so a document made twice is the same)."""

    title: str
    blocks: tuple[Block, ...]
    metadata: tuple[str, ...] = ()
    landscape: bool = False
    author: str = ""
    created: datetime | None = None
    footer: str = ""
    subject: str = field(default="")

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]
