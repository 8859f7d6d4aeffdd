"""The API on a real server: waitress on a loopback port, on SQLite and on PostgreSQL, with intake master
data and a device token."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import pytest
from waitress.server import create_server

from mailroom.extensions import db
from mailroom.services import tokens
from tests.conftest import _free_port
from tests.mailroom.intake.conftest import Intake, _seed


@dataclass
class ApiServer:
    url: str
    token: str
    intake: Intake

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class EightThreadServer:
    """waitress with eight threads (eight scanners at once; the browser tests' server has four) and its own
    socket map, run in a thread of the test process."""

    def __init__(self, app, host: str, port: int) -> None:
        self.url = f"http://{host}:{port}"
        self.host, self.port = host, port
        self._server = create_server(app, host=host, port=port, threads=8, map={})
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            if not self._stopping:  # closing the socket under the loop ends it with EBADF
                raise

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("API server did not start")

    def stop(self) -> None:
        self._stopping = True
        self._server.task_dispatcher.shutdown()
        self._server.close()
        self._thread.join(5)


@pytest.fixture
def api_server(app):
    intake = _seed(app)
    _token, plaintext = tokens.create_token(intake.staff, "Handscanner")
    db.session.commit()
    server = EightThreadServer(app, "127.0.0.1", _free_port())
    server.start()
    yield ApiServer(url=server.url, token=plaintext, intake=intake)
    server.stop()
