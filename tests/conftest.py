"""Shared test fixtures: the real data in ../shared/data, skipped cleanly when absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ARTIC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (or $ARTIC_SHARED_DATA); the test skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def hydra_conf() -> Iterator[Path]:
    """hydra initialised on the repository's conf/ (as inside ``@hydra.main``), schemas registered."""
    from hydra import initialize_config_dir

    from artic_rl.training.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        yield REPO_ROOT / "conf"
