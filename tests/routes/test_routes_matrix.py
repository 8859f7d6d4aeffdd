"""Distance matrices: haversine default, CSV files, OSRM/Valhalla against a local stub server."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from routes.matrix import (
    MatrixError,
    build_matrix,
    haversine_km,
    matrix_from_csv,
    matrix_from_osrm,
    matrix_from_valhalla,
)
from routes.model import Depot, Stop

DEPOT = Depot("D", 53.1455, 8.2035)
STOPS = [Stop("A", 53.1403, 8.2141), Stop("B", 53.1760, 8.2080)]


def test_haversine_known_distance() -> None:
    # Oldenburg to Bremen main stations: about 38.6 km great-circle
    assert haversine_km(53.1436, 8.2225, 53.0832, 8.8133) == pytest.approx(40.0, abs=1.5)
    assert haversine_km(53.0, 8.0, 53.0, 8.0) == 0.0


def test_build_matrix_circuity_and_speed() -> None:
    m = build_matrix(DEPOT, STOPS, speed_kmh=30.0, circuity=1.3)
    assert m.ids == ("D", "A", "B")
    direct = haversine_km(DEPOT.lat, DEPOT.lon, STOPS[0].lat, STOPS[0].lon)
    assert m.km[0][1] == pytest.approx(direct * 1.3)
    assert m.minutes[0][1] == pytest.approx(direct * 1.3 / 30 * 60)
    assert m.km[1][0] == pytest.approx(m.km[0][1])
    assert all(m.km[i][i] == 0 for i in range(3))


def test_matrix_from_csv_long_and_square(tmp_path: Path) -> None:
    long = tmp_path / "long.csv"
    long.write_text("from,to,km,minutes\nD,A,1.5,4\nA,D,1.6,5\n", encoding="utf-8")
    m = matrix_from_csv(long)
    assert m.ids == ("D", "A")
    assert m.km[0][1] == 1.5 and m.minutes[1][0] == 5
    square = tmp_path / "square.csv"
    square.write_text(",D,A\nD,0,2\nA,2.5,0\n", encoding="utf-8")
    m = matrix_from_csv(square, speed_kmh=30)
    assert m.km[1][0] == 2.5 and m.minutes[0][1] == pytest.approx(4.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("from,to,km\nD,A,1\n", encoding="utf-8")
    with pytest.raises(MatrixError, match="no entry from A to D"):
        matrix_from_csv(bad)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        n = self.path.split("/table/v1/driving/")[1].split("?")[0].count(";") + 1
        body = {
            "code": "Ok",
            "distances": [[0 if i == j else 1000.0 * (i + j) for j in range(n)] for i in range(n)],
            "durations": [[0 if i == j else 120.0 for j in range(n)] for i in range(n)],
        }
        self._send(body)

    def do_POST(self) -> None:
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        n = len(req["sources"])
        cell = {"distance": 2.0, "time": 300}
        table = [[{"distance": 0.0, "time": 0} if i == j else cell for j in range(n)] for i in range(n)]
        self._send({"sources_to_targets": table})

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def table_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_osrm_table(table_server: str) -> None:
    m = matrix_from_osrm(table_server, DEPOT, STOPS, timeout_s=5, fallback=False)
    assert m.ids == ("D", "A", "B")
    assert m.km[1][2] == pytest.approx(3.0)
    assert m.minutes[0][1] == pytest.approx(2.0)


def test_valhalla_table(table_server: str) -> None:
    m = matrix_from_valhalla(table_server, DEPOT, STOPS, timeout_s=5, fallback=False)
    assert m.km[0][2] == pytest.approx(2.0)
    assert m.minutes[2][1] == pytest.approx(5.0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_falls_back_or_raises(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with caplog.at_level(logging.WARNING, logger="routes.matrix"):
        m = matrix_from_osrm(url, DEPOT, STOPS, timeout_s=1)
    assert m == build_matrix(DEPOT, STOPS)
    assert "falling back" in caplog.text
    with pytest.raises(MatrixError, match="not reachable"):
        matrix_from_osrm(url, DEPOT, STOPS, timeout_s=1, fallback=False)
    with pytest.raises(MatrixError):
        matrix_from_valhalla(url, DEPOT, STOPS, timeout_s=1, fallback=False)
