"""The pure parts of rollback and analyze: PR text, evidence markdown, history reading."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone

import pytest

from bot.core.analysis import Measurement, Point, Verdict
from bot.core.canary import Canary
from bot.core.commits import CommitInfo
from bot.core.deployment import introducing_commit
from bot.core.marker import ProposalMeta, read_marker
from bot.core.pulls import PullRequestInfo
from bot.core.rollback_window import check_rollback_window
from bot.core.trailers import trailer_value
from bot.text.analysis import evidence_markdown, number_text, verdict_text
from bot.text.diff import unified_diff
from bot.text.proposal import GITHUB_BODY_LIMIT
from bot.text.rollback import (
    backlink_comment,
    emergency_note,
    followup_comment,
    rollback_body,
    rollback_title,
)

HOSTILE = (
    "@everyone <img src=x onerror=alert(1)> <!-- hidden --> [click](javascript:alert(1)) "
    "`tick` ``` fence #123 *bold* | pipe\n## injected heading\r\n- item \x1b[31mred"
)
META = ProposalMeta("rollback", "fraud-detector", "production", "6", "7")
PROMOTION = PullRequestInfo(
    number=12,
    url="https://github.com/acme/env/pull/12",
    state="closed",
    title="Promote fraud-detector 7 to production",
    body="",
    head_ref="model-bot/promote/production/fraud-detector",
    head_sha="a" * 40,
    base_ref="main",
    merged=True,
    merge_commit_sha="b" * 40,
    labels=(),
)
CANARY = Canary(
    model="fraud-detector",
    environment="production",
    version="7",
    previous="6",
    namespace="models",
    prometheus_url="http://prometheus.monitoring.svc:9090",
)
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc)
GRAPH = "http://prometheus.monitoring.svc:9090/graph?g0.expr=sum%28x%29&g0.tab=0"


def body(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "reason": "error rate 5 %",
        "requested_by": None,
        "evidence_markdown": None,
        "promotion_pull": PROMOTION,
        "emergency": "Argo Rollouts will roll back without canary steps or analysis because …",
        "method": "revert",
        "method_commit": "c" * 40,
        "changed": ["environments/production/fraud-detector/values.yaml"],
    }
    arguments.update(overrides)
    return rollback_body(META, **arguments)  # type: ignore[arg-type]


def outside_code(text: str) -> str:
    """`text` without its code spans (literal on GitHub: no mentions, links or HTML)."""
    return re.sub(r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", text)


def assert_inert(text: str) -> None:
    """No live mention, link, HTML, injected heading or list, or control character."""
    prose = outside_code(text)
    assert re.search(r"@everyone", prose) is None
    assert "<img" not in text and "<!--" not in text.replace("<!-- model-bot:", "")
    assert re.search(r"(?<!\\)\]\(javascript:", prose) is None
    assert "\n## injected" not in text and "\n- item" not in text
    assert "\x1b" not in text and "\r" not in text
    assert re.search(r"(?<![\w&])#123\b", prose) is None


# --------------------------------------------------------------------------- PR body


def test_body_has_reason_promotion_emergency_change_and_marker() -> None:
    text = body()
    assert text.startswith("## ⏪ Roll back `fraud-detector` in `production`: `7` → `6`\n")
    assert "**Reason:** error rate 5 %" in text
    assert "**Promotion:** #12 promoted `7`; this pull request undoes it." in text
    assert "### Emergency path\n\nArgo Rollouts will roll back without canary steps" in text
    assert "`git revert` of `cccccccccccc`" in text
    assert "- `environments/production/fraud-detector/values.yaml`" in text
    assert read_marker(text) == META
    assert "Requested by" not in text


def test_body_escapes_a_hostile_reason_and_requester() -> None:
    text = body(reason=HOSTILE, requested_by="@mallory <script>")
    assert_inert(text)
    assert "**Requested by:** @\u200dmallory &lt;script&gt;" in text
    reason_line = next(line for line in text.splitlines() if line.startswith("**Reason:**"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in reason_line
    assert "\\[click\\](javascript:alert(1))" in reason_line
    assert "\\`tick\\`" in reason_line and "\\*bold\\*" in reason_line
    assert read_marker(text) == META  # the reason cannot forge the marker


def test_body_without_reason_promotion_or_with_restore() -> None:
    text = body(reason="  \n ", promotion_pull=None, method="restore")
    assert "**Reason:** _no reason given._" in text
    assert "no merged promotion pull request of `7` was found" in text
    assert "The model's folder restored exactly as it was at `cccccccccccc`" in text


def test_body_includes_the_evidence_and_stays_under_githubs_limit() -> None:
    evidence = "### ❌ Canary analysis: fail\n\n" + "- a line of evidence\n" * 5000
    text = body(evidence_markdown=evidence)
    assert "### ❌ Canary analysis: fail" in text
    assert len(text) <= GITHUB_BODY_LIMIT
    assert "Report truncated" in text and read_marker(text) == META


def test_title_comments_and_trailer() -> None:
    assert rollback_title("m", "prod", "7", "6") == "Roll back m in prod: 7 → 6"
    revert = PROMOTION.__class__(**{**PROMOTION.__dict__, "number": 13})
    assert backlink_comment(revert, "7", "6") == (
        "model-bot: a rollback of `7` to `6` is proposed in #13."
    )
    assert followup_comment("", None, None) is None
    assert followup_comment("  ", "alice", "\n") is None
    comment = followup_comment(HOSTILE, "@bob", "### Evidence\n")
    assert comment is not None
    assert comment.startswith("model-bot: the rollback was requested again by @\u200dbob.")
    assert_inert(comment)
    assert comment.endswith("### Evidence\n")
    reason = trailer_value(HOSTILE * 3)
    assert "\n" not in reason and "\x1b" not in reason and len(reason) <= 200
    assert trailer_value(" \t") == ""


# --------------------------------------------------------------------------- emergency path

ROLLOUT = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 2
  rollbackWindow:
    revisions: 3
"""


