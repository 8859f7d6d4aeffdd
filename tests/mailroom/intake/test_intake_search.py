"""Finding mail by org unit (part of the name, any case), sender, recipient, kind and days of receipt."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.services import intake
from mailroom.services.clock import LOCAL_TZ, local_today
from tests.builders import add_unit


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ)


def _world(wdb):
    personal = add_unit("FD11", "Fachdienst Personal", wdb.sites["RH"])
    db.session.commit()
    today = local_today()
    yesterday = today - timedelta(days=1)
    made = {}
    for key, code, unit, kind, sender, recipient, day in (
        (
            "pers",
            carrier_codes.make_s10("RR", 80_000_001),
            "FD11",
            "einschreiben_uebergabe",
            "Amtsgericht Oldenburg",
            "Frau Meyer",
            today,
        ),
        (
            "pers_old",
            carrier_codes.make_s10("CX", 80_000_002),
            "FD11",
            "brief",
            "Deutsche Rentenversicherung",
            "Herr Öztürk",
            yesterday,
        ),
        ("fin", carrier_codes.make_s10("CX", 80_000_003), "FD20", "paket", "Finanzamt Oldenburg", "Frau Meyer", today),
    ):
        result = intake.log_item(code, user=wdb.staff, at=_at(day, 8))
        intake.set_details(
            result.item,
            {"org_unit": unit, "kind": kind, "sender": sender, "recipient_name": recipient},
            user=wdb.staff,
        )
        made[key] = result.item
    db.session.commit()
    return personal, made, today, yesterday


def _ids(**values) -> set[int]:
    return {item.id for item in intake.search_items(intake.parse_criteria(values))}


def test_search_by_unit_sender_recipient_kind_and_days(wdb):
    _unit, made, today, yesterday = _world(wdb)
    pers, pers_old, fin = (made[k].id for k in ("pers", "pers_old", "fin"))
    # "Personal" finds "Fachdienst Personal", in any case, on SQLite and PostgreSQL
    assert _ids(org_unit="Personal") == {pers, pers_old}
    assert _ids(org_unit="personal") == {pers, pers_old}
    assert _ids(org_unit="fd11") == {pers, pers_old}
    assert _ids(org_unit="FD11 – Fachdienst Personal") == {pers, pers_old}  # chosen from the list
    assert _ids(org_unit="Finanzen") == {fin}
    assert _ids(sender="oldenburg") == {pers, fin}
    assert _ids(recipient="meyer") == {pers, fin}
    assert _ids(recipient="Öztürk") == {pers_old}
    assert _ids(kind="paket") == {fin}
    assert _ids(date_from=today.isoformat()) >= {pers, fin} and pers_old not in _ids(date_from=today.isoformat())
    assert _ids(date_to=yesterday.strftime("%d.%m.%Y"), org_unit="Personal") == {pers_old}
    assert _ids(org_unit="Personal", recipient="Meyer", kind="einschreiben_uebergabe") == {pers}
    assert _ids(q=made["pers"].code[:6].lower()) == {pers}  # part of a code
    assert _ids(org_unit="100%_") == set()  # % and _ are literal


def test_track_page_lists_the_matches(wdb):
    _unit, made, today, _yesterday = _world(wdb)
    client = wdb.client()
    page = client.get("/intake/track", query_string={"org_unit": "Personal"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="search-results"' in html
    assert made["pers"].incoming_number in html and made["pers_old"].incoming_number in html
    assert made["fin"].incoming_number not in html
    nothing = client.get("/intake/track", query_string={"sender": "Niemand GmbH"})
    assert nothing.status_code == 404 and "Keine Sendung zu diesen Suchangaben gefunden" in nothing.get_data(
        as_text=True
    )
    bad = client.get(
        "/intake/track",
        query_string={"date_from": today.isoformat(), "date_to": (today - timedelta(days=3)).isoformat()},
    )
    assert bad.status_code == 422 and "liegt nach" in bad.get_data(as_text=True)
    bad_day = client.get("/intake/track", query_string={"date_from": "31.02.2026"})
    assert bad_day.status_code == 422
    # an exact code still shows the item with its history
    exact = client.get("/intake/track", query_string={"q": made["fin"].code})
    assert exact.status_code == 200 and 'data-testid="tracked-item"' in exact.get_data(as_text=True)
