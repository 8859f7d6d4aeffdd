"""Hostile uploads against the real server: does the health check stay answered?

    python -m benchmarks uploads
    python -m benchmarks uploads --rounds 3 --file-seconds 10

A temporary instance gets an empty schema, a mail room user and a device token; then
`mailroom serve` (waitress, 8 threads, as in production) runs as a subprocess on a free loopback port.
Eight hostile files (below every byte and pixel limit, made here, see `hostile_files`) are posted at once
to `POST /api/v1/scans`, while `GET /health` is asked every 50 ms. Reported: each upload's status and
time, and the health check's median and maximum latency. Target: every health check under 1 s, no 500.

A second scenario posts a one-page PDF with a barcode while a hostile PDF (three huge striped pages) is
being read: the one-page PDF must not wait for the other (PDFium's lock is held per page, not per file).

Loopback only; every loop is bounded (at most `--timeout` seconds per round).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

HEALTH_TARGET_S = 1.0
MEGA = 1_000_000


# --- hostile files (each below the default byte and pixel limits) ------------------------------


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_blank(side: int = 7745) -> bytes:
    """About 60 megapixels of white in about 70 KB (the issue's 58 KB PNG)."""
    return _png(Image.new("L", (side, side), 255))


def png_stripes(side: int = 7745, seed: int = 1) -> bytes:
    """About 60 megapixels of random vertical bars (every row the same: compresses to about 70 KB). zbar sees
    bars everywhere, so every pass runs: the worst case for the decoder."""
    row = (np.random.default_rng(seed).random(side) < 0.5).astype(np.uint8) * 255
    return _png(Image.fromarray(np.tile(row, (side, 1)), "L"))


def tiff_stripes(side: int = 7000, frames: int = 3, seed: int = 2) -> bytes:
    """Three frames of 49 megapixels of bars (1 bit, CCITT group 4) in a few KB."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(frames):
        row = np.repeat(rng.random(side // 4 + 1) < 0.5, 4)[:side]
        images.append(Image.fromarray(np.tile(row, (side, 1))).convert("1"))
    buffer = io.BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], compression="group4")
    return buffer.getvalue()


def pdf_huge_pages(pages: int = 3, stripes: bool = False, seed: int = 3) -> bytes:
    """Pages of 200 x 200 inches (PDF's largest), blank or full of bars, in a few KB."""
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    buffer = io.BytesIO()
    side = 14_400
    c = canvas.Canvas(buffer, pagesize=(side, side), invariant=1)
    for number in range(pages):
        if stripes:
            x = 0
            while x < side:
                width = rng.choice([4, 8, 12])
                if rng.random() < 0.5:
                    c.rect(x, 0, width, side, stroke=0, fill=1)
                x += width
        c.drawString(72, 72, f"Seite {number + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def pdf_many_pages(pages: int = 500) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    for number in range(pages):
        c.drawString(72, 720, f"Seite {number + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def polyglot() -> bytes:
    """A PNG that is a PDF too (a PDF appended after the image's end)."""
    return _png(Image.new("L", (400, 300), 255)) + pdf_many_pages(1)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header claiming 10 gigapixels, with a tiny body."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100_000)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def hostile_files() -> dict[str, bytes]:
    """The eight hostile uploads, by file name."""
    return {
        "streifen-60mp.png": png_stripes(),
        "weiss-60mp.png": png_blank(),
        "riesenseiten-streifen.pdf": pdf_huge_pages(stripes=True),
        "riesenseiten.pdf": pdf_huge_pages(),
        "drei-seiten.tif": tiff_stripes(),
        "500-seiten.pdf": pdf_many_pages(),
        "bild-und-pdf.png": polyglot(),
        "bombe.png": png_bomb(),
    }


def one_page_pdf_with_code(value: str) -> bytes:
    from reportlab.graphics.barcode import code128
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    code128.Code128(value, barWidth=0.4 * mm, barHeight=15 * mm).drawOn(c, 72, 600)
    c.save()
    return buffer.getvalue()


# --- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mailroom_command() -> list[str]:
    script = Path(sys.executable).with_name("mailroom")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from mailroom.cli import main; main()"]


@dataclass
class Server:
    """`mailroom serve` in a subprocess on a temporary instance, with one API token of the mail room."""

    instance: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    token: str = ""
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.env = {
            **os.environ,
            "MAILROOM_INSTANCE_PATH": str(self.instance),
            "MAILROOM_SECRET_KEY": "benchmark-" + uuid.uuid4().hex,
            **self.env,
        }
        self.token = _make_token(self.env)
        self.port = _free_port()
        self.process = subprocess.Popen(
            [*_mailroom_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _body, _seconds = get(self.port, "/health", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"mailroom serve ended: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("mailroom serve did not answer /health")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


def _make_token(env: dict[str, str]) -> str:
    """The schema (from the models, as the tests build it), a mail room user and a device token, written
    straight into the instance's database."""
    code = (
        "from mailroom import create_app\n"
        "from mailroom.extensions import db\n"
        "from mailroom.models import Role\n"
        "from mailroom.services import tokens\n"
        "from mailroom.services.auth import create_user\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    user = create_user('scanner', 'Benchmark-Passwort-123', Role.MAILROOM, 'Scanner')\n"
        "    db.session.flush()\n"
        "    _token, plaintext = tokens.create_token(user, 'Benchmark')\n"
        "    db.session.commit()\n"
        "    print(plaintext)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=120)
    return done.stdout.decode().strip().splitlines()[-1]


def get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read(), time.perf_counter() - started
    finally:
        connection.close()


def post_scan(port: int, token: str, name: str, data: bytes, timeout: float = 120) -> tuple[int, dict, float]:
    """POST /api/v1/scans with one file (multipart/form-data); returns status, JSON body, seconds."""
    boundary = "----mailroom" + uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/api/v1/scans", body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {"raw": raw[:200].decode("latin-1")}
    return response.status, answer, time.perf_counter() - started


# --- the scenarios -----------------------------------------------------------------------------


@dataclass
class Round:
    uploads: dict[str, tuple[int, float, str]]  # name -> (status, seconds, error code or notice)
    health: list[float]  # seconds per health check
    health_failures: int


def hostile_round(server: Server, files: dict[str, bytes], timeout: float) -> Round:
    """All files posted at once while /health is asked every 50 ms (bounded by `timeout`)."""
    results: dict[str, tuple[int, float, str]] = {}

    def upload(name: str, data: bytes) -> None:
        try:
            status, answer, seconds = post_scan(server.port, server.token, name, data, timeout=timeout)
        except OSError as exc:
            results[name] = (0, timeout, f"{type(exc).__name__}")
            return
        error = answer.get("error") if isinstance(answer.get("error"), dict) else None
        detail = (error or {}).get("code") or answer.get("code") or answer.get("notice") or ""
        results[name] = (status, seconds, str(detail))

    threads = [threading.Thread(target=upload, args=item, daemon=True) for item in files.items()]
    for thread in threads:
        thread.start()
    health: list[float] = []
    failures = 0
    began = time.monotonic()
    deadline = began + timeout
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        try:
            status, _body, seconds = get(server.port, "/health", timeout=HEALTH_TARGET_S * 10)
            health.append(seconds)
            if seconds > HEALTH_TARGET_S / 2:
                print(f"  slow /health at {time.monotonic() - began:.1f} s: {1000 * seconds:.0f} ms", flush=True)
            failures += status != 200
        except OSError:
            failures += 1
            health.append(HEALTH_TARGET_S * 10)
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
    return Round(results, health, failures)


def one_page_behind_hostile_pdf(server: Server, timeout: float) -> tuple[float, int, float, int]:
    """Seconds (and status) of a one-page PDF posted 0.3 s after a hostile PDF, and of the hostile PDF."""
    hostile: dict[str, tuple[int, float]] = {}

    def post_hostile() -> None:
        status, _answer, seconds = post_scan(server.port, server.token, "riesig.pdf", pdf_huge_pages(stripes=True))
        hostile["x"] = (status, seconds)

    thread = threading.Thread(target=post_hostile, daemon=True)
    thread.start()
    time.sleep(0.3)
    status, _answer, seconds = post_scan(
        server.port, server.token, "brief.pdf", one_page_pdf_with_code("RR123456785DE")
    )
    thread.join(timeout=timeout)
    hostile_status, hostile_seconds = hostile.get("x", (0, timeout))
    return seconds, status, hostile_seconds, hostile_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks uploads", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of eight hostile uploads (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one round may take at most")
    parser.add_argument("--file-seconds", type=float, default=None, help="UPLOAD_FILE_SECONDS of the server")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")

    started = time.perf_counter()
    files = hostile_files()
    print(f"hostile uploads: {len(files)} files made in {time.perf_counter() - started:.1f} s")
    for name, data in files.items():
        print(f"  {name:<28} {len(data) / 1024:>8.1f} KB")
    ok = True
    with tempfile.TemporaryDirectory(prefix="mailroom-uploads-") as tmp:
        env = {} if args.file_seconds is None else {"MAILROOM_UPLOAD_FILE_SECONDS": str(args.file_seconds)}
        server = Server(Path(tmp), env=env)
        server.start()
        try:
            all_health: list[float] = []
            for number in range(1, args.rounds + 1):
                result = hostile_round(server, files, args.timeout)
                all_health += result.health
                print(f"\nround {number}: {len(files)} hostile uploads at once to POST /api/v1/scans")
                for name in files:
                    status, seconds, detail = result.uploads.get(name, (0, 0.0, "no answer"))
                    ok &= (status != 0 and status < 500) or status == 503
                    print(f"  {name:<28} HTTP {status:<4} {seconds:>6.2f} s  {detail[:90]}")
                if result.health:
                    print(
                        f"  /health during the round: {len(result.health)} checks, median "
                        f"{1000 * statistics.median(result.health):.0f} ms, max {1000 * max(result.health):.0f} ms, "
                        f"{result.health_failures} failed"
                    )
                ok &= result.health_failures == 0
            seconds, status, hostile_seconds, hostile_status = one_page_behind_hostile_pdf(server, args.timeout)
            print(
                f"\none-page PDF posted while a hostile PDF is read: HTTP {status} in {seconds:.2f} s "
                f"(the hostile PDF: HTTP {hostile_status} in {hostile_seconds:.2f} s)"
            )
        finally:
            server.stop()
    worst = max(all_health) if all_health else float("inf")
    verdict = "met" if worst < HEALTH_TARGET_S and ok else "MISSED"
    print(f"target: every /health under {HEALTH_TARGET_S:.0f} s and no 500: {verdict} (max {1000 * worst:.0f} ms)")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
