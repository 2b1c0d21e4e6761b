"""Shared fixtures: the real parts (git, MLflow, Prometheus) and the fake GitHub server."""

pytest_plugins = [
    "tests.fakegithub.plugin",
]
