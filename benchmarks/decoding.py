"""Barcode decoding benchmark: our decoder vs plain pyzbar vs zxing-cpp on generated, degraded label images.

    python -m benchmarks decoding --n 300 --seed 3

The image set is ours: generated here (deterministic for a seed), not a public or field-collected data set,
so the figures say how the decoders compare on the degradations modelled below, not how they do on real mail.
Einschreiben labels (Code 128 of an S10 number),
DHL labels (Leitcode + Identcode in Interleaved 2 of 5; or a Code 128 parcel number, 00340434... or JJD...),
the product's own labels (Code 128 + QR of the internal code) and QR-only notes. Each is degraded like a real
scan or phone photo: resolution 150-300 dpi, rotations (small skew, quarter turns, arbitrary angles),
perspective and uneven lighting (phone), Gaussian blur, noise, low contrast, darkness, JPEG quality 30-85.
A fifth of the set (`LOW_RES_SHARE`; `--low-res-share 1` gives that class alone) is the class "low-res-128":
a Code 128 (S10 or DHL parcel number) printed small and scanned at an effective 120-160 dpi, a bar module of
1.3-2 pixels, askew by up to 3 degrees, half of them blurred (sigma 0.25-0.45 module), some with slight noise,
half saved as JPEG (60-90).

Classes the set does not model (figures say nothing about them): DataMatrix (Deutsche Post franking marks;
zbar cannot read them), torn, creased, wet or overprinted labels, faded thermal print, glare and specular
highlights, motion blur, curved parcel surfaces, labels partly outside the picture, coloured or patterned
backgrounds, real scanner artefacts (moiré, streaks, auto-cropping), several overlapping labels, and codes of
other carriers (GLS, Hermes, DPD, UPS) and symbologies we do not generate.

An image counts as read when every code on it is decoded with its exact value. Reported per decoder:
read rate, codes found, false codes (values that are not on the image), median and 95th percentile
milliseconds per image (from the encoded file bytes to the list of codes, single-threaded), and the read
rate per degradation class (an image is in every class whose degradation it has; "low-res-128" is also
split into blurred/sharp and JPEG/PNG).
"""

from __future__ import annotations

import argparse
import io
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from labels import codes as cc
from labels.drawing import code128_widths

MM_PER_INCH = 25.4
MASTER_DPI = 600

# --- code patterns -----------------------------------------------------------------------------


def itf_modules(value: str, ratio: float) -> list[float]:
    """Interleaved 2 of 5 bar/space widths in narrow-module units (value: even number of digits)."""
    from reportlab.graphics.barcode.common import I2of5

    code = I2of5(value, checksum=0, bearers=0)
    code.validate()
    code.encode()
    code.decompose()
    return [ratio if ch.isupper() else 1.0 for ch in code.decomposed]


def qr_matrix(value: str) -> list[list[bool]]:
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(value)
    qr.make()
    n = qr.getModuleCount()
    return [[qr.isDark(r, c) for c in range(n)] for r in range(n)]


# --- drawing a label at the master resolution --------------------------------------------------


def _px(mm: float) -> int:
    return round(mm / MM_PER_INCH * MASTER_DPI)


def _font(size_mm: float) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, _px(size_mm)))


def draw_linear(
    draw: ImageDraw.ImageDraw, x_mm: float, y_mm: float, widths: list[float], module_mm: float, height_mm: float
) -> float:
    """Draw bars (widths in modules, bar first); returns the width in mm."""  # fmt: skip
    x = x_mm
    for i, w in enumerate(widths):
        if i % 2 == 0:
            draw.rectangle((_px(x), _px(y_mm), _px(x + w * module_mm) - 1, _px(y_mm + height_mm)), fill=0)
        x += w * module_mm
    return x - x_mm


def draw_qr(draw: ImageDraw.ImageDraw, x_mm: float, y_mm: float, matrix: list[list[bool]], module_mm: float) -> float:
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x0, y0 = x_mm + c * module_mm, y_mm + r * module_mm
                draw.rectangle((_px(x0), _px(y0), _px(x0 + module_mm) - 1, _px(y0 + module_mm) - 1), fill=0)
    return len(matrix) * module_mm


def _text(draw: ImageDraw.ImageDraw, x_mm: float, y_mm: float, text: str, size_mm: float = 3.0) -> None:
    draw.text((_px(x_mm), _px(y_mm)), text, fill=0, font=_font(size_mm))


@dataclass
class Label:
    image: Image.Image  # "L", MASTER_DPI
    codes: list[tuple[str, str]]  # (symbology as pyzbar names it, value)
    kind: str
    module_mm: float


