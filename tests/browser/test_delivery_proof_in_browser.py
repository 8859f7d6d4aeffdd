"""The signature of a hand-over in a real browser, with the app's Content Security Policy in force: the
image on the item page loads (it is not a broken picture), and the Zustellnachweis link opens a PDF."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, ItemStatus, OrgUnit, User
from mailroom.services import custody, storage
from tests.builders import add_item

pytestmark = pytest.mark.browser


def _signed_pzu(app) -> int:
    image = Image.new("RGBA", (400, 150), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (120, 30), (220, 120), (380, 40)], fill="black", width=8)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.active.is_(True)).order_by(OrgUnit.id))
        courier = db.session.scalar(select(User).where(User.username == "bote"))
        item = add_item(unit, kind=ItemKind.PZU, status=ItemStatus.SORTED)
        db.session.flush()
        custody.record_event(item, EventKind.LOADED, user=courier)
        sha = storage.store("signatures", buffer.getvalue(), ".png")
        custody.deliver_item(item, user=courier, receiver_name="Käthe Jürgensen", signature_sha256=sha)
        db.session.commit()
        return item.id


def test_the_signature_shows_on_the_item_page(live_server, strict_page, tmp_path):
    item_id = _signed_pzu(live_server.app)
    page = strict_page
    page.goto(live_server.url + "/login")
    page.fill("#username", "post")
    page.fill("#password", live_server.app.config["DEMO_LOGINS"]["post"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.goto(f"{live_server.url}/intake/items/{item_id}")
    deliveries = page.get_by_test_id("deliveries")
    assert "Käthe Jürgensen" in deliveries.get_by_test_id("receiver-name").inner_text()
    signature = deliveries.get_by_test_id("signature")
    signature.scroll_into_view_if_needed()
    page.wait_for_load_state("load")
    assert signature.evaluate("img => img.complete && img.naturalWidth") == 400
    deliveries.screenshot(path=str(tmp_path / "deliveries.png"))

    # The link opens the PDF, fetched with the page's session cookie.
    link = page.get_by_test_id("delivery-proof")
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
