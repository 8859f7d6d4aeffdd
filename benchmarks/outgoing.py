"""Outgoing-mail benchmark: the franking-machine import and the postage reports at Stadt Oldenburg's scale.

    python -m benchmarks outgoing                      # SQLite and a temporary PostgreSQL server
    python -m benchmarks outgoing --lines 50000 --no-postgres
    python -m benchmarks outgoing --postgres-url postgresql+psycopg://user@host/db

Per database: three years of demo history (about 700,000 letters and 2,500 parcels a year, written as
about 240,000 franking lines, Einschreiben, PZUs and parcels), then
- the import of one generated `--lines`-line file in our documented format (every line checked, stored in
  one transaction) in a fresh child process: wall time and the process's peak RSS during the import (VmHWM,
  reset after loading the app); targets < 10 s and < 300 MB;
- the monthly cost-centre report and the year view (SQL GROUP BY over indexed dates): median of 5 runs;
  target < 1 s each.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TODAY = date(2026, 11, 30)
IMPORT_TARGET_S = 10.0
IMPORT_TARGET_MB = 300.0
REPORT_TARGET_S = 1.0
HEADER = "Datum;Uhrzeit;Kostenstelle;Produkt;Gewicht_g;Stueck;Porto_EUR"


def _app(url: str, instance: Path):
    os.environ["MAILROOM_INSTANCE_PATH"] = str(instance)
    from mailroom import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})


def make_file(lines: int, cost_centres: list[str], seed: int = 7) -> bytes:
    """A franking-machine log of `lines` lines in November 2026 (tariff of 2025: no warnings but a few)."""
    rng = random.Random(seed)
    products = [
        ("standardbrief", 95, 20),
        ("kompaktbrief", 110, 50),
        ("grossbrief", 180, 500),
        ("standardbrief+einschreiben_einwurf", 330, 20),
    ]
    out = [HEADER]
    for i in range(lines):
        product, cents, limit = rng.choice(products)
        pieces = rng.randint(1, 40)
        total = cents * pieces - (5 if i % 1000 == 0 else 0)  # one deviation per 1,000 lines
        day = date(2026, 11, 2) + timedelta(days=i % 26)
        out.append(
            f"{day:%d.%m.%Y};{8 + i % 9:02d}:{i % 60:02d};{rng.choice(cost_centres)};{product};"
            f"{rng.randint(5, limit)};{pieces};{total // 100},{total % 100:02d}"
        )
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc (Linux), in kB; 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    """Reset the peak RSS (VmHWM) so that it measures the import, not loading the app (OR-Tools, numpy)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _child_import(url: str, instance: str, path: str) -> None:
    """Runs in a fresh process: import one file, print time and peak memory as JSON."""
    app = _app(url, Path(instance))
    with app.app_context():
        from sqlalchemy import select

        from mailroom.extensions import db
        from mailroom.services.outgoing.importer import import_file

        data = Path(path).read_bytes()
        db.session.execute(select(1))  # connect before measuring
        before_kb = _status_kb("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        result = import_file(data, Path(path).name)
        db.session.commit()
        elapsed = time.perf_counter() - started
        peak_kb = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": peak_kb / 1024,
                "before_mb": before_kb / 1024,
                "lines": result.lines,
                "pieces": result.pieces,
                "warnings": len(result.warnings),
            }
        )
    )


def _median_seconds(action, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_database(label: str, url: str, lines: int) -> dict:
    instance = Path(tempfile.mkdtemp(prefix="mailroom-bench-outgoing-"))
    app = _app(url, instance)
    figures: dict = {"database": label}
    with app.app_context():
        from sqlalchemy import func, select

        from mailroom import demo
        from mailroom.demo_outgoing import OUTGOING_DEMO_DAYS, seed_outgoing_history
        from mailroom.extensions import db
        from mailroom.models import OrgUnit
        from mailroom.models.outgoing import LetterCount
        from mailroom.services.outgoing import reports

        db.drop_all()
        db.create_all()
        demo.seed(history_days=0)
        started = time.perf_counter()
        seed_outgoing_history(random.Random(2026), days=OUTGOING_DEMO_DAYS, today=TODAY)
        db.session.commit()
        figures["history_s"] = time.perf_counter() - started
        figures["history_rows"] = db.session.scalar(select(func.count(LetterCount.id)))
        figures["history_letters"] = db.session.scalar(select(func.sum(LetterCount.count)))
        cost_centres = sorted(set(db.session.scalars(select(OrgUnit.cost_centre))))
        month = date(2026, 10, 1)
        report = reports.month_report(month)
        figures["month_pieces"] = report.pieces
        figures["month_s"] = _median_seconds(lambda: reports.month_report(month))
        figures["year_s"] = _median_seconds(lambda: reports.year_view(2025))
        figures["year_letters"] = reports.year_view(2025).letters
        db.session.remove()
        db.engine.dispose()
    path = instance / "frankit-bench.csv"
    path.write_bytes(make_file(lines, cost_centres))
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.outgoing", "--child-import", url, str(instance), str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if child.returncode != 0:
        raise RuntimeError(f"import child failed: {child.stderr[-2000:]}")
    figures["import"] = json.loads(child.stdout.strip().splitlines()[-1])
    if label == "PostgreSQL":
        app = _app(url, instance)
        with app.app_context():
            from mailroom.extensions import db

            db.drop_all()
            db.engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)
    return figures