@pytest.mark.parametrize(
    ("data", "distance", "fast", "revisions", "warning"),
    [
        (ROLLOUT, 1, True, 3, None),
        (ROLLOUT, 3, True, 3, None),
        (ROLLOUT, 4, False, 3, "4 revisions back, outside the Rollout's rollbackWindow of 3"),
        (
            ROLLOUT.replace(b"  rollbackWindow:\n    revisions: 3\n", b""),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (
            ROLLOUT.replace(b"revisions: 3", b"revisions: 0"),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (
            ROLLOUT.replace(b"revisions: 3", b"revisions: true"),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (None, 1, False, None, "the target version has no Rollout there"),
        (b"kind: Deployment\n", 1, False, None, "it holds no Rollout"),
        (b"spec: [unclosed\n", 1, False, None, "it is not valid YAML"),
    ],
)
def test_rollback_window(
    data: bytes | None, distance: int, fast: bool, revisions: int | None, warning: str | None
) -> None:
    check = check_rollback_window(data, "environments/p/m/rollout.yaml", distance)
    assert (check.fast, check.revisions) == (fast, revisions)
    note, said = emergency_note(check, "6")
    if warning is None:
        assert said is None
        assert note.startswith("Argo Rollouts will roll back without canary steps or analysis")
        assert "`spec.rollbackWindow.revisions: 3`" in note
        assert "argoproj/argo-rollouts#2168" in note
    else:
        assert said is not None and warning in said
        assert note.startswith("⚠️ **Warning:**")
        assert "\n" not in note


# --------------------------------------------------------------------------- history


def commit(sha: str, *parents: str) -> CommitInfo:
    return CommitInfo(sha, sha, {}, tuple(parents), NOW)


def test_introducing_commit_finds_the_merge_that_brought_the_promotion_in() -> None:
    # main: S - M1 - X - M2   (M1 merges P; M2 merges a branch made after M1: Q)
    history = [
        commit("M2", "X", "Q"),
        commit("Q", "M1"),
        commit("X", "M1"),
        commit("M1", "S", "P"),
        commit("P", "S"),
        commit("S"),
    ]
    assert introducing_commit(history, "M2", "P") == "M1"  # not M2, although P < Q
    assert introducing_commit(history, "M2", "Q") == "M2"
    assert introducing_commit(history, "M2", "X") == "X"  # on main: itself
    assert introducing_commit(history, "M2", "S") == "S"
    assert introducing_commit(history, "M2", "nope") is None
    assert introducing_commit(history[:2], "M2", "P") is None  # not reached


def test_introducing_commit_through_an_updated_pr_branch() -> None:
    # The PR branch had main merged into it (U) before the PR was merged (M).
    history = [
        commit("M", "Y", "U"),
        commit("U", "P", "Y"),
        commit("Y", "S"),
        commit("P", "S"),
        commit("S"),
    ]
    assert introducing_commit(history, "M", "P") == "M"


def test_a_folder_diff_shows_changes_additions_and_deletions() -> None:
    """A rollback's diff is two folder snapshots: files missing on one side come or go."""
    before = {"f/values.yaml": b"v: 2\n", "f/gone.yaml": b"x\n"}
    after = {"f/values.yaml": b"v: 1\n", "f/new.yaml": b"y\n"}
    text = unified_diff(before, after)
    assert "--- a/f/values.yaml\n+++ b/f/values.yaml\n" in text
    assert "-v: 2\n+v: 1\n" in text
    assert "--- a/f/gone.yaml\n+++ /dev/null\n" in text
    assert "--- /dev/null\n+++ b/f/new.yaml\n" in text
    assert unified_diff(before, before) == ""


def test_a_folder_diff_of_a_last_line_without_newline_keeps_lines_apart() -> None:
    """The rollback diff once printed `-b+c` on one line for `a\\nb` -> `a\\nc` (no final
    newline) and split lines at `\\r` and form feeds, which git treats as content."""
    text = unified_diff({"f/v.yaml": b"a\nb"}, {"f/v.yaml": b"a\nc"})
    assert text == (
        "--- a/f/v.yaml\n+++ b/f/v.yaml\n@@ -1,2 +1,2 @@\n a\n"
        "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    )
    assert unified_diff({"f": b"x\ry\fz\n"}, {"f": b"x\ry\fw\n"}) == (
        "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\ry\fz\n+x\ry\fw\n"
    )


# --------------------------------------------------------------------------- evidence


def measurement(**overrides: object) -> Measurement:
    values: dict[str, object] = {
        "metric": "error-rate",
        "query": 'sum(rate(http_requests_total{app="fraud-detector",code=~"5.."}[2m]))',
        "condition": "result < 0.01",
        "thresholds": (0.01,),
        "interval": 60,
        "count": 3,
        "failure_limit": 1,
        "points": tuple(
            Point(NOW.timestamp() - 60 * k, "fail", (0.05,), "result < 0.01 does not hold")
            for k in (2, 1, 0)
        ),
        "phase": "fail",
        "reason": "3 of 3 measurements broke result < 0.01 (failure limit 1); latest 0.05",
        "graph_url": GRAPH,
    }
    values.update(overrides)
    return Measurement(**values)  # type: ignore[arg-type]


def verdict(*measurements: Measurement, phase: str = "fail") -> Verdict:
    return Verdict(phase, measurements, "analysis failed: error-rate: …", NOW.timestamp())  # type: ignore[arg-type]


def test_evidence_markdown_lists_each_metric_with_query_values_threshold_and_graph() -> None:
    latency = measurement(
        metric="latency-p99",
        query="histogram_quantile(0.99, x)",
        condition="result < 0.25",
        thresholds=(0.25,),
        points=tuple(Point(NOW.timestamp(), "pass", (0.0974,)) for _ in range(3)),
        phase="pass",
        reason="3 of 3 measurements met result < 0.25; latest 0.0974",
    )
    text = evidence_markdown(verdict(measurement(), latency), CANARY)
    assert text.startswith("### ❌ Canary analysis: fail\n")
    assert (
        "`fraud-detector` `7` in `production` (stable `6`), judged at 2025-01-31 12:00:00 UTC"
        in text
    )
    assert "against [Prometheus](http://prometheus.monitoring.svc:9090)." in text
    assert "#### ❌ `error-rate`: fail" in text and "#### ✅ `latency-p99`: pass" in text
    assert '- query: `sum(rate(http_requests_total{app="fraud-detector",code=~"5.."}[2m]))`' in text
    assert "- condition: `result < 0.01`, threshold 0.01" in text
    assert "- values: 0.05, 0.05, 0.05 (latest 0.05)" in text
    assert "- measurements: 3 measurements 1m apart: 0 passed, 3 failed, 0 unusable" in text
    assert f"- graph: [Prometheus graph]({GRAPH})" in text
    assert "- values: 0.0974, 0.0974, 0.0974 (latest 0.0974)" in text


def test_evidence_markdown_is_inert_for_hostile_queries_and_links() -> None:
    evil = measurement(
        metric="x",
        query="up` @everyone <b>x</b> ``` \n# heading",
        reason=HOSTILE,
        graph_url="javascript:alert(1)",
        relative=True,
        points=(
            Point(NOW.timestamp(), "error", (), "no data"),
            Point(NOW.timestamp(), "error", (math.nan,), "result is NaN"),
        ),
    )
    text = evidence_markdown(verdict(evil), CANARY)
    assert_inert(text)
    assert "- graph: Prometheus graph (`javascript:alert(1)`)" in text  # shown, not linked
    assert "(canary ÷ stable)" in text
    assert "- values: —, NaN (latest —)" in text
    query_line = next(line for line in text.splitlines() if line.startswith("- query:"))
    assert query_line.startswith("- query: ````") and "@everyone" in query_line  # inside code


def test_number_text() -> None:
    assert [number_text(v) for v in (None, math.nan, math.inf, -math.inf, 3.0, 0.123456)] == [
        "—",
        "NaN",
        "+Inf",
        "-Inf",
        "3",
        "0.1235",
    ]


def test_verdict_text_for_the_terminal() -> None:
    text = verdict_text(verdict(measurement(reason="bad \x1b[2J")), CANARY)
    lines = text.splitlines()
    assert lines[0] == "canary: fraud-detector 7 in production (stable 6)"
    assert (
        lines[1] == "prometheus: http://prometheus.monitoring.svc:9090 at 2025-01-31 12:00:00 UTC"
    )
    assert "error-rate: FAIL: bad  [2J" in text and "\x1b" not in text
    assert "  condition: result < 0.01 (threshold 0.01)" in lines
    assert f"  graph:     {GRAPH}" in lines
    assert lines[-1] == "verdict: FAIL: analysis failed: error-rate: …"


def test_result_json_is_strict_json() -> None:
    from bot.core.canary import AnalyzeResult
    from bot.text.analysis import result_json

    result = AnalyzeResult(
        CANARY,
        verdict(measurement(points=(Point(NOW.timestamp(), "error", (math.nan,), "NaN"),))),
        "",
        "none",
        "unchanged",
    )
    data = json.loads(result_json(result))
    assert data["verdict"]["phase"] == "fail" and data["pull_request"] is None
    assert data["verdict"]["measurements"][0]["points"][0]["values"] == [None]


def test_analyze_at_accepts_unix_seconds_and_zoned_times() -> None:
    from bot.cli.analyze_cmd import parse_moment
    from bot.core.errors import InvalidInput

    assert parse_moment("1738324800") == NOW
    assert parse_moment("2025-01-31T12:00:00Z") == NOW
    assert parse_moment("2025-01-31T13:00:00+01:00") == NOW
    for bad in ("yesterday", "2025-01-31T12:00:00", "nan", ""):
        with pytest.raises(InvalidInput, match="--at"):
            parse_moment(bad)
