"""Schemathesis over the scanner API on a real server (waitress, SQLite and PostgreSQL) with all its
checks: no server error, every answer as documented, schema-violating requests refused, schema-valid
requests accepted, 405 with Allow for undeclared methods (TRACE included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.mailroom.api.conftest"]

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def _run(api_server, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.mailroom.api.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        "MAILROOM_TEST_API_TOKEN": api_server.token,
    }
    command = [
        SCHEMATHESIS, "--config-file", str(ROOT / "tests/mailroom/api/schemathesis.toml"),
        "run", f"{api_server.url}/api/v1/openapi.json",
        "--checks", "all",
        "--max-examples", "30",
        "--workers", "1",
        "--seed", "1",
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)


@pytest.mark.slow
def test_schemathesis_finds_nothing(api_server):
    json_operations = _run(api_server, "--exclude-path", "/api/v1/scans")
    assert json_operations.returncode == 0, json_operations.stdout[-6000:] + json_operations.stderr[-2000:]
    # A schema-valid upload is any bytes in `image`; only real images and PDFs can be read (422 otherwise).
    scans = _run(api_server, "--include-path", "/api/v1/scans", "--exclude-checks", "positive_data_acceptance")
    assert scans.returncode == 0, scans.stdout[-6000:] + scans.stderr[-2000:]
