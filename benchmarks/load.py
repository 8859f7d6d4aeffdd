"""Load: the real server (`mailroom serve`: gunicorn, two processes per core, 2 threads each) plus `mailroom worker`,
8 concurrent clients.

    python -m benchmarks.load                       # SQLite, then PostgreSQL (a temporary server) if installed
    python -m benchmarks.load --databases sqlite --clients 8 --items 500
    python -m benchmarks.load --database-url postgresql+psycopg://user@host/db
    python -m benchmarks.load --workers 1 --threads 8   # waitress, one process of 8 threads

Each client logs `--items` new items (default 500): the even-numbered clients through the scan station's
endpoint (`POST /intake/scan`, logged in with session cookie and CSRF token, as scan-station.js does), the
odd-numbered ones through the API (`POST /api/v1/items`, Bearer token). Every request is sent twice with
the same `Idempotency-Key` (a client retrying after a lost answer): the second answer must name the same
item. Afterwards the database must hold exactly clients x items new items, each code once, each incoming
number once, and no request may have failed.

Reported per database: items per second (wall clock, first sends), requests per second (all sends), p50 and
p95 of the round trip for first sends and for retries, and the CPU time each party used per item (clients,
server processes, worker, the temporary PostgreSQL server), read from /proc: on a machine whose cores are
shared, "cores busy" says how much of it the benchmark got. Targets: >= 200 scan-ins per second on
PostgreSQL, p95 < 100 ms. Loopback only; every loop is bounded by the item count and every request by a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TARGET_RATE = 200.0
TARGET_P95_MS = 100.0
REQUEST_TIMEOUT_S = 60.0
MAILROOM = str(Path(sys.executable).parent / "mailroom")
SECRET = "load-benchmark"  # noqa: S105  (the session key of a throw-away instance)
POSTMASTERS: dict[str, int] = {}  # URL -> pid of the temporary PostgreSQL server (for its CPU time)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _tree_cpu_s(root: int | None) -> float:
    """CPU seconds (user + system) used so far by the live process `root` and its live descendants (Linux /proc)."""
    if root is None:
        return 0.0
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total = 0.0
    for pid, seconds in used.items():
        ancestor: int | None = pid
        while ancestor not in (None, 0, 1):
            if ancestor == root:
                total += seconds
                break
            ancestor = parents.get(ancestor)  # type: ignore[arg-type]
    return total


def _own_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- a temporary PostgreSQL server (as the test set-up starts one) -------------------------------------


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 with default durability settings; yields its URL."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL server binaries missing (apt-get install postgresql)")
    base = tempfile.mkdtemp(prefix="mailroom-load-pg-")
    datadir = os.path.join(base, "data")
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    subprocess.run(
        _as_postgres([initdb, "-D", datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=100"
    start = [pg_ctl, "-D", datadir, "-w", "-l", os.path.join(base, "log"), "-o", options, "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        createdb = [_pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "load"]
        subprocess.run(_as_postgres(createdb), check=True, capture_output=True)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/load"
        with open(os.path.join(datadir, "postmaster.pid")) as pidfile:
            POSTMASTERS[url] = int(pidfile.readline())
        yield url
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", datadir, "-m", "fast", "stop"]), check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# --- clients -----------------------------------------------------------------------------------------------


class Browser:
    """One connection with cookies (kept alive while the server allows; reopened when it closes it)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
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


@dataclass
class ClientResult:
    first_ms: list[float] = field(default_factory=list)
    retry_ms: list[float] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replay_mismatch: int = 0


def _scan_station_client(port: int, password: str) -> tuple[Browser, str, dict]:
    browser = Browser(port)
    _, page = browser.request("GET", "/login")
    form = urllib.parse.urlencode({"username": "post", "password": password, "csrf_token": _csrf_from(page.decode())})
    response, _ = browser.request(
        "POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    if response.status != 302:
        raise RuntimeError(f"login failed: HTTP {response.status}")
    _, page = browser.request("GET", "/intake/scan")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": _csrf_from(page.decode()),
    }
    return browser, "/intake/scan", headers


