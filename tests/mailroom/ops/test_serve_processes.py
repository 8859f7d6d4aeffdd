"""`mailroom serve --workers N`: gunicorn with N processes (a process per core), the same app and the same
exactly-once answers as waitress; SIGTERM stops the server and its processes."""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest
import requests

from tests.conftest import _free_port
from tests.mailroom.ops.conftest import api_token, seed_demo, wait_until

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rpartition(")")[2].split()[1]) == pid:
                        found.add(int(entry))
            except OSError:
                continue
    return found


def test_several_server_processes_answer_a_retried_scan_in_once(instance):
    seed_demo(instance)
    token = api_token(instance)
    port = _free_port()
    server = instance.start_server(port, threads=2, workers=2)
    wait_until(lambda: len(_children(server.pid)) == 2, 30, "two server processes")
    workers = _children(server.pid)

    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    body = {"code": "RR123456785DE"}
    url = f"http://127.0.0.1:{port}/api/v1/items"
    with requests.Session() as first, requests.Session() as second:  # two connections: maybe two processes
        answers = [s.post(url, json=body, headers=headers, timeout=30) for s in (first, second)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers.get("Idempotent-Replayed") == "true"
    assert json.loads(answers[0].content) == json.loads(answers[1].content)
    listed = requests.get(
        f"http://127.0.0.1:{port}/api/v1/items/RR123456785DE", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert listed.status_code == 200 and listed.json()["id"] == answers[0].json()["item"]["id"]

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), 30, "the processes to end")
