"""Shared fixtures: the real parts (git, MLflow, Prometheus) and the fake GitHub server."""

from __future__ import annotations

import pytest
from hypothesis import settings

# Speed is checked by the benchmarks, not by timed tests: a property test that takes 360 ms
# on a busy CI runner (Hypothesis's default deadline is 200 ms) is not a failure.
settings.register_profile("model-bot", deadline=None)
settings.load_profile("model-bot")

pytest_plugins = [
    "tests.realparts.mlflow_server",
    "tests.fakegithub.plugin",
    "tests.realparts.prometheus",
]

# A CI runner (GitHub Actions) sets these for the whole job; tests that call the CLI must
# not annotate the job or write into its output files. Tests that want them set them.
_RUNNER_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_EVENT_PATH",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "MLFLOW_TRACKING_URI",
    "PROMETHEUS_TOKEN",
    "PROMETHEUS_USERNAME",
    "PROMETHEUS_PASSWORD",
)


@pytest.fixture(autouse=True)
def _clean_runner_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _RUNNER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