def run_client(index: int, port: int, items: int, password: str, token: str, start: threading.Barrier) -> ClientResult:
    from labels import codes as carrier_codes

    result = ClientResult()
    try:
        if index % 2 == 0:
            browser, path, headers = _scan_station_client(port, password)
        else:
            browser = Browser(port)
            path = "/api/v1/items"
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            headers["Authorization"] = f"Bearer {token}"
    except Exception as exc:
        result.errors.append(f"client {index}: set-up failed: {exc}")
        start.abort()
        return result
    start.wait()
    for n in range(items):
        code = carrier_codes.make_s10("RR", 30_000_000 + index * 100_000 + n)
        body = json.dumps({"code": code}).encode()
        request_headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        answers = []
        for attempt in range(2):
            started = time.perf_counter()
            try:
                response, data = browser.request("POST", path, body, request_headers)
            except (OSError, http.client.HTTPException) as exc:
                result.errors.append(f"client {index} {code} send {attempt + 1}: {exc}")
                browser = Browser(port) if index % 2 else browser
                break
            elapsed = (time.perf_counter() - started) * 1000
            (result.first_ms if attempt == 0 else result.retry_ms).append(elapsed)
            if response.status not in (200, 201):
                result.errors.append(f"client {index} {code} send {attempt + 1}: HTTP {response.status} {data[:160]!r}")
                break
            answers.append((response.status, json.loads(data)))
        if len(answers) == 2:
            (status1, first), (status2, second) = answers
            if first["item"]["id"] != second["item"]["id"]:
                result.errors.append(f"client {index} {code}: retry answered another item")
            if status1 != 201:
                result.errors.append(f"client {index} {code}: first send was not a new item (HTTP {status1})")
            if (status2, second) != (status1, first):
                result.replay_mismatch += 1  # the retry was answered anew, not with the stored first answer
            result.item_ids.append(first["item"]["id"])
    browser.connection.close()
    return result


# --- one database -------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    database: str
    clients: int
    items_per_client: int
    wall_s: float
    stored: int
    duplicate_codes: int
    duplicate_numbers: int
    errors: list[str]
    replay_mismatch: int
    first_ms: list[float]
    retry_ms: list[float]
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds in the timed phase: server, worker, ...

    @property
    def expected(self) -> int:
        return self.clients * self.items_per_client

    @property
    def items_per_s(self) -> float:
        return self.stored / self.wall_s if self.wall_s else 0.0

    @property
    def requests_per_s(self) -> float:
        return (len(self.first_ms) + len(self.retry_ms)) / self.wall_s if self.wall_s else 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and self.stored == self.expected and not self.duplicate_codes


