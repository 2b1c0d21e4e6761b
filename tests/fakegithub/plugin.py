"""Pytest plugin providing the ``fake_github`` fixture.

Register with ``pytest_plugins = ["tests.fakegithub.plugin"]`` in the top-level conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import FakeGitHub


@pytest.fixture
def fake_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """A started :class:`FakeGitHub` with its repos under ``tmp_path / "fakegithub"``."""
    fake = FakeGitHub(tmp_path / "fakegithub")
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