def _sender_lines(rng: random.Random) -> list[str]:
    streets = ["Bahnhofsallee", "Am Markt", "Gartenweg", "Industriestrasse", "Lindenallee"]
    names = ["Müller GmbH", "Landkreis Ammerland", "Amtsgericht Oldenburg", "Dr. Schmidt", "Stadtwerke"]
    return [
        f"Absender: {rng.choice(names)}",
        f"{rng.choice(streets)} {rng.randint(1, 120)}, {rng.randint(20000, 99999)} Musterstadt",
    ]


def make_label(rng: random.Random, kind: str | None = None, module_mm: float | None = None) -> Label:
    """A label of a random kind (or `kind`); `module_mm` fixes the Code 128 module width (else drawn)."""
    kind = kind or rng.choices(["s10", "dhl_itf", "dhl_128", "internal", "qr"], weights=[3, 2, 2, 3, 1])[0]
    if kind == "s10":
        w_mm, h_mm = 100, 50
    elif kind == "dhl_itf":
        w_mm, h_mm = 105, 95
    elif kind == "internal":
        w_mm, h_mm = 90, 45
    else:
        w_mm, h_mm = 100, 55
    image = Image.new("L", (_px(w_mm), _px(h_mm)), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=0, width=_px(0.4))
    codes: list[tuple[str, str]] = []
    module = 0.0
    if kind == "s10":
        value = cc.make_s10(rng.choice(["RR", "RT", "RE", "RU"]), rng.randint(0, 99_999_999))
        module = module_mm or rng.uniform(0.36, 0.48)
        _text(draw, 5, 3, "Einschreiben" + rng.choice(["", " Einwurf", " Rückschein"]), 4.0)
        widths = code128_widths(value)
        width = draw_linear(draw, 8, 11, widths, module, 17)
        _text(draw, 8 + width / 2 - 20, 30, " ".join([value[:2], value[2:5], value[5:8], value[8:11], value[11:]]))
        for i, line in enumerate(_sender_lines(rng)):
            _text(draw, 5, 37 + 5 * i, line, 2.8)
        codes.append(("CODE128", value))
    elif kind == "dhl_itf":
        module = rng.uniform(0.40, 0.50)
        ratio = rng.uniform(2.4, 3.0)
        leit = cc.make_leitcode(rng.randint(0, 10**13 - 1))
        ident = cc.make_identcode(rng.randint(0, 10**11 - 1))
        _text(draw, 5, 3, "DHL PAKET", 5.0)
        draw.rectangle((_px(70), _px(3), _px(100), _px(12)), fill=0)
        for i, line in enumerate(_sender_lines(rng)):
            _text(draw, 5, 12 + 4 * i, line, 2.8)
        _text(draw, 8, 23, "Leitcode", 2.8)
        draw_linear(draw, 8, 27, itf_modules(leit, ratio), module, 22)
        _text(draw, 8, 50, f"{leit[:5]}.{leit[5:8]}.{leit[8:11]}.{leit[11:13]} {leit[13]}", 3.0)
        _text(draw, 8, 57, "Identcode", 2.8)
        draw_linear(draw, 8, 61, itf_modules(ident, ratio), module, 22)
        _text(draw, 8, 85, f"{ident[:2]}.{ident[2:5]} {ident[5:8]}.{ident[8:11]} {ident[11]}", 3.0)
        codes += [("I25", leit), ("I25", ident)]
    elif kind == "dhl_128":
        if rng.random() < 0.5:
            value = cc.make_dhl_sscc(rng.randint(0, 10**11 - 1))
        else:
            value = "JJD" + "".join(str(rng.randint(0, 9)) for _ in range(18))
        module = module_mm or rng.uniform(0.36, 0.46)
        _text(draw, 5, 3, "DHL PAKET  Sendungsnummer", 4.0)
        width = draw_linear(draw, 7, 11, code128_widths(value), module, 22)
        _text(draw, 7 + width / 2 - 25, 35, value, 3.0)
        for i, line in enumerate(_sender_lines(rng)):
            _text(draw, 5, 42 + 5 * i, line, 2.8)
        codes.append(("CODE128", value))
    elif kind == "internal":
        value = cc.make_internal_code(2026, rng.randint(1, 999_999))
        module = rng.uniform(0.36, 0.46)
        _text(draw, 4, 3, "Stadt Oldenburg – Zentrale Poststelle", 3.2)
        width = draw_linear(draw, 6, 10, code128_widths(value), module, 15)
        _text(draw, 6, 27, value, 4.0)
        _text(draw, 6, 34, rng.choice(["Amt 20 Finanzen", "FD Bürgerbüro", "Schulamt", "Feuerwehr"]), 3.0)
        qr_module = rng.uniform(0.55, 0.75)
        matrix = qr_matrix(value)
        draw_qr(draw, min(w_mm - 4 - len(matrix) * qr_module, 6 + width + 6), 9, matrix, qr_module)
        codes += [("CODE128", value), ("QRCODE", value)]
    else:
        value = f"https://post.oldenburg.example/t/{rng.randint(1000, 99999)}"
        qr_module = rng.uniform(0.5, 0.7)
        module = qr_module
        _text(draw, 5, 4, "Tour-Laufzettel", 4.0)
        draw_qr(draw, 55, 8, qr_matrix(value), qr_module)
        for i, line in enumerate(_sender_lines(rng)):
            _text(draw, 5, 14 + 5 * i, line, 2.8)
        codes.append(("QRCODE", value))
    return Label(image=image, codes=codes, kind=kind, module_mm=module)


