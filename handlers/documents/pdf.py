"""A document as PDF with fpdf2, the font embedded.

fpdf2 is pure Python and installs from PyPI alone (no system library, no browser, no LaTeX), is
maintained (monthly releases), and embeds a TrueType font subset: DejaVu Sans, committed beside this
module under its free licence, carries « é € ’ », the narrow no-break space of French typography and
the arrows the bot writes. The look follows the State's documents: bleu France for titles, the
ministry's name at the top, a grey scale for the rest; tables repeat their header on each page.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from handlers.documents.model import (
    Bullets,
    Chart,
    Document,
    Heading,
    KeyValues,
    PageBreak,
    Paragraph,
    Signature,
    Signatures,
    Table,
)
from handlers.documents.text import is_number, labelled, shown
from handlers.i18n import Translator

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
BLUE_FRANCE = (0, 0, 145)  # #000091
RED_MARIANNE = (225, 0, 15)  # #E1000F
BLUE_LIGHT = (227, 227, 253)  # #E3E3FD, DSFR blue-france-925
GREY_TEXT = (58, 58, 58)  # #3A3A3A
GREY_MUTED = (102, 102, 102)  # #666666
GREY_RULE = (221, 221, 221)  # #DDDDDD
GREY_ZEBRA = (246, 246, 246)  # #F6F6F6
BLACK = (22, 22, 22)  # #161616


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def compact_money(cents: int, t: Translator) -> str:
    """An axis label: « 1,5 M€ », « 250 k€ », « 0 € »."""
    euros = Decimal(cents) / 100
    if abs(euros) >= 1_000_000:
        n = (euros / 1_000_000).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize()
        return t("{n} M€", n=t.number(n))
    if abs(euros) >= 1_000:
        n = (euros / 1_000).quantize(Decimal("1"), ROUND_HALF_UP)
        return t("{n} k€", n=t.number(n))
    return t("{n} €", n=t.number(euros.quantize(Decimal("1"), ROUND_HALF_UP)))


def _nice_step(top: int, ticks: int = 5) -> int:
    """A round step (1, 2 or 5 × 10ⁿ cents) that divides ``top`` in about ``ticks`` intervals."""
    raw = max(top // ticks, 1)
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _pdf_class() -> Any:
    from fpdf import FPDF

    class _Pdf(FPDF):  # type: ignore[misc]
        footer_text = ""
        page_word = "Page {page} / {pages}"

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, "", 7.5)
            self.set_text_color(*GREY_MUTED)
            self.set_draw_color(*GREY_RULE)
            self.line(self.l_margin, self.get_y() - 1, self.w - self.r_margin, self.get_y() - 1)
            self.cell(self.epw * 0.75, 5, self.footer_text, align="L")
            self.cell(self.epw * 0.25, 5, self.page_word.format(page=self.page_no(), pages="{nb}"), align="R")

    return _Pdf


class _Renderer:
    def __init__(self, document: Document, t: Translator) -> None:
        from fpdf.enums import XPos, YPos

        self.document, self.t = document, t
        self.XPos, self.YPos = XPos, YPos
        pdf = _pdf_class()(orientation="L" if document.landscape else "P", unit="mm", format="A4")
        pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.set_margins(15, 14, 15)
        pdf.set_auto_page_break(True, margin=16)
        pdf.footer_text = document.footer
        pdf.page_word = t("Page {page} / {pages}")
        pdf.alias_nb_pages("{nb}")
        pdf.set_title(document.title)
        pdf.set_lang("fr-FR" if t.language == "fr" else "en-GB")
        pdf.set_creator("incubot")
        pdf.set_producer("incubot (fpdf2)")
        if document.author:
            pdf.set_author(document.author)
        if document.subject:
            pdf.set_subject(document.subject)
        if document.created is not None:
            pdf.set_creation_date(document.created)
        self.pdf = pdf

    # ------------------------------------------------------------------ text

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = BLACK) -> None:
        self.pdf.set_font(FAMILY, "B" if bold else "", size)
        self.pdf.set_text_color(*color)

    def lines(self, text: str, height: float, *, indent: float = 0) -> None:
        pdf = self.pdf
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(pdf.epw - indent, height, text, align="L", new_x=self.XPos.LMARGIN, new_y=self.YPos.NEXT)

    def title_block(self) -> None:
        pdf, document = self.pdf, self.document
        # The State's mark, reduced to what a document without the official logo may carry: a short
        # tricolour rule, then the title in bleu France.
        y = pdf.get_y()
        for i, color in enumerate((BLUE_FRANCE, (255, 255, 255), RED_MARIANNE)):
            pdf.set_fill_color(*color)
            pdf.rect(pdf.l_margin + i * 6, y, 6, 1.6, style="F")
        pdf.set_draw_color(*GREY_RULE)
        pdf.rect(pdf.l_margin, y, 18, 1.6)
        pdf.set_fill_color(255, 255, 255)  # tables fill their cells with the current colour
        pdf.set_y(y + 4)
        self.font(16, True, BLUE_FRANCE)
        self.lines(document.title, 7.5)
        if document.metadata:
            pdf.ln(1)
            self.font(9, False, GREY_MUTED)
            for line in document.metadata:
                self.lines(line, 4.6)
        pdf.ln(2)
        pdf.set_draw_color(*GREY_RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(3)

    def heading(self, block: Heading) -> None:
        pdf = self.pdf
        if pdf.will_page_break(30):  # a heading is not left alone at the foot of a page
            pdf.add_page()
        pdf.ln(2)
        if block.level <= 2:
            self.font(12.5, True, BLUE_FRANCE)
            self.lines(block.text, 6.5)
        else:
            self.font(10.5, True, BLACK)
            self.lines(block.text, 5.5)
        pdf.ln(1)

    def paragraph(self, block: Paragraph) -> None:
        self.font(9.5, block.emphasis, BLACK)
        self.lines(block.text, 5)
        self.pdf.ln(1.5)

    def bullets(self, block: Bullets) -> None:
        self.font(9.5)
        for item in block.items:
            y = self.pdf.get_y()
            self.pdf.set_xy(self.pdf.l_margin + 1, y)
            self.pdf.cell(4, 5, "•")
            self.pdf.set_xy(self.pdf.l_margin + 5, y)
            self.lines(item, 5, indent=5)
        self.pdf.ln(1.5)

    # ------------------------------------------------------------------ tables

    def key_values(self, block: KeyValues) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        if block.title:
            if pdf.will_page_break(8 + 6 * len(block.rows)):
                pdf.add_page()
            self.font(10, True, BLACK)
            self.lines(block.title, 5.5)
        self.font(9)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(col_widths=(42, 58), first_row_as_headings=False, borders_layout="HORIZONTAL_LINES",
                       text_align=("LEFT", "LEFT"), line_height=4.2, padding=(0.6, 1.5),
                       align="LEFT", width=min(pdf.epw, 180)) as table:
            pdf.set_draw_color(*GREY_RULE)
            for label, value in block.rows:
                row = table.row()
                row.cell(label, style=FontFace(color=GREY_TEXT))
                row.cell(shown(value, self.t) or "—", style=FontFace(emphasis="BOLD"))
        pdf.ln(3)

    def table(self, block: Table) -> None:
        from fpdf.fonts import FontFace

        pdf, t = self.pdf, self.t
        if block.title:
            if pdf.will_page_break(20):
                pdf.add_page()
            self.font(10, True, BLACK)
            self.lines(block.title, 5.5)
        columns = len(block.columns)
        size = 9 if columns <= 5 else 8 if columns <= 8 else 7
        self.font(size)
        texts = [[shown(v, t) for v in row] for row in block.rows]
        numeric = [any(is_number(row[i]) for row in block.rows) for i in range(columns)]
        # A column is as wide as its widest cell, and never narrower than the longest word of its header
        # (a header wraps between words, not inside one); headers are bold.
        self.font(size, True)
        header_words = [max((pdf.get_string_width(w) for w in label.split()), default=4.0) for label in block.columns]
        self.font(size)
        widths = [max([header_words[i] + 1, *(pdf.get_string_width(row[i]) for row in texts)]) + 3
                  for i in range(columns)]
        align = tuple("RIGHT" if n else "LEFT" for n in numeric)
        # A narrow table is not stretched over a landscape page: its natural width, a little air, at least 60 %.
        width = min(pdf.epw, max(sum(widths) * 1.3, pdf.epw * 0.6))
        heading = FontFace(emphasis="BOLD", color=BLUE_FRANCE, fill_color=BLUE_LIGHT)
        pdf.set_draw_color(*GREY_RULE)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(col_widths=widths, text_align=align, headings_style=heading, line_height=size * 0.5,
                       borders_layout="HORIZONTAL_LINES", cell_fill_color=GREY_ZEBRA, cell_fill_mode="ROWS",
                       padding=(1, 1.2), width=width, align="LEFT", repeat_headings=1) as table:
            header = table.row()
            for label in block.columns:
                header.cell(label)
            for r, row_texts in enumerate(texts):
                strong = block.total and r == len(texts) - 1
                row = table.row()
                for text in row_texts:
                    row.cell(text, style=FontFace(emphasis="BOLD") if strong else None)
        pdf.ln(3)

    # ------------------------------------------------------------------ chart

    def chart(self, block: Chart) -> None:
        pdf, t = self.pdf, self.t
        height = 72.0
        if pdf.will_page_break(height + 28):
            pdf.add_page()
        self.font(10, True, BLACK)
        self.lines(block.title, 5.5)
        top = max([0, *(v for s in block.series for v in s.values),
                   *(s.ceiling for s in block.series if s.ceiling is not None)]) or 100_00
        step = _nice_step(top * 105 // 100)
        top = (top * 105 // 100 // step + 1) * step
        self.font(7, False, GREY_MUTED)
        axis_w = max(pdf.get_string_width(compact_money(top, t)), 8) + 3
        x0, y0 = pdf.l_margin + axis_w, pdf.get_y() + 3
        w, h = pdf.epw - axis_w - 2, height - 12

        def y_of(cents: int) -> float:
            return y0 + h - h * cents / top

        pdf.set_line_width(0.15)
        for tick in range(0, top + 1, step):
            y = y_of(tick)
            pdf.set_draw_color(*GREY_RULE)
            pdf.line(x0, y, x0 + w, y)
            label = compact_money(tick, t)
            pdf.set_xy(x0 - axis_w, y - 2)
            pdf.cell(axis_w - 1.5, 4, label, align="R")
        n = max(len(block.categories), 1)
        slot = w / n
        for i, category in enumerate(block.categories):
            pdf.set_xy(x0 + i * slot, y0 + h + 1)
            pdf.cell(slot, 4, category, align="C")
        drawn = [s for s in block.series if s.values]
        if block.kind == "bar":
            bar = slot * 0.7 / max(len(drawn), 1)
            for k, series in enumerate(drawn):
                pdf.set_fill_color(*_rgb(series.color))
                for i, value in enumerate(series.values):
                    x = x0 + i * slot + slot * 0.15 + k * bar
                    if value > 0:
                        pdf.rect(x, y_of(value), bar * 0.92, y0 + h - y_of(value), style="F")
        else:
            for series in drawn:
                color = _rgb(series.color)
                points = [(x0 + (i + 0.5) * slot, y_of(v)) for i, v in enumerate(series.values)]
                pdf.set_draw_color(*color)
                pdf.set_line_width(0.7)
                if len(points) > 1:
                    pdf.polyline(points)
                pdf.set_fill_color(*color)
                for x, y in points:
                    pdf.circle(x=x, y=y, radius=0.9, style="F")
        pdf.set_line_width(0.4)
        for series in block.series:
            if series.ceiling is None:
                continue
            y = y_of(series.ceiling)
            pdf.set_draw_color(*_rgb(series.color))
            pdf.dashed_line(x0, y, x0 + w, y, 1.6, 1.2)
            self.font(7, True, _rgb(series.color))
            text = labelled(series.ceiling_label or series.label, t.money(series.ceiling), t)
            pdf.set_xy(x0 + w - pdf.get_string_width(text) - 2, y - 4.2)
            pdf.cell(pdf.get_string_width(text) + 1, 4, text)
        pdf.set_line_width(0.2)
        pdf.set_draw_color(*GREY_MUTED)
        pdf.line(x0, y0 + h, x0 + w, y0 + h)
        pdf.set_fill_color(255, 255, 255)
        # The legend: a swatch and the series' last value (what a reader looks for first: a cumulated line's
        # total); bars side by side are amounts of their own, so their legend gives their sum.
        pdf.set_y(y0 + h + 7)
        x = pdf.l_margin + axis_w
        for series in block.series:
            last = sum(series.values) if block.kind == "bar" else (series.values[-1] if series.values else 0)
            text = labelled(series.label, t.money(last), t)
            self.font(8, False, BLACK)
            pdf.set_fill_color(*_rgb(series.color))
            pdf.rect(x, pdf.get_y() + 1.2, 4, 2.4, style="F")
            pdf.set_x(x + 5)
            pdf.cell(pdf.get_string_width(text) + 2, 5, text)
            x += pdf.get_string_width(text) + 12
        pdf.ln(6)
        if block.caption:
            self.font(7.5, False, GREY_MUTED)
            self.lines(block.caption, 4)
        pdf.ln(3)

    # ------------------------------------------------------------------ signature

    def signature(self, block: Signature) -> None:
        self.signatures(Signatures((block,)), right_half=True)

    def signatures(self, block: Signatures, right_half: bool = False) -> None:
        """Boxes side by side; a lone box takes the right half of the page, where a signature goes."""
        pdf = self.pdf
        boxes = block.boxes
        gap = 6.0
        w = (pdf.epw - gap * (len(boxes) - 1)) / len(boxes) if not right_half else pdf.epw / 2

        def text_height(box: Signature) -> float:
            self.font(9.5, True)
            height = float(pdf.multi_cell(w - 6, 5, box.label, dry_run=True, output="HEIGHT"))
            self.font(8.5)
            return height + sum(float(pdf.multi_cell(w - 6, 4.4, line, dry_run=True, output="HEIGHT"))
                                for line in box.lines)

        # Room for the text, and below it a blank space to sign in.
        box_h = 6 + max((text_height(b) for b in boxes), default=0.0) + 16
        if pdf.will_page_break(box_h + 4):
            pdf.add_page()
        x0 = pdf.l_margin + (pdf.epw / 2 if right_half else 0)
        y = pdf.get_y() + 2
        for i, box in enumerate(boxes):
            x = x0 + i * (w + gap)
            pdf.set_draw_color(*GREY_MUTED)
            pdf.set_line_width(0.3)
            pdf.rect(x, y, w, box_h)
            pdf.set_xy(x + 3, y + 3)
            self.font(9.5, True, BLACK)
            pdf.multi_cell(w - 6, 5, box.label, align="L", new_x=self.XPos.LEFT, new_y=self.YPos.NEXT)
            self.font(8.5, False, GREY_TEXT)
            for line in box.lines:
                pdf.set_x(x + 3)
                pdf.multi_cell(w - 6, 4.4, line, align="L", new_x=self.XPos.LEFT, new_y=self.YPos.NEXT)
        pdf.set_y(y + box_h + 4)

    # ------------------------------------------------------------------ whole

    def render(self) -> bytes:
        pdf = self.pdf
        pdf.add_page()
        self.title_block()
        for block in self.document.blocks:
            if isinstance(block, Heading):
                self.heading(block)
            elif isinstance(block, Paragraph):
                self.paragraph(block)
            elif isinstance(block, Bullets):
                self.bullets(block)
            elif isinstance(block, KeyValues):
                self.key_values(block)
            elif isinstance(block, Table):
                self.table(block)
            elif isinstance(block, Chart):
                self.chart(block)
            elif isinstance(block, Signature):
                self.signature(block)
            elif isinstance(block, Signatures):
                self.signatures(block)
            elif isinstance(block, PageBreak):
                pdf.add_page()
        return bytes(pdf.output())


def to_pdf(document: Document, t: Translator) -> bytes:
    """The document as a PDF (A4; landscape when the document asks), DejaVu Sans embedded."""
    # fontTools logs every subset it makes at INFO: a line per glyph table on the operator's terminal.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    return _Renderer(document, t).render()

