"""Canary judgement without Prometheus: `bot.core.analysis` on hand-made query results, plus the
offline parts of `bot.adapters.prometheus` (settings validation, headers, graph links)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.prometheus import PrometheusSettings, graph_url, parse_header
from bot.core.analysis import (
    QueryResult,
    RangeQuery,
    Sample,
    Series,
    judge,
    judge_point,
    plan_queries,
    schedule,
    window,
)
from bot.core.errors import UsageError
from bot.core.expressions import parse_condition
from bot.core.policy import Analysis, AnalysisMetric
from bot.core.queries import QueryContext

NOW = datetime(2025, 3, 1, 12, 0, 0, 700_000, tzinfo=timezone.utc)
END = float(int(NOW.timestamp()))  # whole seconds: the window's grid ends here
CONTEXT = QueryContext(model="fraud-detector", environment="prod", namespace="models")

ERROR_RATE = AnalysisMetric(
    name="error-rate", query="err{app='{{ model }}'}", success="result < 0.01"
)


def analysis(*metrics: AnalysisMetric, count: int = 5, failure_limit: int = 1) -> Analysis:
    return Analysis(interval="1m", count=count, failure_limit=failure_limit, metrics=metrics)


def grid(count: int = 5, step: float = 60.0) -> list[float]:
    return [END - (count - 1 - k) * step for k in range(count)]


def series(values: list[float | None], labels: dict[str, str] | None = None) -> Series:
    """A series on the default grid; `None` leaves that point out (no sample)."""
    return Series.of(
        labels or {},
        [Sample(t, v) for t, v in zip(grid(len(values)), values, strict=True) if v is not None],
    )


def result(*many: Series, error: str | None = None) -> QueryResult:
    return QueryResult("q", many, error, graph_url="http://prom/graph?g0.expr=q")


# --- planning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric_fields", "expected"),
    [
        ({}, (60, 5, 1)),
        ({"interval": "30s"}, (30, 5, 1)),
        ({"count": 3}, (60, 3, 1)),
        ({"failure_limit": 0}, (60, 5, 0)),
        ({"interval": "2m", "count": 10, "failure_limit": 4}, (120, 10, 4)),
    ],
)
def test_schedule_takes_metric_fields_over_analysis_defaults(
    metric_fields: dict[str, object], expected: tuple[int, int, int]
) -> None:
    metric = ERROR_RATE.model_copy(update=metric_fields)
    plan = schedule(analysis(metric), metric)
    assert (plan.interval, plan.count, plan.failure_limit) == expected


def test_window_ends_at_now_rounded_down_with_count_points() -> None:
    start, end, step = window(schedule(analysis(ERROR_RATE), ERROR_RATE), NOW)
    assert (start, end, step) == (END - 240, END, 60.0)
    assert RangeQuery("q", start, end, step).times == tuple(grid())


def test_window_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window(schedule(analysis(ERROR_RATE), ERROR_RATE), datetime(2025, 3, 1, 12))


def test_plan_queries_fills_templates_and_divides_by_the_baseline() -> None:
    relative = AnalysisMetric(
        name="error-ratio",
        query="err{app='{{ model }}',role='canary'}",
        baseline_query="err{app='{{ model }}',role='stable'}",
        success="result <= 1.5",
        interval="30s",
        count=3,
    )
    plans = plan_queries(analysis(ERROR_RATE, relative), CONTEXT, NOW)
    assert plans["error-rate"] == RangeQuery("err{app='fraud-detector'}", END - 240, END, 60.0)
    assert plans["error-ratio"] == RangeQuery(
        "(err{app='fraud-detector',role='canary'}) / (err{app='fraud-detector',role='stable'})",
        END - 60,
        END,
        30.0,
    )


# --- one measurement ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "vector", "outcome", "reason"),
    [
        ("result < 0.01", [0.005], "pass", ""),
        ("result < 0.01", [0.02], "fail", "result < 0.01 does not hold"),
        ("result < 0.01", [0.01], "fail", "result < 0.01 does not hold"),
        ("result < 0.01", [], "error", "no data"),
        ("result < 0.01", [math.nan], "error", "result is NaN"),
        ("result < 0.01", [math.inf], "error", "result is +Inf"),
        ("result < 0.01", [None], "error", "result is not a number"),
        ("result[1] < 1", [5.0, 0.5], "pass", ""),
        ("result[1] < 1", [0.5], "error", "no result[1]: the query returned 1 series"),
        ("result >= 0.9 && result < 2", [1.0], "pass", ""),
        ("result >= 0.9 && result < 2", [2.5], "fail", "result < 2 does not hold"),
        ("result[0] > 0 and result[1] > 0", [1.0, math.nan], "error", "result[1] is NaN"),
    ],
)
def test_judge_point(condition: str, vector: list[float | None], outcome: str, reason: str) -> None:
    point = judge_point(parse_condition(condition), vector, END)
    assert (point.outcome, point.reason) == (outcome, reason)


# --- one metric, one verdict -------------------------------------------------------------------


def test_all_points_meeting_the_condition_pass() -> None:
    verdict = judge(analysis(ERROR_RATE), {"error-rate": result(series([0.002] * 5))}, NOW)
    assert verdict.phase == "pass"
    (m,) = verdict.measurements
    assert (m.phase, m.passed, m.failed, m.errors) == ("pass", 5, 0, 0)
    assert m.latest == 0.002
    assert m.thresholds == (0.01,)
    assert m.graph_url == "http://prom/graph?g0.expr=q"
    assert "5 of 5 measurements met result < 0.01" in m.reason
    assert verdict.summary.startswith("analysis passed: 1 metric(s), 5 measurements")


@pytest.mark.parametrize(
    ("values", "failure_limit", "phase"),
    [
        ([0.002, 0.002, 0.002, 0.002, 0.05], 1, "pass"),  # one failure, limit 1
        ([0.002, 0.002, 0.002, 0.05, 0.05], 1, "fail"),  # two failures > 1
        ([0.002, 0.002, 0.002, 0.002, 0.05], 0, "fail"),  # failureLimit 0: any failure
        ([0.05, 0.05, 0.05, 0.05, 0.05], 4, "fail"),
        ([0.05, 0.05, 0.05, 0.05, 0.05], 5, "pass"),  # Argo: failed > limit, not >=
        ([0.002, 0.002, None, 0.002, 0.002], 1, "inconclusive"),  # a gap: 4 of 5 usable
        ([0.002, math.nan, 0.002, 0.002, 0.002], 1, "inconclusive"),
        ([0.05, 0.05, None, None, None], 1, "fail"),  # failures win over missing data
        ([0.05, None, None, None, None], 1, "inconclusive"),
    ],
)
def test_failure_limit_and_usable_count(
    values: list[float | None], failure_limit: int, phase: str
) -> None:
    verdict = judge(
        analysis(ERROR_RATE, failure_limit=failure_limit),
        {"error-rate": result(series(values))},
        NOW,
    )
    assert verdict.phase == phase
    assert verdict.measurements[0].phase == phase


def test_failure_reason_names_counts_limit_and_latest_value() -> None:
    verdict = judge(analysis(ERROR_RATE), {"error-rate": result(series([0.05] * 5))}, NOW)
    m = verdict.measurements[0]
    assert m.reason == ("5 of 5 measurements broke result < 0.01 (failure limit 1); latest 0.05")
    assert verdict.summary == f"analysis failed: error-rate: {m.reason}"


def test_no_series_at_all_is_inconclusive_no_data() -> None:
    verdict = judge(analysis(ERROR_RATE), {"error-rate": result()}, NOW)
    assert verdict.phase == "inconclusive"
    assert verdict.measurements[0].reason == "no usable measurement (no data ×5)"
    assert verdict.measurements[0].latest is None


def test_query_error_is_inconclusive_with_the_error() -> None:
    error = "cannot connect to Prometheus at http://prom:9090 (is it running and reachable?)"
    verdict = judge(analysis(ERROR_RATE), {"error-rate": result(error=error)}, NOW)
    m = verdict.measurements[0]
    assert (verdict.phase, m.errors) == ("inconclusive", 5)
    assert m.reason == f"could not measure: {error}"
    assert error in verdict.summary


def test_a_metric_without_observation_is_inconclusive() -> None:
    verdict = judge(analysis(ERROR_RATE), {}, NOW)
    assert verdict.phase == "inconclusive"
    assert verdict.measurements[0].reason == "could not measure: not queried"


def test_no_metrics_is_inconclusive_with_a_clear_reason() -> None:
    verdict = judge(Analysis(), {}, NOW)
    assert (verdict.phase, verdict.measurements) == ("inconclusive", ())
    assert "no analysis metrics" in verdict.summary
    assert "add analysis.metrics" in verdict.summary


def test_fail_beats_inconclusive_beats_pass() -> None:
    latency = AnalysisMetric(name="latency-p99", query="lat", success="result < 0.25")
    ratio = AnalysisMetric(name="ratio", query="a", baseline_query="b", success="result <= 1.5")
    policy = analysis(ERROR_RATE, latency, ratio)
    healthy = {
        "error-rate": result(series([0.002] * 5)),
        "latency-p99": result(series([0.1] * 5)),
        "ratio": result(series([1.0] * 5)),
    }
    assert judge(policy, healthy, NOW).phase == "pass"
    unsure = {**healthy, "ratio": result(series([math.nan] * 5))}
    assert judge(policy, unsure, NOW).phase == "inconclusive"
    failing = {**unsure, "latency-p99": result(series([0.45] * 5))}
    verdict = judge(policy, failing, NOW)
    assert verdict.phase == "fail"
    assert [m.phase for m in verdict.measurements] == ["pass", "fail", "inconclusive"]
    assert verdict.summary.startswith("analysis failed: latency-p99: ")
    assert "ratio" not in verdict.summary


def test_relative_metric_explains_a_zero_stable_baseline() -> None:
    ratio = AnalysisMetric(name="ratio", query="a", baseline_query="b", success="result <= 1.5")
    verdict = judge(analysis(ratio), {"ratio": result(series([math.inf] * 5))}, NOW)
    m = verdict.measurements[0]
    assert m.phase == "inconclusive"
    assert m.relative
    assert "result is +Inf ×5" in m.reason
    assert "stable baseline is zero or absent" in m.reason


def test_relative_metric_failure_says_canary_over_stable() -> None:
    ratio = AnalysisMetric(name="ratio", query="a", baseline_query="b", success="result <= 1.5")
    verdict = judge(analysis(ratio), {"ratio": result(series([4.0] * 5))}, NOW)
    assert verdict.measurements[0].reason.startswith(
        "5 of 5 measurements broke canary/stable result <= 1.5"
    )


def test_result_index_reads_series_sorted_by_labels_whatever_their_order() -> None:
    metric = AnalysisMetric(name="per-pod", query="q", success="result[1] < 1")
    low = series([0.5] * 5, {"pod": "b"})
    high = series([5.0] * 5, {"pod": "a"})
    for order in ((low, high), (high, low)):
        verdict = judge(analysis(metric), {"per-pod": result(*order)}, NOW)
        assert verdict.phase == "pass"
        assert verdict.measurements[0].values == (0.5,) * 5


def test_samples_off_the_grid_are_ignored() -> None:
    off = Series.of({}, [Sample(t + 30, 0.5) for t in grid()])
    verdict = judge(analysis(ERROR_RATE), {"error-rate": result(off)}, NOW)
    assert verdict.phase == "inconclusive"


def test_points_cover_exactly_the_window() -> None:
    metric = ERROR_RATE.model_copy(update={"count": 3, "interval": "30s"})
    points = Series.of({}, [Sample(END - 30 * k, 0.001) for k in range(10)])
    verdict = judge(analysis(metric), {"error-rate": result(points)}, NOW)
    m = verdict.measurements[0]
    assert [p.time for p in m.points] == [END - 60, END - 30, END]
    assert m.phase == "pass"


def test_verdict_is_json_ready_without_nan() -> None:
    verdict = judge(
        analysis(ERROR_RATE),
        {"error-rate": result(series([0.002, math.nan, None, math.inf, 0.05]))},
        NOW,
    )
    text = json.dumps(verdict.to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["phase"] == "inconclusive"
    assert [p["outcome"] for p in data["measurements"][0]["points"]] == [
        "pass",
        "error",
        "error",
        "error",
        "fail",
    ]


@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.just(math.nan),
            st.floats(min_value=0, max_value=0.02, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    ),
    failure_limit=st.integers(min_value=0, max_value=4),
)
def test_phase_follows_the_counting_rules(values: list[float | None], failure_limit: int) -> None:
    count = len(values)
    metric = ERROR_RATE.model_copy(update={"count": count})
    verdict = judge(
        analysis(metric, failure_limit=failure_limit),
        {"error-rate": result(series(values))},
        NOW,
    )
    failed = sum(1 for v in values if v is not None and not math.isnan(v) and v >= 0.01)
    usable = sum(1 for v in values if v is not None and not math.isnan(v))
    expected = "fail" if failed > failure_limit else "inconclusive" if usable < count else "pass"
    assert verdict.phase == expected


# --- bot.adapters.prometheus, offline parts -------------------------------------------------------------


def test_graph_url_opens_the_window_in_the_prometheus_ui() -> None:
    query = 'sum(rate(x{app="m",code=~"5.."}[2m])) / 2 + 1'
    link = graph_url("http://prom:9090/", query, END - 240, END, 60)
    parts = urlsplit(link)
    assert link.startswith("http://prom:9090/graph?g0.expr=")
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["g0.expr"] == query
    assert params["g0.tab"] == "0"
    assert params["g0.range_input"] == "5m"
    end = datetime.fromtimestamp(END, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert params["g0.end_input"] == end
    assert "+" not in parts.query  # the UI decodes '+' as a space


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "prom:9090"}, "must be http(s)://"),
        ({"url": "ftp://prom"}, "must be http(s)://"),
        ({"url": "http://user:s3cret@prom:9090"}, "must not hold credentials"),
        ({"url": "http://prom?x=1"}, "must not have a ?query"),
        ({"url": "http://prom", "token": "t", "username": "u", "password": "p"}, "not both"),
        ({"url": "http://prom", "username": "u"}, "needs both"),
        ({"url": "http://prom", "timeout": 0}, "between 0 and 300"),
        ({"url": "http://prom", "ca_bundle": "ca.pem", "verify_tls": False}, "not both"),
        ({"url": "http://prom", "retries": 9}, "between 0 and 5"),
        ({"url": "http://prom", "headers": (("Bad Name", "v"),)}, "bad HTTP header name"),
        ({"url": "http://prom", "headers": (("X-A", "v\r\nX-B: w"),)}, "one line"),
    ],
)
def test_settings_refuse_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        PrometheusSettings(**kwargs)  # type: ignore[arg-type]
    assert "s3cret" not in str(caught.value)


def test_settings_from_env_read_credentials_and_headers(tmp_path: object) -> None:
    settings = PrometheusSettings.from_env(
        "https://prom.example/prometheus/",
        {"PROMETHEUS_TOKEN": "tok-123"},
        headers=["X-Scope-OrgID: team-a"],
        timeout=3,
    )
    assert settings.url == "https://prom.example/prometheus"
    assert settings.request_headers() == {
        "X-Scope-OrgID": "team-a",
        "Authorization": "Bearer tok-123",
    }
    assert "tok-123" not in repr(settings)
    assert settings.secrets() == ("tok-123",)
    basic = PrometheusSettings.from_env(
        "http://prom", {"PROMETHEUS_USERNAME": "u", "PROMETHEUS_PASSWORD": "pw"}
    )
    assert "pw" in basic.secrets()
    assert "dTpwdw==" in basic.secrets()  # base64("u:pw"), as an echoed header would show it
    assert "pw" not in repr(basic)
    with pytest.raises(UsageError, match="CA bundle"):
        PrometheusSettings.from_env("http://prom", {}, ca_bundle="/nonexistent/ca.pem")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("X-Scope-OrgID: team-a", ("X-Scope-OrgID", "team-a")),
        ("X-Scope-OrgID:team-a|team-b", ("X-Scope-OrgID", "team-a|team-b")),
        ("Authorization: Bearer a:b", ("Authorization", "Bearer a:b")),
    ],
)
def test_parse_header(text: str, parsed: tuple[str, str]) -> None:
    assert parse_header(text) == parsed


@pytest.mark.parametrize("text", ["X-Scope-OrgID", ": value", "Bad Name: v"])
def test_parse_header_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_header(text)


def test_window_is_stable_within_a_second() -> None:
    later = NOW + timedelta(milliseconds=200)
    plan = schedule(analysis(ERROR_RATE), ERROR_RATE)
    assert window(plan, later) == window(plan, NOW)