# --- degrading it like a scan or a phone photo -------------------------------------------------


@dataclass
class Sample:
    name: str
    data: bytes
    codes: list[tuple[str, str]]
    tags: list[str] = field(default_factory=list)


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points `dst` to input points `src`."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return list(np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float)))


def degrade(label: Label, rng: random.Random, nprng: np.random.Generator) -> tuple[Image.Image, list[str]]:
    tags: list[str] = []
    dpi = rng.choice([150, 200, 240, 300])
    tags.append(f"{dpi}dpi")
    phone = rng.random() < 0.3
    base = label.image
    # Paper around the label (an envelope or a parcel), at the master resolution
    margin = _px(rng.uniform(5, 20))
    paper = 255 if not phone else rng.randint(200, 245)
    canvas = Image.new("L", (base.width + 2 * margin, base.height + 2 * margin), paper)
    canvas.paste(base, (margin, margin))
    scale = dpi / MASTER_DPI
    small = canvas.resize((round(canvas.width * scale), round(canvas.height * scale)), Image.Resampling.BOX)

    r = rng.random()
    if r < 0.45:
        angle = rng.uniform(-6, 6)
    elif r < 0.7:
        angle = rng.choice([90, 180, 270]) + rng.uniform(-4, 4)
    else:
        angle = rng.uniform(0, 360)
        tags.append("any-angle")
    if phone:
        # Perspective: the corners move by up to 8% of the size; a darker, textured background around it
        w, h = small.size
        pad = int(0.15 * max(w, h))
        bg = Image.new("L", (w + 2 * pad, h + 2 * pad), rng.randint(60, 150))
        bg.paste(small, (pad, pad))
        w2, h2 = bg.size
        d = 0.08
        dst = [(0, 0), (w2, 0), (w2, h2), (0, h2)]
        src = [(x + rng.uniform(-d, d) * w, y + rng.uniform(-d, d) * h) for x, y in dst]
        small = bg.transform(bg.size, Image.Transform.PERSPECTIVE, _perspective_coeffs(src, dst),
                             Image.Resampling.BICUBIC, fillcolor=rng.randint(60, 150))  # fmt: skip
        tags.append("phone")
    small = small.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=rng.randint(180, 255))
    tags.append(f"rot{angle:.0f}")

    module_px = label.module_mm / MM_PER_INCH * dpi
    if rng.random() < 0.4:
        sigma = rng.uniform(0.15, 0.45) * module_px
        small = small.filter(ImageFilter.GaussianBlur(sigma))
        tags.append(f"blur{sigma:.1f}")
    arr = np.asarray(small, dtype=np.float32)
    if phone:
        # Uneven lighting: a linear gradient and a soft shadow
        h, w = arr.shape
        gx, gy = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        arr *= 0.75 + 0.25 * (a * gx + b * gy) / max(1e-6, abs(a) + abs(b))
    if rng.random() < 0.25:
        ink, white = rng.uniform(90, 150), rng.uniform(175, 225)
        arr = ink + arr / 255.0 * (white - ink)
        tags.append("low-contrast")
    if rng.random() < 0.2:
        factor = rng.uniform(0.3, 0.55)
        arr *= factor
        tags.append("dark")
    if rng.random() < 0.4:
        sigma = rng.uniform(4, 18)
        arr += nprng.normal(0, sigma, arr.shape).astype(np.float32)
        tags.append(f"noise{sigma:.0f}")
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if phone or rng.random() < 0.3:
        out = out.convert("RGB")
    return out, tags


LOW_RES_SHARE = 0.2  # share of the set in the class "Code 128 printed small, scanned at low resolution"


