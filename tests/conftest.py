"""Shared fixtures: the shipped QEF scheme, the bundled real C&P data, and small file writers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = ROOT / "schemes"
QEF = SCHEMES / "cpccg-qef-2017-18.yaml"
SAMPLES = ROOT / "samples" / "cpccg"
EPRACCUR_2023_06H = SAMPLES / "epraccur_2023-02_06H.csv"
LIST_SIZES_2021_06H = SAMPLES / "gp-reg-pat-prac-all_2021-01_06H.csv"
DATA = Path(__file__).resolve().parent / "data"
EPRACCUR_2026_06H = DATA / "epraccur_2026-02_06H.csv"
QUIN_AGE_2026_06H = DATA / "gp-reg-pat-prac-quin-age_2026-07_06H.csv"
MAP_2026_06H = DATA / "gp-reg-pat-prac-map_2026-07_06H.csv"
SHARED_DATA = ROOT.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def qef_text() -> str:
    return QEF.read_text(encoding="utf-8")


@pytest.fixture
def write_scheme(tmp_path: Path, qef_text: str):
    """Write the QEF spec with text replacements, returning its path."""

    def write(*replacements: tuple[str, str], name: str = "scheme.yaml") -> Path:
        text = qef_text
        for old, new in replacements:
            assert old in text, f"fixture replacement target not found: {old!r}"
            text = text.replace(old, new, 1)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_bytes(tmp_path: Path):
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
