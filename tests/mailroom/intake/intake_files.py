"""Scan files made in the intake tests: barcodes drawn from their bar widths (no binary fixtures in git)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw


def code128_widths(value: str) -> list[int]:
    """Bar/space widths in modules, starting with a bar (reportlab's Code 128 encoder)."""
    from reportlab.graphics.barcode.code128 import Code128

    code = Code128(value)
    code.validate()
    code.encode()
    code.decompose()
    return ["AaBbCcDd".index(ch) // 2 + 1 for ch in code.decomposed]


def barcode_image(*values: str, fmt: str = "PNG", module: int = 3, height: int = 90) -> bytes:
    """An envelope-like image with one Code 128 per value, stacked, with quiet zones."""
    widths = [code128_widths(v) for v in values]
    width = max(sum(w) for w in widths) * module + 80
    image = Image.new("L", (width, (height + 50) * len(values) + 40), 255)
    draw = ImageDraw.Draw(image)
    y = 30
    for bars in widths:
        x = 40
        for i, w in enumerate(bars):
            if i % 2 == 0:
                draw.rectangle([x, y, x + w * module - 1, y + height], fill=0)
            x += w * module
        y += height + 50
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()


def blank_image(fmt: str = "PNG", size: tuple[int, int] = (400, 300)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format=fmt)
    return buffer.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims 10 gigapixels, with a tiny compressed body."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100_000)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body
