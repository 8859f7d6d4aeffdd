"""Scan station benchmark: successive scan-ins through the real server, as the scan station's JavaScript sends them.

    python -m benchmarks.scan_station --n 1000
    python -m benchmarks.scan_station --n 1000 --database-url postgresql+psycopg://user@host/db

A temporary instance (SQLite file by default) gets the demo data (sites, org units, users, a few days of
history); waitress serves the app on 127.0.0.1 in a thread. One client logs in as the mail room user with
its CSRF token and then posts `--n` new codes, one after the other, on one keep-alive connection, to
`POST /intake/scan` (the endpoint scan-station.js calls). Every 10th scan repeats an earlier code (the
"already logged" answer).

Reported per scan: server time (from the WSGI call to the finished response, measured inside the server
process), view time (the view's own Server-Timing header), round trip seen by the client, and the number of
SQL statements. Target: p95 server time < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

TARGET_P95_MS = 50.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class TimingMiddleware:
    """Server time of each request: from the WSGI call until the response body is consumed."""

    def __init__(self, app) -> None:
        self.app = app
        self.times: list[tuple[str, float]] = []

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        body = self.app(environ, start_response)
        try:
            chunks = list(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        self.times.append((environ.get("PATH_INFO", ""), (time.perf_counter() - started) * 1000))
        return chunks


class Session:
    """A minimal browser: one keep-alive connection, the session cookie, the CSRF token."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response, data


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html
    )
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan_station", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of scans (default 1000)")
    parser.add_argument("--database-url", default=None, help="database (default: a temporary SQLite file)")
    parser.add_argument("--history-days", type=int, default=5, help="days of demo history seeded first")
    args = parser.parse_args(argv)

    from sqlalchemy import event

    from labels import codes as carrier_codes
    from mailroom import create_app
    from mailroom import demo as demo_data
    from mailroom.extensions import db

    with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as tmp:
        os.environ["MAILROOM_INSTANCE_PATH"] = tmp
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        app = create_app({"SECRET_KEY": "benchmark", "DATABASE_URL": url, "SCAN_DIR": str(Path(tmp) / "scans")})
        with app.app_context():
            if args.database_url:
                db.drop_all()
            db.create_all()
            logins = {login.username: login.password for login in demo_data.seed(history_days=args.history_days)}
            db.session.commit()
            engine = db.engine

        statements = {"n": 0}

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_args, **_kwargs) -> None:
            statements["n"] += 1

        timing = TimingMiddleware(app.wsgi_app)
        app.wsgi_app = timing
        from waitress.server import create_server

        port = _free_port()
        server = create_server(app, host="127.0.0.1", port=port, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            session = Session("127.0.0.1", port)
            _response, page = session.request("GET", "/login")
            form = urllib.parse.urlencode(
                {"username": "post", "password": logins["post"], "csrf_token": _csrf_from(page.decode())}
            ).encode()
            response, _ = session.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
            if response.status != 302:
                raise RuntimeError(f"login failed: {response.status}")
            _response, page = session.request("GET", "/intake/scan")
            token = _csrf_from(page.decode())
            headers = {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token}

            round_trips: list[float] = []
            view_times: list[float] = []
            queries: list[int] = []
            codes: list[str] = []
            errors = 0
            created = repeated = 0
            timing.times.clear()
            for i in range(args.n):
                if i % 10 == 9 and codes:
                    code = codes[i // 2]  # an earlier code again
                else:
                    code = carrier_codes.make_s10("RR", 20_000_000 + i)
                    codes.append(code)
                body = json.dumps({"code": code}).encode()
                before = statements["n"]
                started = time.perf_counter()
                response, data = session.request("POST", "/intake/scan", body, headers)
                round_trips.append((time.perf_counter() - started) * 1000)
                queries.append(statements["n"] - before)
                if response.status == 201:
                    created += 1
                elif response.status == 200 and not json.loads(data)["created"]:
                    repeated += 1
                else:
                    errors += 1
                    print(f"scan {i} ({code}): HTTP {response.status} {data[:200]!r}", file=sys.stderr)
                server_timing = response.getheader("Server-Timing") or ""
                match = re.search(r"dur=([\d.]+)", server_timing)
                if match:
                    view_times.append(float(match.group(1)))
            server_times = [ms for path, ms in timing.times if path == "/intake/scan"]
            session.connection.close()
            time.sleep(0.3)  # let waitress finish the last task before its trigger is closed
        finally:
            server.close()
            with app.app_context():
                db.engine.dispose()

    dialect = url.split(":", 1)[0]
    print(f"scan station: {args.n} scan-ins through waitress ({dialect}), {created} new, {repeated} repeated, "
          f"{errors} errors")  # fmt: skip
    print(f"{'':<26}{'median':>10}{'p95':>10}{'max':>10}")
    for label, values in (
        ("server time per scan, ms", server_times),
        ("view time per scan, ms", view_times),
        ("round trip per scan, ms", round_trips),
    ):
        if values:
            print(
                f"{label:<26}{statistics.median(values):>10.2f}{_percentile(values, 0.95):>10.2f}{max(values):>10.2f}"
            )
    new_queries = [q for q, ms in zip(queries, round_trips, strict=True)]
    print(f"SQL statements per scan: median {statistics.median(new_queries):.0f}, max {max(new_queries)}")
    p95 = _percentile(server_times, 0.95) if server_times else float("inf")
    verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
    print(f"target p95 server time < {TARGET_P95_MS:.0f} ms: {verdict} ({p95:.2f} ms)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
