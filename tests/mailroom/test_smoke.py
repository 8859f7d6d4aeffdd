from mailroom.models import Site


def test_demo_seed_and_login_page(app, client, demo):
    assert app.extensions["sqlalchemy"].session.query(Site).count() == 41
    response = client.get("/login")
    assert response.status_code == 200
    assert "Anmeldung" in response.get_data(as_text=True)


def test_login_as_each_demo_user(client, demo, login):
    for username, password in demo.items():
        c = login(username, password)
        page = c.get("/").get_data(as_text=True)
        assert "Abmelden" in page
        c.post("/logout")
