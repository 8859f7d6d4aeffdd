"""An installation without its master data says in German what is missing, instead of planning nothing."""

from __future__ import annotations

from datetime import date

import pytest

from mailroom.errors import DomainError
from mailroom.models import Role
from mailroom.services import dispatch

WEDNESDAY = date(2026, 6, 10)


def test_planning_an_empty_installation_names_what_is_missing(app):
    with pytest.raises(DomainError) as refused:
        dispatch.check_plannable(WEDNESDAY)
    assert refused.value.code == "setup_incomplete"
    assert refused.value.message.startswith("Noch nicht eingerichtet:")
    assert "Depot" in refused.value.message or "Poststelle" in refused.value.message


def test_the_dispatch_page_lists_the_missing_steps(app, client, make_user, login):
    make_user("post", Role.MAILROOM)
    login("post")
    page = client.get(f"/dispatch/?date={WEDNESDAY.isoformat()}").get_data(as_text=True)
    assert 'data-testid="setup-missing"' in page
    assert "so kann keine Tour geplant werden" in page


def test_a_set_up_installation_shows_no_such_warning(app, demo, client, login):
    login("post", demo["post"])
    page = client.get(f"/dispatch/?date={WEDNESDAY.isoformat()}").get_data(as_text=True)
    assert 'data-testid="setup-missing"' not in page
    assert dispatch.missing_master_data() == []
