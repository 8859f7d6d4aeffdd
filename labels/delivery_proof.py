"""The proof of delivery (Zustellnachweis) of one registered item or PZU: who took it over, when and where,
from which courier, the receiver's signature, and the whole custody chain.

Portrait A4, type 10 pt or larger (the chain 9 pt), the item code as Code 128 with the code in plain text
under it, "Seite x von y" in the footer; the chain's column heads repeat on every page.
Pure: a dataclass in, PDF bytes out (the signature comes as PNG bytes)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.drawing import FONT, FONT_BOLD, FONT_WIDE_BOLD, draw_code128, fit_size, register_fonts
from labels.posting_list import MARGIN, numbered_canvas

FONT_SIZE = 10
SIGNATURE_BOX = (90 * mm, 35 * mm)
NO_SIGNATURE = "Keine Unterschrift gespeichert."


@dataclass(frozen=True)
class CustodyStep:
    """One line of the custody chain; `at` is local time."""

    at: datetime
    what: str  # "Zugestellt → Zugestellt"
    who: str = ""
    where: str = ""
    remark: str = ""  # receiver, note


@dataclass(frozen=True)
class DeliveryProof:
    code: str  # our item code (Code 128)
    incoming_number: str
    kind: str  # German, e.g. "Postzustellungsurkunde"
    org_unit: str
    receiver_name: str
    delivered_at: datetime  # local time
    place: str  # site name, code and address
    courier: str  # who handed over (user), with the tour where there was one
    generated_at: datetime  # local time
    carrier_code: str = ""  # S10 number etc., when it differs from the code
    file_number: str = ""
    signature_png: bytes | None = None
    signature_note: str = NO_SIGNATURE  # shown instead of the image when there is none
    chain: list[CustodyStep] = field(default_factory=list)
    sender: str = "Stadt Oldenburg · Zentrale Poststelle"


class Barcode(Flowable):
    """The Code 128 of `value` with the value in plain text under it, `width` wide."""

    def __init__(self, value: str, width: float, height: float = 16 * mm) -> None:
        super().__init__()
        self.value, self.width, self.bar_height = value, width, height
        self.text_size = fit_size(value, FONT_WIDE_BOLD, 12, width, min_size=7)
        self.height = height + self.text_size * 1.4 + 1 * mm

    def draw(self) -> None:
        c = self.canv
        c.setFont(FONT_WIDE_BOLD, self.text_size)
        c.drawCentredString(self.width / 2, 0, self.value)
        draw_code128(c, self.value, 0, self.text_size * 1.4 + 1 * mm, self.width, self.bar_height, max_module=0.5 * mm)


class Signature(Flowable):
    """The signature image fitted into a framed box (keeping its aspect ratio), or a note when there is none."""

    def __init__(self, png: bytes | None, note: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.width, self.height = SIGNATURE_BOX
        self.image = _flatten(png) if png else None
        self.note = note
        self.style = style

    def draw(self) -> None:
        c = self.canv
        c.setLineWidth(0.6)
        c.setStrokeColor(colors.black)
        c.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        if self.image is None:
            note = Paragraph(escape(self.note), self.style)
            _, h = note.wrap(self.width - 6 * mm, self.height)
            note.drawOn(c, 3 * mm, (self.height - h) / 2)
            return
        image, (w, h) = self.image
        pad = 2 * mm
        scale = min((self.width - 2 * pad) / w, (self.height - 2 * pad) / h)
        dw, dh = w * scale, h * scale
        c.drawImage(image, (self.width - dw) / 2, (self.height - dh) / 2, dw, dh)


def _flatten(png: bytes) -> tuple[ImageReader, tuple[int, int]]:
    """The signature on white (a transparent canvas drawing would print black on some viewers)."""
    with PILImage.open(io.BytesIO(png)) as source:
        source.load()
        rgba = source.convert("RGBA")
    flat = PILImage.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return ImageReader(flat), flat.size


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=FONT_SIZE, leading=FONT_SIZE * 1.3)
    bold = ParagraphStyle("bold", parent=body, fontName=FONT_BOLD)
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=11.5)
    return body, bold, small


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or "–"), style)


def delivery_proof_pdf(proof: DeliveryProof, *, invariant: bool = True) -> bytes:
    register_fonts()
    body, bold, small = _styles()
    width = A4[0] - 2 * MARGIN
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 10 * mm,
        bottomMargin=MARGIN + 4 * mm,
        title=f"Zustellnachweis {proof.incoming_number}",
        author="Zentrale Poststelle",
        creator="mailroom",
        invariant=1 if invariant else 0,
    )
    story: list = [_p(proof.sender, body), Spacer(1, 4 * mm)]
    story += [Barcode(proof.code, width * 0.6), Spacer(1, 5 * mm)]

    facts = [
        ("Eingangs-Nr.", proof.incoming_number),
        ("Sendungscode", proof.code),
        *([("Sendungsnummer", proof.carrier_code)] if proof.carrier_code and proof.carrier_code != proof.code else []),
        ("Art", proof.kind),
        ("Fachdienst", proof.org_unit),
        *([("Aktenzeichen", proof.file_number)] if proof.file_number else []),
        ("Übergeben am", f"{proof.delivered_at:%d.%m.%Y um %H:%M:%S} Uhr"),
        ("Ort", proof.place),
        ("Zugestellt von", proof.courier),
        ("Empfangen von", proof.receiver_name),
    ]
    table = Table(
        [[_p(label, bold), _p(value, body)] for label, value in facts],
        colWidths=[40 * mm, width - 40 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.Color(0.7, 0.7, 0.7)),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]
    story.append(
        KeepTogether(
            [
                _p("Unterschrift des Empfängers", bold),
                Spacer(1, 2 * mm),
                Signature(proof.signature_png, proof.signature_note, body),
                Spacer(1, 1.5 * mm),
                _p(proof.receiver_name, body),
            ]
        )
    )

    story += [Spacer(1, 8 * mm), _p("Verlauf (Übergabekette)", bold), Spacer(1, 2 * mm)]
    head = [
        _p(text, ParagraphStyle("head", parent=small, fontName=FONT_BOLD))
        for text in ("Wann", "Was", "Wer", "Wo", "Vermerk")
    ]
    rows = [
        [
            _p(f"{step.at:%d.%m.%Y %H:%M:%S}", small),
            _p(step.what, small),
            _p(step.who, small),
            _p(step.where, small),
            Paragraph(escape(step.remark), small),
        ]
        for step in proof.chain
    ]
    if not rows:
        rows = [[_p("Keine Einträge.", small), "", "", "", ""]]
    chain = Table(
        [head, *rows],
        colWidths=[37 * mm, 34 * mm, 30 * mm, 38 * mm, width - 139 * mm],
        repeatRows=1,
    )
    chain.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.93)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(chain)

    canvas_class = numbered_canvas(
        "Zustellnachweis",
        proof.incoming_number,
        f"erstellt am {proof.generated_at:%d.%m.%Y um %H:%M} Uhr",
        A4,
    )
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
