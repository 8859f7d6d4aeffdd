"""Helpers of the label and route sheet tests: rasterise PDF pages, decode barcodes, read text and font sizes.
No database: these tests run on the pure `labels` package."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from pyzbar.pyzbar import decode

DPI = 200
POINTS_PER_MM = 72 / 25.4


@dataclass
class PdfPages:
    """A rendered PDF: page images, texts and the smallest effective font size per page."""

    pdf: bytes

    def __post_init__(self) -> None:
        self.doc = pdfium.PdfDocument(self.pdf)

    def __len__(self) -> int:
        return len(self.doc)

    def size_mm(self, index: int) -> tuple[float, float]:
        width, height = self.doc[index].get_size()
        return width / POINTS_PER_MM, height / POINTS_PER_MM

    def image(self, index: int, dpi: int = DPI) -> Image.Image:
        return self.doc[index].render(scale=dpi / 72, grayscale=True).to_pil()

    def close(self) -> None:
        self.doc.close()

    def text(self, index: int) -> str:
        textpage = self.doc[index].get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()

    def text_in(self, index: int, left: float, bottom: float, right: float, top: float) -> str:
        """Text inside a rectangle given in points (PDF coordinates, origin bottom left)."""
        textpage = self.doc[index].get_textpage()
        try:
            return textpage.get_text_bounded(left, bottom, right, top)
        finally:
            textpage.close()

    def font_sizes(self, index: int) -> list[tuple[str, float]]:
        """Every visible character with its effective size in points (font size x text/CTM scale)."""
        textpage = self.doc[index].get_textpage()
        result = []
        for k in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, k))
            if char.isspace() or pdfium_c.FPDFText_IsGenerated(textpage.raw, k):
                continue
            matrix = pdfium_c.FS_MATRIX()
            pdfium_c.FPDFText_GetMatrix(textpage.raw, k, matrix)
            scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
            result.append((char, pdfium_c.FPDFText_GetFontSize(textpage.raw, k) * scale))
        textpage.close()
        return result


def decode_symbols(image: Image.Image) -> list[tuple[str, str]]:
    """All barcodes zbar finds in the image, as sorted (type, data) pairs."""
    return sorted((symbol.type, symbol.data.decode("utf-8")) for symbol in decode(image))


@pytest.fixture
def pdf_pages():
    """Opens PDF bytes as `PdfPages`; every document opened is closed after the test."""
    opened: list[PdfPages] = []

    def open_pdf(pdf: bytes) -> PdfPages:
        opened.append(PdfPages(pdf))
        return opened[-1]

    yield open_pdf
    for pages in opened:
        pages.close()


@pytest.fixture
def symbols():
    return decode_symbols
