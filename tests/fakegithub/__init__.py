"""Fake GitHub REST API + git smart-HTTP server for the test suite (see ``server.py``)."""

from .server import FakeGitHub, FakeUser, RecordedRequest

__all__ = ["FakeGitHub", "FakeUser", "RecordedRequest"]
