"""Route sheets: QR per tour, type >= 12 pt everywhere, no stop split across pages, depot rows, page numbers per
tour, umlauts in the text, reproducible bytes."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace
from datetime import date

import pytest
from reportlab.graphics.shapes import Circle, String

from labels.model import RouteSheet, RouteSheetStop, RouteStopItem
from labels.route_sheet import DEPOT_ROW_TEXT, MIN_FONT_SIZE, route_map, route_sheets_pdf

DEPOT = (53.1455, 8.2035)
KINDS = ("Einschreiben Übergabe", "Postzustellungsurkunde", "Einschreiben Rückschein")
ORG_UNITS = ("FD 20 Finanzen und Steuern", "Amt für Bürgerdienste – Führerscheinstelle", "FD 51 Jugend")


def make_stop(n: int, *, items: int = 0, remarks: str = "", located: bool = True) -> RouteSheetStop:
    return RouteSheetStop(
        position=n,
        site_code=f"S{n:02d}",
        site_name=f"Grundschule Ölmühlenweg {n}" if n % 2 else f"Bürgerbüro Süd {n}",
        address=f"Hauptstraße {n}, 26122 Oldenburg",
        opening_hours="07:30–16:00",
        phone=f"0441 235-{2000 + n}",
        eta=f"{8 + n // 6:02d}:{(n * 9) % 60:02d}",
        deliver_boxes=n % 3,
        deliver_items=n + 3,
        registered_items=[
            RouteStopItem(code=f"RR{n:02d}{k:07d}DE", kind=KINDS[k % 3], org_unit=ORG_UNITS[k % 3])
            for k in range(items)
        ],
        pickup_boxes=n % 2,
        remarks=remarks,
        lat=DEPOT[0] + 0.004 * ((n * 7) % 11 - 5) if located else None,
        lon=DEPOT[1] + 0.006 * ((n * 5) % 13 - 6) if located else None,
    )


def depot_stop(position: int, eta: str = "10:40") -> RouteSheetStop:
    return RouteSheetStop(
        position=position, site_code="DEPOT", site_name="", address="", opening_hours="", phone="", eta=eta,
        deliver_boxes=0, deliver_items=0, is_depot=True, lat=DEPOT[0], lon=DEPOT[1],
    )  # fmt: skip


def make_sheet(tour_id: int, stops: list[RouteSheetStop], **changes) -> RouteSheet:
    values = dict(
        tour_id=tour_id,
        service_date=date(2026, 4, 14),
        vehicle=f"E-Transporter {tour_id} (OL-PS 10{tour_id}E)",
        driver="Şahin Yılmaz",
        planned_km=42.3,
        range_km=153.0,
        start_time="07:00",
        end_time="13:45",
        tour_url=f"https://post.oldenburg.example/touren/{tour_id}?tag=2026-04-14",
        stops=stops,
        depot_lat=DEPOT[0],
        depot_lon=DEPOT[1],
    )
    values.update(changes)
    return RouteSheet(**values)


def long_tour(tour_id: int = 1) -> RouteSheet:
    """25 stops, every third with a long list of registered items, remarks on some, a depot visit after 12."""
    stops: list[RouteSheetStop] = []
    for n in range(1, 26):
        remarks = "Anlieferung über den Hof, Schlüssel beim Hausmeister (Herr Müller)" if n % 5 == 2 else ""
        stops.append(make_stop(n, items=(6 + n % 9) if n % 3 == 1 else 0, remarks=remarks))
        if n == 12:
            stops.append(depot_stop(13))
    return make_sheet(tour_id, stops)


def page_tours(pages) -> list[tuple[int, int, int]]:
    """(page index, x, y) from each page's "Seite x von y"."""
    result = []
    for index in range(len(pages)):
        found = re.findall(r"Seite (\d+) von (\d+)", pages.text(index))
        assert len(found) == 1, index
        result.append((index, int(found[0][0]), int(found[0][1])))
    return result


@pytest.fixture(scope="module")
def day_pdf() -> bytes:
    short = make_sheet(2, [make_stop(1, items=2), make_stop(2), depot_stop(3, "09:30"), make_stop(4)])
    return route_sheets_pdf([long_tour(1), short, make_sheet(3, [make_stop(5, located=False)], depot_lat=None)])


