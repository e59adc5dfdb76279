"""Shared test fixtures: where ../shared is, and skips when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HANDJOINTS_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "data" / "fixtures"
HAGRID = SHARED / "data" / "hagrid_mp"


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent (the shared data lives beside the repo)")
    return FIXTURES


@pytest.fixture
def hagrid_dir() -> Path:
    if not (HAGRID / "annotations.json").is_file():
        pytest.skip(f"{HAGRID} is absent (the shared data lives beside the repo)")
    return HAGRID
