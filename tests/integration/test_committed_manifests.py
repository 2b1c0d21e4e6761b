"""End to end in local mode, with real git: what the bot says about a folder a person wrote
is read from the committed manifests. The promotion PR's rollout plan describes the Rollout
being committed (not the policy), and `analyze` judges the AnalysisTemplate the Rollout
references, names every difference from the policy and reports the model version (not the
image tag) of a folder that names only a tag."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.core.analysis import QueryResult, RangeQuery, Sample, Series
from bot.core.canary import AnalyzeResult
from bot.core.rollback import RollbackResult
from bot.flows.analyze import AnalyzeOptions, analyze
from tests.envfixtures import default_policy, local_env_repo
from tests.integration.test_layouts import (
    BLUE_GREEN,
    CANARY,
    CANARY_ANALYSIS,
    DIR,
    LAYOUTS,
    MODEL,
    Layout,
    opener,
    promote_and_merge,
)

pytestmark = pytest.mark.slow

# After every deployment the tests make (`--at` judges the version the ledger says served).
NOW = datetime(2100, 3, 1, 12, 0, tzinfo=timezone.utc)


def seeded(tmp_path: Path, files: Mapping[str, str]) -> Path:
    return local_env_repo(
        tmp_path / "env.git", {f"{DIR}/{name}": text.encode() for name, text in files.items()}
    )


def test_the_pr_describes_a_hand_written_blue_green_rollout_not_the_policys_canary(
    tmp_path: Path,
) -> None:
    rollout = BLUE_GREEN.replace("  rollbackWindow:\n    revisions: 2\n", "")
    layout = Layout(
        files={"rollout.yaml": rollout},
        image="docker.io/argoproj/rollouts-demo",
        edited="rollout.yaml",
        seed_version="blue",
        tags=("yellow", "green"),
        first=[],
        second=[],
    )
    bare = seeded(tmp_path, layout.files)
    result = promote_and_merge(bare, tmp_path / "work", layout, "6")
    body = result.body or ""
    assert "Canary (Argo Rollouts)" not in body  # the policy's steps: not what runs
    assert "skips the steps" not in body  # the file has no rollbackWindow
    assert f"As the Rollout `{DIR}/rollout.yaml` in this change says:" in body
    assert (
        "Blue-green (Argo Rollouts): active service `fraud-detector`, preview service "
        "`fraud-detector-preview`; no pre-promotion analysis, then manual promotion." in body
    )
    assert "The Rollout sets no `rollbackWindow`" in body
    # The plan section describes no metric: the Rollout references no template.
    plan = body.split("### Rollout plan", 1)[1].split("###", 1)[0]
    assert "| metric |" not in plan
    assert "error-rate" not in plan


class Source:
    """Prometheus as a canary at 0.99 success rate: one series on the window's grid."""

    def __init__(self) -> None:
        self.asked: dict[str, str] = {}

    def fetch_ranges(self, queries: Mapping[str, RangeQuery]) -> dict[str, QueryResult]:
        self.asked = {name: q.query for name, q in queries.items()}
        return {
            name: QueryResult(q.query, (Series.of({}, [Sample(t, 0.99) for t in q.times]),))
            for name, q in queries.items()
        }


def no_rollback(*_: object) -> RollbackResult:  # pragma: no cover - the canary passes
    raise AssertionError("nothing is rolled back")


def promoted_twice(tmp_path: Path) -> tuple[Path, str]:
    """The hand-written canary folder (plain manifests: only an image tag), 6 then 7
    promoted and merged; the body of the promotion of 6."""
    layout = LAYOUTS["hand-written-canary-rollout"]
    assert layout.files == {"rollout.yaml": CANARY, "success-rate.yaml": CANARY_ANALYSIS}
    bare = seeded(tmp_path, layout.files)
    first = promote_and_merge(bare, tmp_path / "w6", layout, "6")
    promote_and_merge(bare, tmp_path / "w7", layout, "7")
    return bare, first.body or ""


def run_analyze(bare: Path, tmp_path: Path, source: Source) -> AnalyzeResult:
    return analyze(
        default_policy(),
        AnalyzeOptions(model=MODEL, environment="production", prometheus_url="http://p", now=NOW),
        opener(bare, tmp_path / "analyze"),
        lambda _url: source,
        no_rollback,
    )


def test_analyze_reports_the_model_version_of_a_folder_that_names_only_a_tag(
    tmp_path: Path,
) -> None:
    bare, _ = promoted_twice(tmp_path)
    result = run_analyze(bare, tmp_path, Source())
    # The folder names only the image tag v0.0.7: the bot recorded it as model version 7.
    assert (result.canary.version, result.canary.previous) == ("7", "6")
    assert "`fraud-detector` `7` in `production` (stable `6`)" in result.evidence


def test_analyze_judges_the_committed_template_and_the_pr_describes_it(
    tmp_path: Path,
) -> None:
    bare, body = promoted_twice(tmp_path)
    assert "Canary (Argo Rollouts): 20%, pause 5m, analysis." in body
    assert (
        f"- AnalysisTemplate `success-rate` (step 3): in this folder (`{DIR}/success-rate.yaml`)."
        in body
    )
    assert "| `success-rate` |" in body
    source = Source()
    verdict = run_analyze(bare, tmp_path, source).verdict
    assert verdict.phase == "pass", verdict.summary
    assert verdict.source == "template"
    assert verdict.templates == (f"success-rate ({DIR}/success-rate.yaml)",)
    assert source.asked == {
        "success-rate": 'sum(rate(http_requests_total{code!~"5.."}[2m])) / '
        "sum(rate(http_requests_total[2m]))"
    }
    assert (
        "metric success-rate: in the committed template only, not in the policy: judged with "
        "the template" in verdict.differences
    )
    assert any(
        line.startswith("metric error-rate: in the policy only") for line in verdict.differences
    )
