"""Barcode decoding and upload checks (labels.reading) on images generated here."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from labels import codes as carrier_codes
from labels import reading as barcodes
from labels.drawing import code128_widths
from labels.reading import DecodedCode, FileRejected, decode_file, decode_image_bytes, inspect_upload
from mailroom.errors import UploadRejected
from mailroom.services.uploads import rejected

S10 = carrier_codes.make_s10("RR", 12345678)  # RR123456785DE
INTERNAL = carrier_codes.make_internal_code(2026, 4711)  # PS26-0047113
LEITCODE = carrier_codes.make_leitcode(2612201200100)
IDENTCODE = carrier_codes.make_identcode(21580400100)
MB = 1024 * 1024


# --- drawing labels ----------------------------------------------------------------------------


def _i25_widths(value: str) -> list[int]:
    from reportlab.graphics.barcode.common import I2of5

    code = I2of5(value, checksum=0, bearers=0)
    code.validate()
    code.encode()
    code.decompose()
    return [3 if ch.isupper() else 1 for ch in code.decomposed]


def _qr(value: str) -> list[list[bool]]:
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(value)
    qr.make()
    return [[qr.isDark(r, c) for c in range(qr.getModuleCount())] for r in range(qr.getModuleCount())]


def label(*codes: tuple[str, str], module: int = 3, text: bool = True) -> Image.Image:
    """A white label with the codes stacked vertically (kind: "code128", "i25", "qr"), some text beside."""
    rows = []
    for kind, value in codes:
        if kind == "qr":
            matrix = _qr(value)
            rows.append((kind, matrix, len(matrix) * module, len(matrix) * module))
        else:
            widths = code128_widths(value) if kind == "code128" else _i25_widths(value)
            rows.append((kind, widths, sum(widths) * module, 60))
    width = max(r[2] for r in rows) + 40 * module + 200
    height = sum(r[3] for r in rows) + 30 * len(rows) + 60
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = 30
    for kind, pattern, w, h in rows:
        x = 20 * module
        if kind == "qr":
            for r, row in enumerate(pattern):
                for c, dark in enumerate(row):
                    if dark:
                        draw.rectangle(
                            (x + c * module, y + r * module, x + (c + 1) * module - 1, y + (r + 1) * module - 1), 0
                        )
        else:
            for i, bar in enumerate(pattern):
                if i % 2 == 0:
                    draw.rectangle((x, y, x + bar * module - 1, y + h), 0)
                x += bar * module
        if text:
            draw.text((20 * module + w + 20, y + 10), "Absender: Landkreis\nAmmerland", fill=0)
        y += h + 30
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int = 90, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, **kwargs)
    return buffer.getvalue()


def noisy(image: Image.Image, sigma: float, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.asarray(image, dtype=np.float32) + rng.normal(0, sigma, (image.height, image.width))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


def values(codes: list[DecodedCode]) -> set[str]:
    return {c.value for c in codes}


# --- decoding ----------------------------------------------------------------------------------


def test_clean_scan_reads_exactly_its_code():
    assert decode_image_bytes(png(label(("code128", S10)))) == [DecodedCode("CODE128", S10)]


def test_own_label_code128_and_qr():
    codes = decode_image_bytes(png(label(("code128", INTERNAL), ("qr", INTERNAL))))
    assert sorted(codes, key=lambda c: c.symbology) == [
        DecodedCode("CODE128", INTERNAL),
        DecodedCode("QRCODE", INTERNAL),
    ]


def test_dhl_leitcode_and_identcode_in_interleaved_2_of_5():
    codes = decode_image_bytes(png(label(("i25", LEITCODE), ("i25", IDENTCODE))))
    assert set(codes) == {DecodedCode("I25", LEITCODE), DecodedCode("I25", IDENTCODE)}
    assert {carrier_codes.classify(c.value).format for c in codes} == {"dhl_leitcode", "dhl_identcode"}


def test_same_code_twice_is_reported_once():
    codes = decode_image_bytes(png(label(("code128", S10), ("code128", S10))))
    assert codes == [DecodedCode("CODE128", S10)]


DEGRADATIONS = {
    "rotated-37-degrees": lambda im: im.rotate(37, Image.Resampling.BICUBIC, expand=True, fillcolor=255),
    "rotated-118-degrees": lambda im: im.rotate(118, Image.Resampling.BICUBIC, expand=True, fillcolor=255),
    "blurred": lambda im: im.filter(ImageFilter.GaussianBlur(1.3)),
    "noisy": lambda im: noisy(im, 22),
    "dark": lambda im: im.point(lambda v: int(v * 0.3)),
    "low-contrast": lambda im: im.point(lambda v: 125 + int(v * 60 / 255)),
    "small": lambda im: im.resize((im.width * 2 // 3, im.height * 2 // 3), Image.Resampling.BOX),
    "dark-noisy-blurred": lambda im: noisy(im.filter(ImageFilter.GaussianBlur(1)).point(lambda v: 40 + v // 3), 6),
}


@pytest.mark.parametrize("degrade", DEGRADATIONS.values(), ids=DEGRADATIONS.keys())
def test_degraded_scans_still_read(degrade):
    image = degrade(label(("code128", S10), ("i25", LEITCODE)))
    assert values(decode_image_bytes(png(image))) == {S10, LEITCODE}


def test_plain_zbar_misses_what_we_read():
    """The escalation is what reads it: zbar alone on the same pixels finds nothing."""
    image = label(("code128", S10)).rotate(45, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert barcodes.zbar_scan(image) == []
    assert values(decode_image_bytes(png(image))) == {S10}


def test_low_quality_jpeg_and_colour():
    image = label(("code128", INTERNAL), ("qr", INTERNAL)).convert("RGB")
    assert values(decode_image_bytes(jpeg(image, quality=30))) == {INTERNAL}


def test_exif_orientation_is_applied():
    """A phone photo stored sideways with EXIF orientation 6 is turned upright before decoding."""
    upright = label(("code128", S10))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote: turned 90 degrees left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = jpeg(stored, exif=exif.tobytes())
    (page,) = barcodes.load_pages(data)
    assert page.size == upright.size
    assert decode_image_bytes(data) == [DecodedCode("CODE128", S10)]


def test_multi_page_tiff_reads_every_page():
    first = Image.new("L", (400, 300), 255)
    second = label(("code128", S10))
    third = label(("qr", INTERNAL))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[second, third], compression="tiff_deflate")
    data = buffer.getvalue()
    assert inspect_upload(data, "scan.tif", max_bytes=MB, max_pixels=1_000_000) == "image/tiff"
    assert decode_image_bytes(data) == [DecodedCode("CODE128", S10), DecodedCode("QRCODE", INTERNAL)]


def _pdf_with_barcodes(pages: int = 2) -> bytes:
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import code128, qr
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    c.drawString(72, 780, "Bescheid, Seite 1 (ohne Barcode)")
    for _ in range(pages - 1):
        c.showPage()
        code128.Code128(S10, barWidth=0.4 * mm, barHeight=15 * mm).drawOn(c, 72, 600)
        widget = qr.QrCodeWidget(INTERNAL)
        drawing = Drawing(30 * mm, 30 * mm, transform=[30 * mm / 100, 0, 0, 30 * mm / 100, 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, c, 72, 400)
    c.save()
    return buffer.getvalue()


def test_pdf_pages_are_rendered_and_read():
    data = _pdf_with_barcodes()
    assert inspect_upload(data, "post.pdf", max_bytes=MB, max_pixels=1_000_000) == "application/pdf"
    assert values(decode_image_bytes(data)) == {S10, INTERNAL}


def test_no_barcode_gives_an_empty_list():
    image = Image.new("L", (800, 600), 250)
    ImageDraw.Draw(image).text((50, 50), "Sehr geehrte Damen und Herren,", fill=0)
    assert decode_image_bytes(png(noisy(image, 10))) == []


def test_wrong_check_digit_is_read_and_flagged():
    wrong_s10 = S10[:10] + str((int(S10[10]) + 1) % 10) + S10[11:]
    wrong_leit = LEITCODE[:13] + str((int(LEITCODE[13]) + 1) % 10)
    codes = decode_image_bytes(png(label(("code128", wrong_s10), ("i25", wrong_leit))))
    assert values(codes) == {wrong_s10, wrong_leit}
    for code in codes:
        info = carrier_codes.classify(code.value)
        assert info.check_digit_valid is False
        assert info.message == "Prüfziffer ungültig"


# --- files and bad input -----------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) is patched to claim another size."""
    data = bytearray(jpeg(Image.new("L", (16, 16), 255)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _rejected(data: bytes, name: str = "scan.png", **limits) -> UploadRejected:
    limits = {"max_bytes": 5 * MB, "max_pixels": 60_000_000, **limits}
    with pytest.raises(FileRejected) as info:
        inspect_upload(data, name, **limits)
    error = rejected(info.value)  # what the app answers
    assert error.status == (413 if info.value.code == "too_large" else 422)
    return error


def test_inspect_accepts_the_four_types_by_content():
    image = label(("code128", S10))
    assert inspect_upload(png(image), "a.jpg", max_bytes=MB, max_pixels=10**6) == "image/png"
    assert inspect_upload(jpeg(image), "a.png", max_bytes=MB, max_pixels=10**6) == "image/jpeg"
    assert inspect_upload(_pdf_with_barcodes(1), "a", max_bytes=MB, max_pixels=10**6) == "application/pdf"


@pytest.mark.parametrize(
    ("data", "name", "limits", "code", "words"),
    [
        (b"", "leer.png", {}, "empty", "leer"),
        (b"Dies ist kein Bild.\n" * 50, "brief.png", {}, "unsupported_type", "kein Bild"),
        (b"GIF89a" + b"\0" * 100, "bild.gif", {}, "unsupported_type", "kein Bild"),
        (png(label(("code128", S10)))[:400], "halb.png", {}, "truncated", "unvollständig"),
        (jpeg(noisy(label(("code128", S10)), 30))[:3000], "halb.jpg", {}, "truncated", "unvollständig"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "kaputt.png", {}, "corrupt", "beschädigt"),
        (_png_header_only(100_000, 100_000), "bombe.png", {}, "too_many_pixels", "zu groß"),
        (_png_header_only(10_000, 10_000), "bombe.png", {}, "too_many_pixels", "zu groß"),
        (_jpeg_claiming(60_000, 60_000), "bombe.jpg", {}, "too_many_pixels", "zu groß"),
        (png(Image.new("L", (400, 300), 255)), "gross.png", {"max_pixels": 100_000}, "too_many_pixels", "zu groß"),
        (png(Image.new("L", (400, 300), 255)) + b"\0" * 30_000, "gross.png", {"max_bytes": 20_000}, "too_large",
         "Datei zu groß"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "halb.pdf", {}, "truncated", "unvollständig"),
        (b"%PDF-1.4\nkein pdf\n%%EOF\n", "kaputt.pdf", {}, "corrupt", "beschädigt"),
    ],
    ids=[
        "empty", "text", "gif", "truncated-png", "truncated-jpeg", "corrupt-png", "png-bomb-10-gigapixel",
        "png-bomb-100-megapixel", "jpeg-bomb", "pixel-limit", "size-limit", "truncated-pdf", "corrupt-pdf",
    ],
)  # fmt: skip
def test_inspect_rejects_bad_uploads_with_a_german_message(data, name, limits, code, words):
    error = _rejected(data, name, **limits)
    assert error.code == code
    assert words in error.message
    assert name in error.message


def test_decoding_bad_bytes_raises_upload_rejected_not_a_crash():
    for data in (b"", b"nonsense", _png_header_only(100_000, 100_000), png(label(("code128", S10)))[:500]):
        with pytest.raises(FileRejected):
            decode_image_bytes(data)


def test_decode_file_reports_errors_as_text(tmp_path):
    good = tmp_path / "gut.png"
    good.write_bytes(png(label(("code128", S10))))
    broken = tmp_path / "kaputt.jpg"
    broken.write_bytes(jpeg(noisy(label(("code128", S10)), 20))[:3000])
    empty = tmp_path / "leer.png"
    empty.write_bytes(png(Image.new("L", (300, 200), 255)))

    assert decode_file(good) == barcodes.FileResult(str(good), [DecodedCode("CODE128", S10)], None)
    result = decode_file(broken)
    assert result.codes == [] and "unvollständig" in result.error
    assert decode_file(empty) == barcodes.FileResult(str(empty), [], None)
    assert decode_file(tmp_path / "fehlt.png").error == "Datei nicht gefunden."
    assert decode_file(tmp_path).error == "Keine Datei."
    assert "zu groß" in decode_file(good, max_bytes=100).error


def test_module_stays_pure():
    """labels/reading/ and labels/codes.py import neither Flask nor SQLAlchemy nor the app (benchmarkable
    standalone, runnable in a worker; import-linter checks the same for the whole package)."""
    import ast
    from pathlib import Path

    reading = Path(barcodes.__file__).parent  # a package: every module of it
    files = [*sorted(reading.glob("*.py")), Path(carrier_codes.__file__)]
    assert len(files) > 2
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {n for n in names if n.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy", "mailroom")}


def test_partial_interleaved_2_of_5_reads_are_dropped():
    """A 12-digit piece of a Leitcode can pass the Identcode check digit: it is not reported as a code."""
    collector = barcodes.Collector()
    piece = "036583264265"  # the first 12 digits of the Leitcode below, a valid Identcode by chance
    assert carrier_codes.classify(piece).check_digit_valid is True
    collector.add([barcodes.Symbol("I25", piece, 1)])
    collector.add([barcodes.Symbol("I25", "03658326426500", 1), barcodes.Symbol("I25", "935904702206", 1)])
    assert [c.value for c in collector.result()] == ["03658326426500", "935904702206"]


def _low_res_scan(value: str, dpi: float, module_px: float, blur: float = 0.0) -> Image.Image:
    """A Code 128 printed small and scanned at low resolution: drawn at 600 dpi, reduced to `dpi` so that a
    bar module is `module_px` pixels wide (grey edges, as a scanner averages them)."""
    master_module = 12
    image = label(("code128", value), module=master_module, text=False)
    factor = module_px / master_module
    small = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BOX)
    small = small.rotate(1.5, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return small.filter(ImageFilter.GaussianBlur(blur)) if blur else small


LOW_RES = {  # each missed by the decoder before the upscaling passes (for the DHL number at least)
    "module-1.3px": (130, 1.3, 0.0),
    "module-1.3px-blurred": (130, 1.3, 0.6),
    "module-1.4px-blurred": (130, 1.4, 0.8),
}


@pytest.mark.parametrize(("dpi", "module_px", "blur"), LOW_RES.values(), ids=LOW_RES.keys())
def test_small_code_128_scanned_at_low_resolution_is_read(dpi, module_px, blur):
    """Code 128 with a bar module under 2 pixels (issue 9): read by the upscaling passes, exactly."""
    dhl = carrier_codes.make_dhl_sscc(16109404255)
    for value in (S10, dhl):
        image = _low_res_scan(value, dpi, module_px, blur)
        assert values(decode_image_bytes(png(image))) == {value}
        assert values(decode_image_bytes(jpeg(image, quality=80))) == {value}


def test_upscaled_reads_of_unknown_codes_are_not_trusted():
    """A code read only after upscaling must be a known format with a valid check digit: such passes can
    invent bars. An unknown value printed as small is not reported rather than risk a wrong one."""
    wrong = S10[:10] + str((int(S10[10]) + 1) % 10) + S10[11:]
    image = _low_res_scan(wrong, 130, 1.3, 0.6)
    assert barcodes.zbar_scan(image) == []  # zbar alone does not read it ...
    assert decode_image_bytes(png(image)) == []  # ... and the upscaled read of a failing check digit is dropped
