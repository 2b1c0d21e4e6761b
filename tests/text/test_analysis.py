"""A canary analysis as text (bot.text.analysis)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from bot.core.analysis import Measurement, Point, Verdict
from bot.core.canary import Canary
from bot.text.analysis import evidence_markdown, number_text, verdict_text
from tests.text.test_rollback import HOSTILE, assert_inert

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


def test_what_was_judged_and_every_difference_from_the_policy_are_shown() -> None:
    """Text, markdown evidence and JSON name the committed template judged and each way it
    differs from the policy (before, they said nothing of it)."""
    from dataclasses import replace

    from bot.core.canary import AnalyzeResult
    from bot.text.analysis import result_json

    difference = (
        "metric error-rate: the committed template queries 'sum(errors_total)', the policy "
        "'sum(rate(errors[2m]))': judged with the template"
    )
    judged = replace(
        verdict(measurement()),
        source="template",
        templates=("fraud-detector-analysis (environments/production/fraud-detector/a.yaml)",),
        differences=(difference,),
    )
    text = verdict_text(judged, CANARY)
    assert (
        "judged with: the committed AnalysisTemplate fraud-detector-analysis "
        "(environments/production/fraud-detector/a.yaml)" in text.splitlines()
    )
    assert f"difference: {difference}" in text.splitlines()
    markdown = evidence_markdown(judged, CANARY)
    assert "**Differences from the policy:**" in markdown
    assert "the committed template queries 'sum(errors\\_total)'" in markdown
    data = json.loads(result_json(AnalyzeResult(CANARY, judged, markdown, "none", "unchanged")))
    assert data["verdict"]["source"] == "template"
    assert data["verdict"]["differences"] == [difference]
    plain = verdict_text(verdict(measurement()), CANARY)
    assert "judged with: the policy's analysis metrics" in plain and "difference:" not in plain