def degrade_low_res(rng: random.Random, nprng: np.random.Generator) -> tuple[Label, Image.Image, list[str]]:
    """A Code 128 label (S10 or DHL parcel number) printed small and scanned at low resolution: an effective
    120-160 dpi and a bar module of 1.3-2 pixels, slightly askew, blurred or not (JPEG or not: in make_sample)."""
    dpi = rng.uniform(120, 160)
    module_px = rng.uniform(1.3, 2.0)
    label = make_label(rng, kind=rng.choice(["s10", "dhl_128"]), module_mm=module_px / dpi * MM_PER_INCH)
    tags = ["low-res-128", f"{dpi:.0f}dpi", f"module{module_px:.1f}px"]
    margin = _px(rng.uniform(5, 15))
    canvas = Image.new("L", (label.image.width + 2 * margin, label.image.height + 2 * margin), 255)
    canvas.paste(label.image, (margin, margin))
    scale = dpi / MASTER_DPI
    small = canvas.resize((round(canvas.width * scale), round(canvas.height * scale)), Image.Resampling.BOX)
    angle = rng.uniform(-3, 3)
    small = small.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    tags.append(f"rot{angle:.0f}")
    if rng.random() < 0.5:
        sigma = rng.uniform(0.25, 0.45) * module_px
        small = small.filter(ImageFilter.GaussianBlur(sigma))
        tags.append(f"blur{sigma:.1f}")
    if rng.random() < 0.3:
        sigma = rng.uniform(2, 6)
        arr = np.asarray(small, dtype=np.float32) + nprng.normal(0, sigma, (small.height, small.width))
        small = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        tags.append(f"noise{sigma:.0f}")
    return label, small, tags


def make_sample(index: int, seed: int, low_res_share: float = LOW_RES_SHARE) -> Sample:
    rng = random.Random(seed * 1_000_003 + index)
    nprng = np.random.default_rng(seed * 1_000_003 + index)
    if random.Random(seed * 7_919 + index).random() < low_res_share:
        label, image, tags = degrade_low_res(rng, nprng)
        return _encoded(index, label, image, tags, rng, jpeg_share=0.5, qualities=(60, 90))
    label = make_label(rng)
    image, tags = degrade(label, rng, nprng)
    return _encoded(index, label, image, tags, rng)


def _encoded(
    index: int,
    label: Label,
    image: Image.Image,
    tags: list[str],
    rng: random.Random,
    jpeg_share: float = 0.7,
    qualities: tuple[int, int] = (30, 85),
) -> Sample:
    buffer = io.BytesIO()
    if rng.random() < jpeg_share:
        quality = rng.randint(*qualities)
        image.save(buffer, format="JPEG", quality=quality)
        tags.append(f"jpeg{quality}")
    else:
        image.save(buffer, format="PNG", compress_level=1)
        tags.append("png")
    return Sample(name=f"{index:04d}-{label.kind}", data=buffer.getvalue(), codes=label.codes, tags=tags)


def make_samples(n: int, seed: int, low_res_share: float = LOW_RES_SHARE) -> list[Sample]:
    return [make_sample(i, seed, low_res_share) for i in range(n)]


# --- decoders ----------------------------------------------------------------------------------

Decoder = Callable[[bytes], set[str]]


def ours(data: bytes) -> set[str]:
    from labels.reading import decode_image_bytes

    return {code.value for code in decode_image_bytes(data)}


def plain_pyzbar(data: bytes) -> set[str]:
    from pyzbar import pyzbar

    image = Image.open(io.BytesIO(data))
    return {symbol.data.decode("utf-8", "replace") for symbol in pyzbar.decode(image)}


def zxing(data: bytes) -> set[str]:
    import zxingcpp

    image = Image.open(io.BytesIO(data))
    image.load()
    return {barcode.text for barcode in zxingcpp.read_barcodes(image)}


DECODERS: dict[str, Decoder] = {"ours (labels.reading)": ours, "plain pyzbar": plain_pyzbar, "zxing-cpp": zxing}


@dataclass
class Outcome:
    name: str
    read: int = 0
    images: int = 0
    codes_found: int = 0
    codes_total: int = 0
    false_codes: int = 0
    times_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    by_class: dict[str, list[int]] = field(default_factory=dict)  # class -> [read, images]