# --- a throw-away PostgreSQL server (as the test suite starts one) -------------------------------------


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class TemporaryPostgres:
    def __init__(self) -> None:
        self.base = tempfile.mkdtemp(prefix="mailroom-bench-pg-")
        self.data = os.path.join(self.base, "data")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def __enter__(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
        initdb, pg_ctl, createdb = (_pg_bin(n) for n in ("initdb", "pg_ctl", "createdb"))
        subprocess.run(
            _as_postgres([initdb, "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]),
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        subprocess.run(
            _as_postgres([pg_ctl, "-D", self.data, "-w", "-l", os.path.join(self.base, "log"), "-o", options, "start"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres([createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "bench"]),
            check=True,
            capture_output=True,
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bench"

    def __exit__(self, *exc) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(self.base, ignore_errors=True)


def _verdict(value: float, target: float) -> str:
    return "ok" if value < target else "ÜBER ZIEL"


def print_figures(figures: dict) -> None:
    imp = figures["import"]
    print(f"  {figures['database']}:")
    print(
        f"    history: {figures['history_rows']:,} franking lines ({figures['history_letters']:,} letters) "
        f"in {figures['history_s']:.1f} s"
    )
    print(
        f"    import {imp['lines']:,} lines ({imp['pieces']:,} pieces, {imp['warnings']} warnings): "
        f"{imp['seconds']:.2f} s [{_verdict(imp['seconds'], IMPORT_TARGET_S)} < {IMPORT_TARGET_S:g} s], "
        f"peak RSS {imp['peak_mb']:.0f} MB (the process with the app loaded: {imp['before_mb']:.0f} MB) "
        f"[{_verdict(imp['peak_mb'], IMPORT_TARGET_MB)} < {IMPORT_TARGET_MB:g} MB]"
    )
    print(
        f"    monthly cost-centre report (10/2026, {figures['month_pieces']:,} pieces): "
        f"{figures['month_s'] * 1000:.0f} ms [{_verdict(figures['month_s'], REPORT_TARGET_S)}]"
    )
    print(
        f"    year view 2025 ({figures['year_letters']:,} letters): {figures['year_s'] * 1000:.0f} ms "
        f"[{_verdict(figures['year_s'], REPORT_TARGET_S)}]"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child-import":
        _child_import(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks outgoing", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--postgres-url", default=None, help="an empty database to use (default: a temporary server)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    results = []
    sqlite_dir = tempfile.mkdtemp(prefix="mailroom-bench-sqlite-")
    try:
        results.append(run_database("SQLite", f"sqlite:///{sqlite_dir}/bench.sqlite", args.lines))
    finally:
        shutil.rmtree(sqlite_dir, ignore_errors=True)
    if args.postgres_url:
        results.append(run_database("PostgreSQL", args.postgres_url, args.lines))
    elif not args.no_postgres:
        if _pg_bin("initdb") is None:
            print("  PostgreSQL: server binaries missing (make test installs them); skipped")
        else:
            with TemporaryPostgres() as url:
                results.append(run_database("PostgreSQL", url, args.lines))
    print(f"Outgoing mail: import of {args.lines:,} lines, reports over three years")
    failed = False
    for figures in results:
        print_figures(figures)
        imp = figures["import"]
        failed |= imp["seconds"] >= IMPORT_TARGET_S or imp["peak_mb"] >= IMPORT_TARGET_MB
        failed |= figures["month_s"] >= REPORT_TARGET_S or figures["year_s"] >= REPORT_TARGET_S
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
