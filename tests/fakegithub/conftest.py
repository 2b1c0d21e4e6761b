"""Makes the fake-GitHub tests runnable on their own (``pytest tests/fakegithub``)."""

from tests.fakegithub.plugin import fake_github  # noqa: F401 - fixture re-export
