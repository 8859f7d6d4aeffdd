"""The pages of an image or PDF as grey images within the pixel budgets.

Images: every frame (EXIF orientation applied), header-checked before its pixels are loaded; a large JPEG
is decoded at a reduced scale, any page larger than the decode budget reduced by a whole factor. PDFs:
each page rendered at PDF_DPI, or lower so that it fits the decode budget.

PDFium is not thread-safe: one lock is held around the PDFium calls of opening a document and of rendering
one page (at most the decode budget), never around decoding, so a one-page PDF waits at most for one page
of another upload.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps

from labels.reading.checks import (
    MEDIA_JPEG,
    MEDIA_PDF,
    PDFIUM_LOCK,
    FileRejected,
    check_bytes,
    check_frame_size,
    frame_count,
    load_frame,
    open_header,
    open_pdf,
    seek_frame,
)

PDF_DPI = 250  # PDF pages are rendered at this resolution unless the pixel budget asks for less


@dataclass(frozen=True)
class Page:
    image: Image.Image  # grey, at most about `decode_pixels`
    pixels: int  # pixels loaded or rendered for it (the budget's unit)


def _reduce_to(grey: Image.Image, budget: int) -> Image.Image:
    """The page reduced by a whole factor (box filter) until it fits the decode budget."""
    pixels = grey.width * grey.height
    if pixels <= budget:
        return grey
    return grey.reduce(math.ceil(math.sqrt(pixels / budget)))


def _image_pages(data: bytes, media_type: str, max_pixels: int, decode_pixels: int) -> tuple[int, Iterator[Page]]:
    """The number of frames and the frames as grey pages (EXIF orientation applied), header-checked first:
    a frame over `max_pixels` is refused, one over `decode_pixels` reduced."""
    image = open_header(data, media_type)
    frames = frame_count(image)

    def pages() -> Iterator[Page]:
        for index in range(frames):
            if index:
                seek_frame(image, index)
            stored = check_frame_size(image, max_pixels)
            if media_type == MEDIA_JPEG and stored > decode_pixels:
                # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: less time and memory for a huge photo
                factor = math.sqrt(stored / decode_pixels)
                image.draft("L", (math.ceil(image.width / factor), math.ceil(image.height / factor)))
            load_frame(image)
            pixels = image.width * image.height
            grey = ImageOps.exif_transpose(image).convert("L")
            yield Page(_reduce_to(grey, decode_pixels), max(pixels, 1))

    return frames, pages()


def _pdf_scale(width_pt: float, height_pt: float, budget: int) -> float:
    """Render scale (pixels per point) of a page: PDF_DPI, or less so that the page fits `budget` pixels."""
    scale = PDF_DPI / 72
    area = max(width_pt, 1.0) * max(height_pt, 1.0)
    if area * scale * scale > budget:
        scale = math.sqrt(budget / area)
        # PDFium rounds the bitmap's sides up: shrink until the rounded size fits too (a few steps at most)
        for _ in range(20):
            if math.ceil(width_pt * scale) * math.ceil(height_pt * scale) <= budget:
                break
            scale *= 0.995
    return scale


def _pdf_pages(data: bytes, decode_pixels: int) -> tuple[int, Iterator[Page], Callable[[], None]]:
    """The number of pages, the pages rendered in grey (one page per lock, see the module docstring) and the
    function that closes the document (under the lock; call it however reading ends)."""
    with PDFIUM_LOCK:
        pdf = open_pdf(data)
        count = len(pdf)
    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            closed = True
            with PDFIUM_LOCK:
                pdf.close()

    def pages() -> Iterator[Page]:
        for index in range(count):
            with PDFIUM_LOCK:
                page = pdf[index]
                try:
                    width_pt, height_pt = page.get_size()
                    scale = _pdf_scale(width_pt, height_pt, decode_pixels)
                    bitmap = page.render(scale=scale, grayscale=True)
                    try:
                        image = bitmap.to_pil().convert("L")  # a copy: the bitmap's buffer is freed below
                    finally:
                        bitmap.close()
                except Exception as exc:  # PdfiumError on a damaged page
                    raise FileRejected(
                        f"Seite {index + 1} der PDF-Datei ist beschädigt und kann nicht gelesen werden.",
                        code="corrupt",
                    ) from exc
                finally:
                    page.close()
            yield Page(image, max(image.width * image.height, 1))

    return count, pages(), close


def open_pages(
    data: bytes, *, max_bytes: int, max_pixels: int, decode_pixels: int
) -> tuple[str, int, Iterator[Page], Callable[[], None]]:
    """The media type (checked by content), the number of pages, the pages (lazily, each at most about
    `decode_pixels`) and the function that closes the file (call it however reading ends)."""
    media_type = check_bytes(data, max_bytes)
    if media_type == MEDIA_PDF:
        return media_type, *_pdf_pages(data, decode_pixels)
    count, pages = _image_pages(data, media_type, max_pixels, decode_pixels)
    return media_type, count, pages, lambda: None