def test_every_tour_starts_on_a_new_page_with_its_qr_code(day_pdf, pdf_pages, symbols):
    pages = pdf_pages(day_pdf)

    first_pages = [index for index, page, _total in page_tours(pages) if page == 1]
    assert len(first_pages) == 3
    for tour_id, index in zip((1, 2, 3), first_pages, strict=True):
        assert symbols(pages.image(index)) == [
            ("QRCODE", f"https://post.oldenburg.example/touren/{tour_id}?tag=2026-04-14")
        ]
        assert f"E-Transporter {tour_id} (OL-PS 10{tour_id}E)" in pages.text(index)
        assert f"Tour {tour_id}" not in pages.text(index)  # the database id is not for users (issue 16)


def test_pages_are_counted_per_tour(day_pdf, pdf_pages):
    numbers = page_tours(pdf_pages(day_pdf))

    runs: list[list[tuple[int, int]]] = []
    for _index, page, total in numbers:
        if page == 1:
            runs.append([])
        runs[-1].append((page, total))
    assert len(runs) == 3
    assert len(runs[0]) > 2  # the long tour needs several pages
    for run in runs:
        assert run == [(page, len(run)) for page in range(1, len(run) + 1)]


def test_no_type_smaller_than_12_pt(day_pdf, pdf_pages):
    pages = pdf_pages(day_pdf)

    sizes = [size for index in range(len(pages)) for _char, size in pages.font_sizes(index)]
    assert len(sizes) > 3000
    assert min(sizes) >= MIN_FONT_SIZE - 0.01


def test_no_stop_is_split_across_pages(day_pdf, pdf_pages):
    pages = pdf_pages(day_pdf)
    sheet = long_tour(1)
    total_first = page_tours(pages)[0][2]  # the pages of the long tour
    texts = {index: pages.text(index) for index in range(total_first)}

    seen: dict[str, int] = {}
    for index in range(total_first):
        text = texts[index]
        names = re.findall(r"\b(S\d\d) · ", text)
        assert len(names) == len(set(names))
        # One receipt field per stop on the page (the column heads say "Empfang bestätigt", not "Unterschrift").
        assert text.count("Unterschrift:") == len(names) == text.count("Name:")
        for code in names:
            seen[code] = index
    stops = [stop for stop in sheet.stops if not stop.is_depot]
    assert sorted(seen) == [stop.site_code for stop in stops]
    for stop in stops:
        text = texts[seen[stop.site_code]]
        page_text = " ".join(text.split())
        for expected in (stop.site_name, stop.address, stop.phone, stop.eta, stop.remarks):
            assert expected in page_text, (stop.site_code, expected)
        for item in stop.registered_items:
            assert item.code in text, (stop.site_code, item.code)
    assert any(len(stop.registered_items) > 10 for stop in stops)
    assert len({seen[stop.site_code] for stop in stops}) > 2


def test_the_depot_visit_is_its_own_row_between_the_rounds(day_pdf, pdf_pages):
    pages = pdf_pages(day_pdf)
    total_first = page_tours(pages)[0][2]
    text = " ".join(" ".join(pages.text(index) for index in range(total_first)).split())

    assert text.count(DEPOT_ROW_TEXT) == 1
    assert text.index("S12 · ") < text.index(DEPOT_ROW_TEXT) < text.index("S13 · ")
    assert "25 Stopps in 2 Runden" in text


def test_header_fields_and_umlauts(day_pdf, pdf_pages):
    text = " ".join(pdf_pages(day_pdf).text(0).split())

    for expected in (
        "Tourenplan Dienstag, 14.04.2026",
        "E-Transporter 1 (OL-PS 101E)",
        "Şahin Yılmaz",
        "42,3 km",
        "153,0 km",
        "07:00 – 13:45 Uhr",
        "Kilometerstand",
        "Ladezustand",
        "Start",
        "Ende",
        "Tour am Handy öffnen",
    ):
        assert expected in text, expected
    whole = " ".join(" ".join(pdf_pages(day_pdf).text(i) for i in range(3)).split())
    for umlauts in (
        "Grundschule Ölmühlenweg 1",
        "Bürgerbüro Süd 2",
        "Hauptstraße",
        "Geöffnet",
        "Übergabe",
        "Führerscheinstelle",
        "Rückschein",
        "Herr Müller",
    ):
        assert umlauts in whole, umlauts


