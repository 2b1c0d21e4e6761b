"""bot.core.manifests: Rollout and AnalysisTemplate checked against the bundled Argo Rollouts CRDs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.core.manifests import crd_schema, validate_file, validate_manifest
from bot.core.resources import crd_path, schemas_dir

# Upstream copies of the CRDs (see its SOURCES.md), to check the bundled ones against.
UPSTREAM = Path(__file__).resolve().parents[1] / "fixtures" / "schemas" / "argo-rollouts"

ROLLOUT: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "fraud", "labels": {"app.kubernetes.io/name": "fraud"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "fraud"}},
        "template": {
            "metadata": {"labels": {"app": "fraud"}},
            "spec": {
                "containers": [
                    {
                        "name": "fraud",
                        "image": "ghcr.io/acme/fraud:7",
                        "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": 1}},
                    }
                ]
            },
        },
        "strategy": {
            "canary": {
                "maxSurge": "25%",
                "steps": [
                    {"setWeight": 5},
                    {"pause": {"duration": "10m"}},
                    {"pause": {"duration": 30}},
                    {"pause": {}},
                    {"analysis": {"templates": [{"templateName": "fraud-analysis"}]}},
                ],
            }
        },
    },
}

ANALYSIS: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisTemplate",
    "metadata": {"name": "fraud-analysis"},
    "spec": {
        "metrics": [
            {
                "name": "error-rate",
                "interval": "1m",
                "count": 5,
                "failureLimit": "1",
                "successCondition": "result[0] < 0.01",
                "provider": {"prometheus": {"address": "http://p:9090", "query": "up"}},
            }
        ]
    },
}


def changed(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        del node[last]
    else:
        node[last] = value
    return doc


def test_valid_manifests_have_no_problems() -> None:
    assert validate_manifest(ROLLOUT) == []
    assert validate_manifest(ANALYSIS) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.strategy.canary.steps.1.pause.duration", 600),  # int-or-string: both fine
        ("spec.strategy.canary.maxSurge", 1),
        ("spec.rollbackWindow", {"revisions": 3}),
        ("metadata.annotations", {"note": "x: y # z"}),
        ("metadata.namespace", "ml-prod"),
    ],
)
def test_more_valid_rollouts(path: str, value: Any) -> None:
    assert validate_manifest(changed(ROLLOUT, path, value)) == []


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("spec.replicas", "2", "spec.replicas: '2' is not of type 'integer'"),
        (
            "spec.strategy.canary.stepz",
            [],
            "spec.strategy.canary: unknown field 'stepz' (remove it or fix its spelling)",
        ),
        (
            "spec.strategy.canary.steps.1.pause.duration",
            1.5,
            "spec.strategy.canary.steps[1].pause.duration: 1.5 is not valid under any",
        ),
        ("spec.rollbackWindow", {"revisions": "3"}, "spec.rollbackWindow.revisions: '3' is not"),
        ("apiVersion", "argoproj.io/v1", "apiVersion: 'argoproj.io/v1' is not one of"),
        ("metadata.name", "Fraud_Detector", "metadata.name: 'Fraud_Detector' is not allowed"),
        ("metadata.name", None, "metadata: 'name' is a required property"),
        # Python's `$` would accept a trailing newline; Kubernetes does not.
        ("metadata.name", "fraud\n", "metadata.name: 'fraud\\n' is not allowed"),
        ("metadata.namespace", "ml\n", "metadata.namespace: 'ml\\n' is not allowed"),
        ("metadata.labels", {"app\n": "x"}, "metadata.labels: 'app\\n' is not allowed"),
        ("metadata.labels", {"app": "x\n"}, "metadata.labels.app: 'x\\n' is not allowed"),
        ("metadata.labels", {"app": "a b"}, "metadata.labels.app: 'a b' is not allowed: use up"),
        ("metadata.labels", {"bad key!": "x"}, "metadata.labels: 'bad key!' is not allowed"),
        ("metadata.labels", {"v": "x" * 64}, "is too long"),
        (
            "spec.template.spec.containers",
            [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}],
            "spec.template.spec.containers: two items with name='a' (they must be unique)",
        ),
        (
            "spec.template.metadata.labels",
            {"app": "other"},
            "spec.selector.matchLabels.app: 'fraud' does not select the pod template",
        ),
        ("spec.strategy.blueGreen", {"previewService": "p"}, "'activeService' is a required"),
    ],
)
def test_rollout_problems(path: str, value: Any, problem: str) -> None:
    problems = validate_manifest(changed(ROLLOUT, path, value))
    assert any(problem in p for p in problems), problems
    assert all(p.startswith("Rollout") for p in problems)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("spec.metrics.0.count", "5", None),
        ("spec.metrics.0.interval", 60, "spec.metrics[0].interval: 60 is not of type 'string'"),
        ("spec.metrics.0.name", None, "spec.metrics[0]: 'name' is a required property"),
        ("spec.metrics.0.provider", {"prometheus": {"adress": "x"}}, "unknown field 'adress'"),
        ("kind", "ClusterAnalysisTemplate", "kind: no bundled schema"),
    ],
)
def test_analysis_template_problems(path: str, value: Any, problem: str | None) -> None:
    problems = validate_manifest(changed(ANALYSIS, path, value))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_problem_names_kind_and_object() -> None:
    problems = validate_manifest(changed(ANALYSIS, "spec.metrics.0.interval", 60))
    assert problems == [
        "AnalysisTemplate fraud-analysis: spec.metrics[0].interval: 60 is not of type 'string'"
    ]


def test_not_a_mapping() -> None:
    assert validate_manifest([]) == ["expected a mapping, got list"]  # type: ignore[arg-type]


def test_validate_file_skips_other_kinds_and_names_the_file() -> None:
    data = (
        b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n"
        b"apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: A}\n"
        b"spec: {}\n"
    )
    assert validate_file(data, "x.yaml") == [
        "x.yaml: AnalysisTemplate A: metadata.name: 'A' is not allowed: use lowercase letters, "
        "digits, '-' and '.' (a DNS-1123 subdomain)"
    ]
    assert validate_file(b"kind: Service\n", "s.yaml") == []


def test_crd_schemas_are_the_shipped_ones() -> None:
    for kind in ("Rollout", "AnalysisTemplate"):
        schema = crd_schema(kind)
        assert schema["type"] == "object" and "spec" in schema["properties"]
    folder = schemas_dir() / "argo-rollouts"
    assert (folder / "LICENSE").read_text().lstrip().startswith("Apache License")
    sources = (folder / "SOURCES.md").read_text()
    for name in ("rollout-crd.yaml", "analysis-template-crd.yaml"):
        assert f"argoproj/argo-rollouts, manifests/crds/{name}" in sources


@pytest.mark.parametrize("kind", ["Rollout", "AnalysisTemplate"])
def test_bundled_crds_are_byte_for_byte_copies(kind: str) -> None:
    bundled = crd_path(kind)
    assert bundled.read_bytes() == (UPSTREAM / bundled.name).read_bytes()
    assert (UPSTREAM / "LICENSE").read_bytes() == (bundled.parent / "LICENSE").read_bytes()
    row = next(
        line
        for line in (UPSTREAM / "SOURCES.md").read_text().splitlines()
        if line.startswith(f"| argo-rollouts/{bundled.name} |")
    )
    assert row in (bundled.parent / "SOURCES.md").read_text().splitlines()  # same source, commit
