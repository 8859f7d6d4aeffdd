"""Shared drawing helpers of the label and route sheet builders: fonts, barcodes, text fitting.

Fonts: DejaVu Sans (Condensed) when the system has it, which covers far more than Latin-1 (names such as
"Şahin" or "Łukasz" on route sheets); reportlab's own Bitstream Vera is the fallback that is always there.
Both are embedded as TrueType subsets, so the PDFs print the same everywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from pathlib import Path

from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "LabelSans"
FONT_BOLD = "LabelSans-Bold"
FONT_WIDE = "LabelSansWide"
FONT_WIDE_BOLD = "LabelSansWide-Bold"

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _font_files() -> dict[str, Path]:
    dejavu = {
        FONT: _DEJAVU / "DejaVuSansCondensed.ttf",
        FONT_BOLD: _DEJAVU / "DejaVuSansCondensed-Bold.ttf",
        FONT_WIDE: _DEJAVU / "DejaVuSans.ttf",
        FONT_WIDE_BOLD: _DEJAVU / "DejaVuSans-Bold.ttf",
    }
    if all(path.is_file() for path in dejavu.values()):
        return dejavu
    import reportlab

    fonts = Path(reportlab.__file__).parent / "fonts"
    return {
        FONT: fonts / "Vera.ttf",
        FONT_BOLD: fonts / "VeraBd.ttf",
        FONT_WIDE: fonts / "Vera.ttf",
        FONT_WIDE_BOLD: fonts / "VeraBd.ttf",
    }


def register_fonts() -> None:
    """Register the four fonts once per process (idempotent)."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, path in _font_files().items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    if "LabelSans-Family" not in registered:
        from reportlab.lib.fonts import addMapping

        # <b> in Paragraphs switches to the bold face.
        addMapping(FONT, 0, 0, FONT)
        addMapping(FONT, 1, 0, FONT_BOLD)
        addMapping(FONT, 0, 1, FONT)
        addMapping(FONT, 1, 1, FONT_BOLD)
        addMapping(FONT_WIDE, 0, 0, FONT_WIDE)
        addMapping(FONT_WIDE, 1, 0, FONT_WIDE_BOLD)
        addMapping(FONT_WIDE, 0, 1, FONT_WIDE)
        addMapping(FONT_WIDE, 1, 1, FONT_WIDE_BOLD)


def german_day(day: date) -> str:
    """ "Dienstag, 14.04.2026"."""
    return f"{WEEKDAYS[day.weekday()]}, {day:%d.%m.%Y}"


def german_km(value: float) -> str:
    """ "42,3 km" (German decimal comma)."""
    return f"{value:.1f}".replace(".", ",") + " km"


def code128_modules(value: str) -> int:
    """Width of the Code 128 symbol of `value` in modules, without quiet zones."""
    return round(code128.Code128(value, barWidth=1, quiet=0, barHeight=1).width)


def draw_code128(
    c: Canvas, value: str, x: float, y: float, width: float, height: float, *, max_module: float | None = None
) -> float:
    """Draw a Code 128 of `value` centred in the box (x, y, width, height), quiet zones of 10 modules
    included in the width. Returns the module width (X dimension) used, in points."""
    modules = code128_modules(value)
    module = width / (modules + 20)
    if max_module is not None:
        module = min(module, max_module)
    symbol = code128.Code128(value, barWidth=module, barHeight=height, quiet=0, humanReadable=0)
    symbol.drawOn(c, x + (width - modules * module) / 2, y)
    return module


def qr_drawing(value: str, size: float, *, level: str = "M", border: int = 0) -> Drawing:
    """A QR code of `value` as a square drawing of `size` points (border in modules, 0 = none)."""
    widget = qr.QrCodeWidget(value, barLevel=level, barBorder=border, barWidth=size, barHeight=size)
    drawing = Drawing(size, size)
    drawing.add(widget.draw())  # the group of dark modules: encodes once (getBounds would encode again)
    return drawing


def qr_modules(value: str, *, level: str = "M") -> list[list[bool]]:
    """The module matrix of the QR code of `value` (row 0 on top), encoded by reportlab's QR widget."""
    widget = qr.QrCodeWidget(value, barLevel=level)
    widget.qr.make()
    return [[bool(module) for module in row] for row in widget.qr.modules]


def draw_qr(c: Canvas, value: str, x: float, y: float, size: float, *, level: str = "M") -> None:
    """Draw a QR code of `value` with its lower left corner at (x, y), without quiet zone (leave white around).
    Drawn straight on the canvas as one path of runs of dark modules: far faster than rendering the widget's
    shapes one by one, which matters for sheets of many labels."""
    modules = qr_modules(value, level=level)
    box = size / len(modules)
    path = c.beginPath()
    for r, row in enumerate(modules):
        top = y + size - (r + 1) * box
        column = 0
        for dark, run in itertools.groupby(row):
            count = len(list(run))
            if dark:
                path.rect(x + column * box, top, count * box, box)
            column += count
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def text_width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def fit_size(text: str, font: str, size: float, max_width: float, *, min_size: float) -> float:
    """The largest font size <= `size` (in steps of 0.5 pt, not below `min_size`) at which `text` fits."""
    while size > min_size and text_width(text, font, size) > max_width:
        size -= 0.5
    return max(size, min_size)


def ellipsize(text: str, font: str, size: float, max_width: float) -> str:
    """`text`, cut with "…" so that it fits into `max_width`."""
    if text_width(text, font, size) <= max_width:
        return text
    while text and text_width(text + "…", font, size) > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, font: str, size: float, max_width: float, *, max_lines: int) -> list[str]:
    """Greedy word wrap into at most `max_lines` lines; the last line is cut with "…" if needed.
    Words longer than a line are broken by characters."""
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, font, size) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while text_width(line, font, size) > max_width and len(line) > 1:
            cut = len(line)
            while cut > 1 and text_width(line[:cut], font, size) > max_width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], ellipsize(rest, font, size, max_width)]
    return lines


# The label printer's 62 mm continuous roll, cut at 100 mm (portrait): incoming and outgoing item labels.
ROLL_WIDTH = 62 * mm
ROLL_LENGTH = 100 * mm
CAPTION_GREY = colors.Color(0.35, 0.35, 0.35)


def draw_caption(c: Canvas, x: float, y: float, text: str) -> None:
    """The small grey field name above a value on a roll label ("Empfänger", "Aktenzeichen")."""
    c.setFillColor(CAPTION_GREY)
    c.setFont(FONT, 7)
    c.drawString(x, y, text)
    c.setFillColor(colors.black)


def code128_widths(value: str) -> list[int]:
    """Bar and space widths of `value` in modules, starting with a bar, quiet zones left out: reportlab's
    Code 128 encoder, the one the labels print with (the decoding benchmark and tests draw scans from it)."""
    code = code128.Code128(value)
    code.validate()
    code.encode()
    code.decompose()
    return ["AaBbCcDd".index(ch) // 2 + 1 for ch in code.decomposed]


PageDecorator = Callable[[Canvas, int, int], None]  # (canvas, page number, page count): header and footer


def page_count_canvas(decorate: PageDecorator) -> type[Canvas]:
    """A canvas class that holds its pages back until it saves, so that `decorate` can draw
    "Seite x von y" (and the header) on every page once the page count is known."""

    class PageCountCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict] = []

        def showPage(self) -> None:
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                decorate(self, self._pageNumber, total)
                super().showPage()
            super().save()

    return PageCountCanvas
