"""What the browser tests do in a signed-in page: log in with a demo login, send the app's JSON actions."""

from __future__ import annotations


def login_demo(page, server, username: str = "post") -> None:
    """Log in through the form with the live server's demo login of `username`; waits for the start page."""
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", server.app.config["DEMO_LOGINS"][username])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")


def post_json(page, path: str, body: dict) -> dict:
    """POST `body` as JSON from the page (its session and CSRF token), as the app's scripts do."""
    return page.evaluate(
        """async ([path, body]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const res = await fetch(path, {method: 'POST', body: JSON.stringify(body),
                headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token}});
            return {status: res.status, body: await res.json()};
        }""",
        [path, body],
    )
