"""The second administration (Stadt Leer, made-up sites) as CSV files, the way a city sends them:
sites with `,` in UTF-8, org units with `;` in Windows-1252, vans with a BOM."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
KINDS = ("sites", "org-units", "vans", "stop-templates")


@pytest.fixture
def leer_files() -> dict[str, Path]:
    return {kind: DATA / f"{kind}.csv" for kind in KINDS}


def csv_file(tmp_path: Path, text: str, name: str = "upload.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
