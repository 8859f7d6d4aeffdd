"""Scan files made in the intake tests (no binary fixtures in git); barcode images come from tests.builders."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from labels.drawing import code128_widths
from tests.builders import barcode_image

__all__ = ["barcode_image", "blank_image", "code128_widths", "png_bomb"]


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
