"""PDF documents in Chinese and English without font files: ReportLab's built-in CID font (STSong-Light),
which every PDF reader can show, for all text. Documents are lists of blocks; see `pdf_render`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Flowable,
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT = "STSong-Light"


@cache
def _styles() -> dict[str, ParagraphStyle]:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    # wordWrap="CJK" breaks Chinese text between any two characters, as it must be.
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=17, leading=24, spaceAfter=8),
        "heading": ParagraphStyle("heading", parent=body, fontSize=12.5, leading=18, spaceBefore=10, spaceAfter=4),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=11, textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
    }


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str
    small: bool = False


@dataclass(frozen=True)
class TableBlock:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    # Column widths as shares of the page width; equal when empty.
    widths: Sequence[float] = field(default_factory=tuple)


@dataclass(frozen=True)
class Picture:
    """A PNG (e.g. a chart rendered by matplotlib) scaled to `width_mm`."""

    png: bytes
    width_mm: float = 160


class NewPage:
    pass


Block = Heading | Text | TableBlock | Picture | NewPage


def _paragraph(text: object, style: str) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), _styles()[style])


def _flowable(block: Block, page_width: float) -> Flowable:
    if isinstance(block, Heading):
        return _paragraph(block.text, "heading")
    if isinstance(block, Text):
        return _paragraph(block.text, "small" if block.small else "body")
    if isinstance(block, Picture):
        image = Image(io.BytesIO(block.png))
        scale = block.width_mm * mm / image.imageWidth
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        return image
    if isinstance(block, NewPage):
        return PageBreak()
    shares = list(block.widths) or [1.0] * len(block.header)
    widths = [page_width * share / sum(shares) for share in shares]
    data = [[_paragraph(cell, "cell") for cell in block.header]]
    data += [[_paragraph(cell, "cell") for cell in row] for row in block.rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def pdf_render(*, title: str, blocks: Sequence[Block], footer: str = "") -> bytes:
    """An A4 PDF: the title, then each block in order; `footer` and the page number on every page."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm
    )

    def decorate(canvas: object, doc: SimpleDocTemplate) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(FONT, 8)  # type: ignore[attr-defined]
        canvas.drawString(18 * mm, 10 * mm, f"{footer}  ·  {doc.page}" if footer else str(doc.page))  # type: ignore[attr-defined]
        canvas.restoreState()  # type: ignore[attr-defined]

    story: list[Flowable] = [Paragraph(escape(title), styles["title"]), Spacer(1, 2 * mm)]
    story += [_flowable(block, document.width) for block in blocks]
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