def degradation_classes(tags: list[str]) -> list[str]:
    """The degradation classes of an image from its tags (blur0.7 -> blur, rot92 -> quarter-turn, ...)."""
    classes = []
    for tag in tags:
        name = tag.rstrip("0123456789.")
        if tag == "low-res-128":
            name = tag
        elif tag.startswith("rot") and "any-angle" not in tags and "low-res-128" not in tags:
            angle = abs(float(tag[3:])) % 360
            name = "skew" if min(angle, 360 - angle) <= 10 else "quarter-turn"
        elif tag.startswith("rot") or tag.startswith("module") or (tag.endswith("dpi") and "low-res-128" in tags):
            continue
        elif tag.endswith("dpi"):
            name = tag
        classes.append(name)
    if "low-res-128" in tags:  # the class split by its own degradations: blurred or sharp, JPEG or PNG
        classes.append("low-res-128 blur" if "blur" in classes else "low-res-128 sharp")
        classes.append("low-res-128 jpeg" if "jpeg" in classes else "low-res-128 png")
    return classes


def run(samples: list[Sample], decoders: dict[str, Decoder]) -> list[Outcome]:
    outcomes = []
    for name, decoder in decoders.items():
        outcome = Outcome(name)
        decoder(samples[0].data)  # warm up (library loading)
        for sample in samples:
            start = time.perf_counter()
            found = decoder(sample.data)
            outcome.times_ms.append((time.perf_counter() - start) * 1000)
            expected = {value for _symbology, value in sample.codes}
            outcome.images += 1
            outcome.codes_total += len(expected)
            outcome.codes_found += len(expected & found)
            outcome.false_codes += len(found - expected)
            for name_of_class in degradation_classes(sample.tags):
                counts = outcome.by_class.setdefault(name_of_class, [0, 0])
                counts[0] += expected <= found
                counts[1] += 1
            if expected <= found:
                outcome.read += 1
            else:
                outcome.failures.append(f"{sample.name} {' '.join(sample.tags)} missing={sorted(expected - found)}")
            if found - expected:
                outcome.failures.append(f"{sample.name} {' '.join(sample.tags)} false={sorted(found - expected)}")
        outcomes.append(outcome)
    return outcomes


def format_table(outcomes: list[Outcome]) -> str:
    header = f"{'decoder':<20} {'read':>7} {'rate':>7} {'codes':>9} {'false':>6} {'median ms':>10} {'p95 ms':>8}"
    lines = [header, "-" * len(header)]
    for o in outcomes:
        times = sorted(o.times_ms)
        p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
        lines.append(
            f"{o.name:<20} {o.read:>3}/{o.images:<3} {100 * o.read / o.images:>6.1f}% "
            f"{o.codes_found:>4}/{o.codes_total:<4} {o.false_codes:>6} {statistics.median(times):>10.1f} {p95:>8.1f}"
        )
    return "\n".join(lines)


def format_classes(outcomes: list[Outcome]) -> str:
    """Read rate per degradation class, one column per decoder (the same images for all)."""
    names = sorted({c for o in outcomes for c in o.by_class}, key=lambda c: (not c.endswith("dpi"), c))
    header = f"{'class':<18} {'images':>6} " + " ".join(f"{o.name:>20}" for o in outcomes)
    lines = [header, "-" * len(header)]
    for name in names:
        images = outcomes[0].by_class.get(name, [0, 0])[1]
        cells = []
        for o in outcomes:
            read, total = o.by_class.get(name, [0, 0])
            cells.append(f"{read:>4}/{total:<4} {100 * read / total:5.1f}%".rjust(20) if total else " " * 20)
        lines.append(f"{name:<18} {images:>6} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decoding", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of images (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the image set (default 1)")
    parser.add_argument("--only", choices=["ours", "pyzbar", "zxing"], action="append", help="run only these decoders")
    parser.add_argument("--failures", action="store_true", help="list the images each decoder missed")
    parser.add_argument(
        "--low-res-share",
        type=float,
        default=LOW_RES_SHARE,
        help=f"share of the class low-res-128 in the set (default {LOW_RES_SHARE}; 1: that class alone)",
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if not 0 <= args.low_res_share <= 1:
        parser.error("--low-res-share must be between 0 and 1")
    decoders = DECODERS
    if args.only:
        keys = {"ours": "ours (labels.reading)", "pyzbar": "plain pyzbar", "zxing": "zxing-cpp"}
        decoders = {keys[k]: DECODERS[keys[k]] for k in args.only}
    start = time.perf_counter()
    samples = make_samples(args.n, args.seed, args.low_res_share)
    print(f"Barcode decoding: {args.n} generated label images, seed {args.seed} "
          f"(generated in {time.perf_counter() - start:.1f} s)")  # fmt: skip
    outcomes = run(samples, decoders)
    print(format_table(outcomes))
    print("\nread rate per degradation class (an image counts in each class it has)")
    print(format_classes(outcomes))
    if args.failures:
        for o in outcomes:
            print(f"\n{o.name}: {o.images - o.read} images not fully read; false codes")
            for line in o.failures:
                print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
