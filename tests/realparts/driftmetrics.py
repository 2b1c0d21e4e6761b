"""Drift and decay scenarios for `model-bot monitor`: OpenMetrics gauges for a real Prometheus.

Each model (`app` label) exports a data-drift statistic `model_feature_psi{app,feature}` and
the accuracy measured on delayed labels `model_accuracy{app}`, one sample every `RESOLUTION`
seconds. A scenario gives each as a function of the time relative to its deployment, so a
drift can start before or after the version that runs now was deployed.

Gotchas (../../../shared/NOTES.md): timestamps in seconds, the file ends with `# EOF`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

RESOLUTION = 60
Curve = Callable[[int], float]  # seconds since the deployment -> value


def constant(value: float) -> Curve:
    return lambda _t: value


STEADY_PSI = constant(0.05)
STEADY_ACCURACY = constant(0.95)  # as the gate evidence of tests.envfixtures says


def step(before: float, after: float, at: int = 0) -> Curve:
    """`before` until `at` seconds after the deployment (negative: before it), then `after`."""
    return lambda t: before if t < at else after


@dataclass(frozen=True)
class DriftScenario:
    app: str
    psi: Curve | None = STEADY_PSI  # None: never exported
    accuracy: Curve | None = STEADY_ACCURACY
    features: Sequence[str] = ("amount",)


SCENARIOS: dict[str, DriftScenario] = {
    s.app: s
    for s in (
        DriftScenario("steady"),
        DriftScenario("drifting", psi=step(0.05, 0.4, at=3600)),
        DriftScenario("decaying", accuracy=step(0.95, 0.80, at=3600)),
        # Drifted under the previous version; since this one was deployed, all is well.
        DriftScenario("drifted-before", psi=step(0.4, 0.05, at=0)),
        DriftScenario("silent", psi=None, accuracy=None),
    )
}


def _lines(
    scenarios: Sequence[DriftScenario],
    deployed: Mapping[str, int],
    start: int,
    end: int,
) -> Iterator[str]:
    times = range(start - start % RESOLUTION, end + 1, RESOLUTION)
    yield "# HELP model_feature_psi Population stability index of a feature, live vs training."
    yield "# TYPE model_feature_psi gauge"
    for s in scenarios:
        if s.psi is None:
            continue
        for feature in s.features:
            for t in times:
                value = s.psi(t - deployed[s.app])
                yield f'model_feature_psi{{app="{s.app}",feature="{feature}"}} {value!r} {t}'
    yield "# HELP model_accuracy Accuracy on delayed labels."
    yield "# TYPE model_accuracy gauge"
    for s in scenarios:
        if s.accuracy is None:
            continue
        for t in times:
            yield f'model_accuracy{{app="{s.app}"}} {s.accuracy(t - deployed[s.app])!r} {t}'


def generate(
    scenarios: Sequence[DriftScenario], deployed: Mapping[str, int], start: int, end: int
) -> str:
    """OpenMetrics text from `start` to `end` (unix seconds); `deployed`: app -> when its
    current version reached the environment (unix seconds)."""
    return "\n".join([*_lines(scenarios, deployed, start, end), "# EOF"]) + "\n"


def many(apps: Sequence[str], signals: int, deployed: int, start: int, end: int) -> str:
    """Steady models `apps` with `signals` features each, all deployed at `deployed`."""
    scenarios = [
        DriftScenario(app, features=tuple(f"f{k}" for k in range(signals))) for app in apps
    ]
    return generate(scenarios, dict.fromkeys(apps, deployed), start, end)
