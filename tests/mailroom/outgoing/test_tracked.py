"""Tracked single items: Einschreiben with S10 numbers and the day they count as served, PZUs with their
date of service and the overdue list, parcels with checked tracking numbers, the posting list PDF."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
import pytest
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy import func, select

from labels.codes import make_dhl_sscc, make_identcode, make_s10
from mailroom.errors import DuplicateItem, InvalidTransition, ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import OutgoingParcel, TrackedItem
from mailroom.services.outgoing import exports, tracked

DAY = date(2026, 11, 12)  # a Thursday


def _einschreiben(code: str, variant: str = "einschreiben", **kwargs) -> TrackedItem:
    return tracked.record_einschreiben(
        posting_date=kwargs.pop("day", DAY),
        cost_centre="10100",
        code=code,
        variant=variant,
        recipient="Hanna Meyer",
        file_number="30-12/26",
        **kwargs,
    )


def test_einschreiben_postage_and_served_day(app, world):
    item = _einschreiben("rr 12345678 5 de", "einschreiben_rueckschein", product="grossbrief")
    assert item.code == "RR123456785DE"
    assert item.postage_cents == 180 + 485
    assert tracked.counts_as_served(item) == date(2026, 11, 16)  # the 4th day after posting
    app.config["OUTGOING_SERVED_AFTER_DAYS"] = 3  # some Länder laws
    assert tracked.counts_as_served(item) == date(2026, 11, 15)
    einwurf = _einschreiben(make_s10("RT", 11_111_111), "einschreiben_einwurf")
    assert tracked.counts_as_served(einwurf) is None  # no formal service
    with pytest.raises(DuplicateItem, match="bereits erfasst"):
        _einschreiben("RR123456785DE")


@pytest.mark.parametrize(
    ("code", "message"),
    [("RR123456784DE", "Prüfziffer"), ("RR12345678DE", "keine Einschreiben-Nummer"), ("", "keine Einschreiben-Nummer")],
)
def test_bad_s10_numbers_are_refused(world, code, message):
    with pytest.raises(ValidationFailed, match=message):
        _einschreiben(code)
    assert db.session.scalar(select(func.count(TrackedItem.id))) == 0


def test_einschreiben_needs_a_known_variant_cost_centre_and_recipient(world):
    with pytest.raises(ValidationFailed, match="Einschreiben-Art"):
        _einschreiben("RR123456785DE", "eigenhaendig_express")
    with pytest.raises(ValidationFailed, match="Unbekannte Kostenstelle"):
        tracked.record_einschreiben(
            posting_date=DAY, cost_centre="1", code="RR123456785DE", variant="einschreiben", recipient="X"
        )
    with pytest.raises(ValidationFailed, match="Empfänger fehlt"):
        tracked.record_einschreiben(
            posting_date=DAY, cost_centre="10100", code="RR123456785DE", variant="einschreiben", recipient="  "
        )


def test_pzu_date_of_service_and_overdue_list(app, world):
    pzu = tracked.record_pzu(posting_date=DAY, cost_centre="10200", recipient="Jens Onken", file_number="32-77/26")
    old = tracked.record_pzu(posting_date=date(2026, 10, 1), cost_centre="10200", recipient="A", file_number="1/26")
    assert pzu.postage_cents == 345  # the demo's contract price of the PZU
    assert tracked.overdue_pzus(date(2026, 11, 20)) == [old]
    assert tracked.overdue_pzus(date(2026, 11, 26)) == [old, pzu]  # 14 days after posting
    with pytest.raises(ValidationFailed, match=r"liegt vor dem Einlieferungstag 12\.11\.2026"):
        tracked.record_pzu_service(pzu, date(2026, 11, 11), today=date(2026, 11, 20))
    with pytest.raises(ValidationFailed, match="in der Zukunft"):
        tracked.record_pzu_service(pzu, date(2026, 11, 21), today=date(2026, 11, 20))
    assert pzu.served_on is None
    tracked.record_pzu_service(pzu, date(2026, 11, 14), today=date(2026, 11, 20))
    assert pzu.served_on == date(2026, 11, 14) and pzu.certificate_recorded_at is not None
    with pytest.raises(InvalidTransition, match="bereits erfasst"):
        tracked.record_pzu_service(pzu, date(2026, 11, 15), today=date(2026, 11, 20))
    assert tracked.overdue_pzus(date(2026, 11, 26)) == [old]
    with pytest.raises(ValidationFailed, match="Aktenzeichen fehlt"):
        tracked.record_pzu(posting_date=DAY, cost_centre="10200", recipient="A", file_number="")


def test_pzu_without_tariff_is_refused(world):
    from mailroom.models.outgoing import Tariff

    db.session.execute(Tariff.__table__.delete().where(Tariff.product == "pzu"))
    with pytest.raises(ValidationFailed, match="keinen gültigen Tarif"):
        tracked.record_pzu(posting_date=DAY, cost_centre="10200", recipient="A", file_number="1/26")


def test_parcels_weight_band_and_tracking_numbers(world):
    kwargs = {
        "posting_date": DAY,
        "cost_centre": "10300",
        "carrier": "DHL",
        "recipient": "Firma Nordwest",
        "recipient_address": "Hauptstraße 1, 26122 Oldenburg",
    }
    parcel = tracked.record_parcel(**kwargs, tracking_number=make_dhl_sscc(123), weight_g=3_200)
    assert (parcel.product, parcel.postage_cents) == ("paket_5kg", 769)
    small = tracked.record_parcel(**kwargs, tracking_number=make_identcode(4711), weight_g=400, product="paeckchen_s")
    assert small.postage_cents == 419
    with pytest.raises(ValidationFailed, match=r"3500 g überschreitet das Höchstgewicht von DHL Päckchen M .*passend"):
        tracked.record_parcel(**kwargs, tracking_number=make_identcode(4712), weight_g=3_500, product="paeckchen_m")
    bad = make_identcode(4713)[:-1] + str((int(make_identcode(4713)[-1]) + 1) % 10)
    with pytest.raises(ValidationFailed, match="Prüfziffer der DHL-Sendungsnummer"):
        tracked.record_parcel(**kwargs, tracking_number=bad, weight_g=500)
    with pytest.raises(ValidationFailed, match="keine DHL-Sendungsnummer"):
        tracked.record_parcel(**kwargs, tracking_number="ABC123", weight_g=500)
    with pytest.raises(ValidationFailed, match="schwerer als jedes Paket"):
        tracked.record_parcel(**kwargs, tracking_number=make_identcode(4714), weight_g=40_000)
    with pytest.raises(DuplicateItem):
        tracked.record_parcel(**kwargs, tracking_number=make_dhl_sscc(123), weight_g=1_000)
    with pytest.raises(ValidationFailed, match="keine Paketprodukte"):
        tracked.record_parcel(**{**kwargs, "carrier": "Brieftaube"}, tracking_number="X1234", weight_g=10)
    assert db.session.scalar(select(func.count(OutgoingParcel.id))) == 2


def test_posting_list_pdf_lists_items_with_barcodes_and_a_signature_field(world):
    codes = [make_s10("RR", 20_000_000 + i) for i in range(3)]
    for code in codes:
        _einschreiben(code, "einschreiben_einwurf")
    tracked.record_einschreiben(
        posting_date=date(2026, 11, 13),
        cost_centre="10100",
        code=make_s10("RR", 3),
        variant="einschreiben",
        recipient="Next Day",
    )
    pdf = exports.posting_list("Deutsche Post", DAY)
    doc = pdfium.PdfDocument(pdf)
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Einlieferungsliste Deutsche Post" in text and "Donnerstag, 12.11.2026" in text
    assert all(code in text for code in codes) and make_s10("RR", 3) not in text
    assert "Anzahl Sendungen: 3" in text and "Porto gesamt: 9,90 €" in text  # 3 x (0,95 + 2,35)
    assert "Unterschrift des Übernehmenden" in text and "Seite 1 von 1" in text
    image: Image.Image = doc[0].render(scale=4).to_pil().convert("L")
    decoded = {symbol.data.decode() for symbol in pyzbar.decode(image)}
    assert set(codes) <= decoded


def test_recipients_are_erased_after_retention_but_postage_stays(world):
    old = _einschreiben(make_s10("RR", 1), day=date(2023, 5, 2))
    new = _einschreiben(make_s10("RR", 2))
    parcel = tracked.record_parcel(
        posting_date=date(2023, 5, 2),
        cost_centre="10100",
        carrier="DHL",
        tracking_number=make_identcode(77),
        weight_g=900,
        recipient="Kai Bruns",
        recipient_address="Hauptstraße 5",
    )
    assert tracked.erase_recipients(date(2023, 12, 1)) == 2
    db.session.expire_all()
    assert (old.recipient, new.recipient) == ("(gelöscht)", "Hanna Meyer")
    assert (parcel.recipient, parcel.recipient_address, parcel.postage_cents) == (None, "", 619)
    assert old.postage_cents == 85 + 265  # the 2022 list: 0,85 + 2,65
    assert tracked.erase_recipients(date(2023, 12, 1)) == 0