def test_a_stop_taller_than_a_page_is_divided_into_parts_each_with_a_receipt(pdf_pages):
    pages = pdf_pages(route_sheets_pdf([make_sheet(4, [make_stop(1, items=2), make_stop(2, items=90), make_stop(3)])]))

    texts = [pages.text(index) for index in range(len(pages))]
    parts = [re.findall(r"Teil (\d+) von (\d+)", text) for text in texts]
    total = int(next(p for p in parts if p)[0][1])
    assert total >= 2
    for text, found in zip(texts, parts, strict=True):
        assert text.count("Unterschrift:") == len(re.findall(r"\bS\d\d · ", text))
        if found:  # a page with a part of the big stop shows the stop and its own receipt field
            assert "S02 · " in text and "Unterschrift:" in text
    assert sum(len(found) for found in parts) >= total  # each part named (twice: row and items title)
    all_text = "".join(texts)
    for k in range(90):
        assert f"RR02{k:07d}DE" in all_text


def test_tours_without_stops_or_coordinates_and_an_empty_day():
    assert route_sheets_pdf([]).startswith(b"%PDF")
    pdf = route_sheets_pdf([make_sheet(5, []), make_sheet(6, [make_stop(1, located=False)], depot_lat=None)])
    assert pdf.startswith(b"%PDF")


def test_map_projection_keeps_east_right_and_north_up():
    west, east = make_stop(1), make_stop(2)
    west = RouteSheetStop(**{**west.__dict__, "lat": 53.14, "lon": 8.18})
    east = RouteSheetStop(**{**east.__dict__, "lat": 53.16, "lon": 8.24})
    drawing = route_map(make_sheet(7, [west, east]))

    circles = [shape for shape in drawing.contents if isinstance(shape, Circle)]
    assert len(circles) == 2
    assert circles[1].cx > circles[0].cx and circles[1].cy > circles[0].cy
    assert route_map(make_sheet(8, [make_stop(1, located=False)])) is None


def test_crowded_centre_gets_an_enlarged_inset():
    """Twelve stops 400 m apart around the depot overlap on a map that spans 12 km; the inset at the
    side shows them enlarged, where no two of their markers overlap."""
    stops = []
    for n in range(1, 13):  # a 4 x 3 grid, 400 m apart, next to the depot
        row, col = divmod(n - 1, 4)
        stop = make_stop(n)
        stops.append(replace(stop, lat=DEPOT[0] + 0.0036 * row + 0.002, lon=DEPOT[1] + 0.006 * (col - 1.5)))
    stops += [replace(make_stop(13), lat=DEPOT[0] + 0.055, lon=DEPOT[1]), replace(make_stop(14), lat=DEPOT[0] - 0.055)]
    drawing = route_map(make_sheet(9, stops))

    labels = [shape for shape in drawing.contents if isinstance(shape, String)]
    assert any(label.text == "Mitte vergrößert" for label in labels)
    circles = [shape for shape in drawing.contents if isinstance(shape, Circle)]
    main, inset = circles[:14], circles[14:]
    assert len(inset) >= 12  # the whole grid is in the inset

    def overlaps(group):
        return sum(1 for a, b in itertools.combinations(group, 2) if math.dist((a.cx, a.cy), (b.cx, b.cy)) < 20)

    assert overlaps(main) > 0 and overlaps(inset) == 0
    # Spread out, nothing crowds: no inset.
    spread = [replace(make_stop(n), lat=DEPOT[0] + 0.01 * n, lon=DEPOT[1]) for n in range(1, 6)]
    assert not any(getattr(s, "text", "") == "Mitte vergrößert" for s in route_map(make_sheet(10, spread)).contents)


def test_identical_input_gives_identical_bytes():
    first = route_sheets_pdf([long_tour(1)])

    assert route_sheets_pdf([long_tour(1)]) == first
    assert route_sheets_pdf([long_tour(2)]) != first


def test_overlong_free_text_is_cut_instead_of_breaking_the_layout(pdf_pages):
    stop = RouteSheetStop(**{**make_stop(1, items=3).__dict__, "remarks": "Bitte klingeln. " * 400})
    pages = pdf_pages(route_sheets_pdf([make_sheet(9, [stop, make_stop(2)])]))

    text = " ".join(pages.text(index) for index in range(len(pages)))
    assert "Bitte klingeln." in text and "…" in text
    assert text.count("Unterschrift:") == 2
