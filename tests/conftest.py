"""Shared fixtures: every test reads data through NEUROEMU_DATA, never from the network."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("NEUROEMU_DATA") and SHARED_DATA.is_dir():
        os.environ["NEUROEMU_DATA"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder holding mnist/ and fashion-mnist/ (skips the test when there is none)."""
    root = os.environ.get("NEUROEMU_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("no local data: set NEUROEMU_DATA to a folder holding mnist/ and fashion-mnist/")
    return Path(root)