def _env(instance: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
    env.update(MAILROOM_INSTANCE_PATH=str(instance), MAILROOM_DATABASE_URL=url)
    env["MAILROOM_SECRET_KEY"] = SECRET
    return env


def _wait_for(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def run_load(url: str, *, clients: int, items: int, threads: int, workers: int = 1) -> LoadReport:
    from sqlalchemy import func, select

    from mailroom import create_app
    from mailroom import demo as demo_data
    from mailroom.extensions import db
    from mailroom.models import MailItem, User
    from mailroom.services.tokens import create_token

    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    with tempfile.TemporaryDirectory(prefix="mailroom-load-") as tmp:
        instance = Path(tmp)
        os.environ["MAILROOM_INSTANCE_PATH"] = tmp
        app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": url, "SCAN_DIR": str(instance / "scans")})
        with app.app_context():
            db.drop_all()
            db.create_all()
            logins = {login.username: login.password for login in demo_data.seed(history_days=0)}
            user = db.session.scalar(select(User).where(User.username == "post"))
            _, token = create_token(user, "Lasttest")
            db.session.commit()
            before = db.session.scalar(select(func.count(MailItem.id))) or 0
            db.session.remove()
            db.engine.dispose()

        port = _free_port()
        env = _env(instance, url)
        logs = [open(instance / name, "wb") for name in ("server.log", "worker.log")]  # noqa: SIM115
        server = subprocess.Popen(
            [MAILROOM, "serve", "--port", str(port), "--threads", str(threads), "--workers", str(workers)],
            env=env,
            stdout=logs[0],
            stderr=logs[0],
        )
        worker = subprocess.Popen([MAILROOM, "worker"], env=env, stdout=logs[1], stderr=logs[1])
        results: list[ClientResult] = [ClientResult() for _ in range(clients)]
        try:
            _wait_for(port, server)
            barrier = threading.Barrier(clients + 1)

            def work(i: int) -> None:
                results[i] = run_client(i, port, items, logins["post"], token, barrier)

            pool = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
            for thread in pool:
                thread.start()
            postmaster = POSTMASTERS.get(url)
            groups = {"server": server.pid, "worker": worker.pid, "postgresql": postmaster}

            def cpu_now() -> dict[str, float]:
                return {"clients": _own_cpu_s()} | {name: _tree_cpu_s(pid) for name, pid in groups.items() if pid}

            with contextlib.suppress(threading.BrokenBarrierError):  # a client's set-up failed: it says why
                barrier.wait(timeout=120)
            cpu_before = cpu_now()
            started = time.perf_counter()
            for thread in pool:
                thread.join()
            wall = time.perf_counter() - started
            cpu_s = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_now().items()}
        finally:
            for process in (server, worker):
                process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for log in logs:
                log.close()

        with app.app_context():
            stored = (db.session.scalar(select(func.count(MailItem.id))) or 0) - before
            codes = db.session.scalar(select(func.count(func.distinct(MailItem.code)))) or 0
            numbers = db.session.scalar(select(func.count(func.distinct(MailItem.incoming_number)))) or 0
            total = db.session.scalar(select(func.count(MailItem.id))) or 0
            db.session.remove()
            db.engine.dispose()

    errors = [e for r in results for e in r.errors]
    return LoadReport(
        database=dialect,
        clients=clients,
        items_per_client=items,
        wall_s=wall,
        stored=stored,
        duplicate_codes=total - codes,
        duplicate_numbers=total - numbers,
        errors=errors,
        replay_mismatch=sum(r.replay_mismatch for r in results),
        first_ms=[ms for r in results for ms in r.first_ms],
        retry_ms=[ms for r in results for ms in r.retry_ms],
        cpu_s=cpu_s,
    )


def print_reports(reports: list[LoadReport]) -> None:
    print(
        f"{'database':<11}{'items':>7}{'errors':>8}{'dupl.':>7}{'items/s':>9}{'req/s':>8}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'retry p50':>10}{'retry p95':>10}{'replayed':>10}"
    )
    for r in reports:
        replayed = len(r.retry_ms) - r.replay_mismatch
        print(
            f"{r.database:<11}{r.stored:>7}{len(r.errors):>8}{r.duplicate_codes:>7}{r.items_per_s:>9.1f}"
            f"{r.requests_per_s:>8.1f}{_percentile(r.first_ms, 0.5):>8.1f}{_percentile(r.first_ms, 0.95):>8.1f}"
            f"{_percentile(r.retry_ms, 0.5):>10.1f}{_percentile(r.retry_ms, 0.95):>10.1f}"
            f"{replayed:>5}/{len(r.retry_ms):<4}"
        )
    for r in reports:
        verdict = "exactly" if r.stored == r.expected and not r.duplicate_codes else "NOT"
        print(f"{r.database}: {verdict} {r.expected} items expected, {r.stored} stored, "
              f"{r.duplicate_codes} duplicate codes, {r.duplicate_numbers} duplicate incoming numbers")  # fmt: skip
        for error in r.errors[:10]:
            print(f"  {error}", file=sys.stderr)
        if r.database == "postgresql":
            rate_ok = r.items_per_s >= TARGET_RATE
            p95_ok = _percentile(r.first_ms, 0.95) < TARGET_P95_MS
            print(
                f"  targets on PostgreSQL: >= {TARGET_RATE:.0f} items/s {'met' if rate_ok else 'MISSED'}, "
                f"p95 < {TARGET_P95_MS:.0f} ms {'met' if p95_ok else 'MISSED'}"
            )
        if r.replay_mismatch:
            print(f"  {r.replay_mismatch} retries were answered anew instead of with the stored first answer")
        if r.cpu_s and r.stored:
            shares = ", ".join(f"{name} {seconds * 1000 / r.stored:.1f}" for name, seconds in r.cpu_s.items())
            print(f"  CPU ms per item (2 requests): {shares}; {sum(r.cpu_s.values()) / r.wall_s:.2f} cores busy")
    print(f"({os.cpu_count()} CPU cores; client threads, server and worker on the same machine)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=500, help="new items per client (default 500)")
    # Two processes per core of two threads each: measured best on 2 cores (4 x 2 beat 2 x 4 by 24-46 %,
    # 1 thread per process and 6 or 8 processes were slower); Python runs one thread per process at a time.
    parser.add_argument("--threads", type=int, default=2, help="server threads per process (default 2)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="server processes (default: two per CPU core, gunicorn; 1: waitress)",
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--database-url", default=None, help="an existing PostgreSQL database instead")
    args = parser.parse_args(argv)

    server = {"clients": args.clients, "items": args.items, "threads": args.threads, "workers": args.workers}
    reports = []
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    for kind in kinds:
        if kind == "sqlite":
            with tempfile.TemporaryDirectory(prefix="mailroom-load-db-") as tmp:
                url = f"sqlite:///{Path(tmp) / 'load.sqlite'}"
                reports.append(run_load(url, **server))
        elif kind == "postgresql":
            if args.database_url:
                reports.append(run_load(args.database_url, **server))
                continue
            try:
                with temporary_postgres() as url:
                    reports.append(run_load(url, **server))
            except RuntimeError as exc:
                print(f"postgresql skipped: {exc}", file=sys.stderr)
        else:
            parser.error(f"unknown database {kind!r}")
    print_reports(reports)
    return 0 if reports and all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
