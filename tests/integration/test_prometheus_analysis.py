"""Canary analysis against a real Prometheus (backfilled scenarios, see tests/realparts)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from bot.adapters.prometheus import PrometheusSettings, PrometheusSource, fetch, fetch_ranges
from bot.core.analysis import RangeQuery, Verdict, plan_queries
from bot.core.policy import Analysis, AnalysisMetric, EnvironmentOverride, Policy, load_policy
from bot.core.queries import QueryContext
from bot.flows import analyze as analyze_flow
from tests.realparts.openmetrics import SCENARIOS
from tests.realparts.prometheus import AuthProxy, PrometheusServer, TlsFiles, self_signed_cert


def run_analysis(
    policy: Policy, context: QueryContext, settings: PrometheusSettings, now: datetime
) -> Verdict:
    """The flow's judgement against the real Prometheus, through the adapter."""
    return analyze_flow.run_analysis(policy, context, PrometheusSource(settings), now)


ROOT = Path(__file__).resolve().parents[2]
DEFAULT = load_policy(ROOT / "policies" / "default.yaml")

CANARY_ERRORS = (
    'sum(rate(http_requests_total{app="{{ model }}",role="canary",code=~"5.."}[2m])) / '
    'sum(rate(http_requests_total{app="{{ model }}",role="canary"}[2m]))'
)
STABLE_ERRORS = CANARY_ERRORS.replace('role="canary"', 'role="stable"')
RELATIVE = AnalysisMetric(
    name="error-rate-vs-stable",
    query=CANARY_ERRORS,
    baseline_query=STABLE_ERRORS,
    success="result <= 1.5",
)
# The default policy's error-rate and latency-p99, plus canary-vs-stable error rate.
POLICY = DEFAULT.model_copy(
    update={
        "analysis": DEFAULT.analysis.model_copy(
            update={"metrics": (*DEFAULT.analysis.metrics, RELATIVE)}
        )
    }
)

TOKEN = "s3cr3t-token-4711"
PASSWORD = "pw-0815-secret"


def context(app: str, environment: str = "prod") -> QueryContext:
    return QueryContext(model=app, environment=environment, namespace="models")


def settings(url: str, **kwargs: object) -> PrometheusSettings:
    return PrometheusSettings(url=url, **kwargs)  # type: ignore[arg-type]


def analyze(
    server: PrometheusServer, app: str, policy: Policy = POLICY, **kwargs: object
) -> Verdict:
    return run_analysis(policy, context(app), settings(server.url, **kwargs), server.now_datetime)


def phases(verdict: Verdict) -> dict[str, str]:
    return {m.metric: m.phase for m in verdict.measurements}


def everything_said(verdict: Verdict) -> str:
    return json.dumps(verdict.to_dict()) + repr(verdict)


# --- scenarios ---------------------------------------------------------------------------------


def test_healthy_canary_passes(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "healthy")
    assert verdict.phase == "pass", verdict.summary
    assert phases(verdict) == {
        "error-rate": "pass",
        "latency-p99": "pass",
        "error-rate-vs-stable": "pass",
    }
    by_name = {m.metric: m for m in verdict.measurements}
    assert by_name["error-rate"].latest == pytest.approx(0.002)
    assert by_name["latency-p99"].latest == pytest.approx(0.0974, abs=1e-3)
    assert by_name["error-rate-vs-stable"].latest == pytest.approx(1.0)
    for m in verdict.measurements:
        assert (m.count, m.passed, m.errors) == (5, 5, 0)
        assert [p.time for p in m.points][-1] == prometheus.now
        assert m.graph_url is not None
        assert m.graph_url.startswith(f"{prometheus.url}/graph?g0.expr=")
        assert 'app="healthy"' in m.query
    assert by_name["error-rate-vs-stable"].query.startswith("(sum(rate(")


def test_error_rate_regression_fails(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "error-regression")
    assert verdict.phase == "fail"
    assert phases(verdict) == {
        "error-rate": "fail",
        "latency-p99": "pass",
        "error-rate-vs-stable": "fail",
    }
    error_rate = verdict.measurements[0]
    assert error_rate.latest == pytest.approx(0.05)
    assert error_rate.reason == (
        "5 of 5 measurements broke result < 0.01 (failure limit 1); latest 0.05"
    )
    assert verdict.summary.startswith("analysis failed: error-rate: 5 of 5")


def test_latency_p99_regression_fails(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "latency-regression")
    assert verdict.phase == "fail"
    assert phases(verdict) == {
        "error-rate": "pass",
        "latency-p99": "fail",
        "error-rate-vs-stable": "pass",
    }
    assert verdict.measurements[1].latest == pytest.approx(0.45, abs=1e-3)


def test_canary_worse_than_stable_fails_only_relatively(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "relative-regression")
    assert verdict.phase == "fail"
    assert phases(verdict) == {
        "error-rate": "pass",  # 0.8 % < 1 %
        "latency-p99": "pass",
        "error-rate-vs-stable": "fail",  # 4x the stable error rate
    }
    assert verdict.measurements[2].latest == pytest.approx(4.0)
    assert "canary/stable result <= 1.5" in verdict.summary


def test_zero_stable_baseline_is_inconclusive(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "zero-stable")
    assert verdict.phase == "inconclusive"
    ratio = verdict.measurements[2]
    assert ratio.phase == "inconclusive"
    assert "result is +Inf" in ratio.reason
    assert "stable baseline is zero or absent" in ratio.reason


def test_model_without_series_is_inconclusive(prometheus: PrometheusServer) -> None:
    verdict = analyze(prometheus, "no-data")
    assert verdict.phase == "inconclusive"
    assert set(phases(verdict).values()) == {"inconclusive"}
    for m in verdict.measurements:
        assert m.reason.startswith("no usable measurement (no data ×5)")


def test_policy_without_metrics_is_inconclusive(prometheus: PrometheusServer) -> None:
    empty = POLICY.model_copy(update={"analysis": Analysis()})
    verdict = analyze(prometheus, "healthy", empty)
    assert verdict.phase == "inconclusive"
    assert "no analysis metrics" in verdict.summary


def test_environment_override_is_applied(prometheus: PrometheusServer) -> None:
    strict = Analysis(
        interval="30s",
        count=3,
        metrics=(AnalysisMetric(name="error-rate", query=CANARY_ERRORS, success="result < 0.001"),),
    )
    policy = POLICY.model_copy(
        update={"environments": {"prod": EnvironmentOverride(analysis=strict)}}
    )
    verdict = run_analysis(
        policy, context("healthy", "prod"), settings(prometheus.url), prometheus.now_datetime
    )
    assert phases(verdict) == {"error-rate": "fail"}
    assert verdict.measurements[0].interval == 30
    staging = run_analysis(
        policy, context("healthy", "staging"), settings(prometheus.url), prometheus.now_datetime
    )
    assert staging.phase == "pass"


def test_bad_promql_is_inconclusive_with_prometheus_reason(prometheus: PrometheusServer) -> None:
    broken = POLICY.model_copy(
        update={
            "analysis": Analysis(
                metrics=(AnalysisMetric(name="broken", query="sum(rate(", success="result < 1"),)
            )
        }
    )
    verdict = analyze(prometheus, "healthy", broken)
    assert verdict.phase == "inconclusive"
    reason = verdict.measurements[0].reason
    assert reason.startswith(
        "could not measure: Prometheus rejected the query (HTTP 400, bad_data:"
    )


def test_wrong_api_path_is_inconclusive(prometheus: PrometheusServer) -> None:
    verdict = run_analysis(
        POLICY,
        context("healthy"),
        settings(f"{prometheus.url}/not-prometheus"),
        prometheus.now_datetime,
    )
    assert verdict.phase == "inconclusive"
    assert "no Prometheus API at" in verdict.measurements[0].reason


# --- the adapter -------------------------------------------------------------------------------


def test_fetch_returns_one_series_on_the_window_grid(prometheus: PrometheusServer) -> None:
    queries = {
        m.name: q.query
        for m, q in zip(
            POLICY.analysis.metrics,
            plan_queries(POLICY.analysis, context("healthy"), prometheus.now_datetime).values(),
            strict=True,
        )
    }
    start, end = prometheus.now - 240, prometheus.now
    results = fetch(settings(prometheus.url), queries, start, end, 60)
    assert set(results) == set(queries)
    for name, found in results.items():
        assert found.ok, found.error
        assert found.query == queries[name]
        (series,) = found.series
        assert series.labels == ()
        assert [s.time for s in series.samples] == [start + 60 * k for k in range(5)]


def test_fetch_keeps_labels_sorted(prometheus: PrometheusServer) -> None:
    query = 'sum by (role, app) (rate(http_requests_total{app="healthy"}[2m]))'
    results = fetch_ranges(
        settings(prometheus.url),
        {"q": RangeQuery(query, prometheus.now - 60, prometheus.now, 60)},
    )
    assert [s.labels for s in results["q"].series] in (
        [(("app", "healthy"), ("role", "canary")), (("app", "healthy"), ("role", "stable"))],
        [(("app", "healthy"), ("role", "stable")), (("app", "healthy"), ("role", "canary"))],
    )


def test_queries_run_concurrently_one_round_trip_each(
    prometheus: PrometheusServer, auth_proxy_factory: Callable[..., AuthProxy]
) -> None:
    proxy = auth_proxy_factory(prometheus.url, delay=0.4)
    started = time.monotonic()
    verdict = run_analysis(POLICY, context("healthy"), settings(proxy.url), prometheus.now_datetime)
    elapsed = time.monotonic() - started
    assert verdict.phase == "pass", verdict.summary
    assert len(proxy.seen) == len(POLICY.analysis.metrics)  # one request per metric
    assert elapsed < 0.4 * len(POLICY.analysis.metrics) - 0.2  # they overlapped


def test_prometheus_stopped_mid_analysis_is_inconclusive(
    prometheus_factory: Callable[..., PrometheusServer],
) -> None:
    server = prometheus_factory([SCENARIOS["healthy"]])
    assert analyze(server, "healthy").phase == "pass"
    server.stop()
    started = time.monotonic()
    verdict = analyze(server, "healthy")
    assert time.monotonic() - started < 3
    assert verdict.phase == "inconclusive"
    for m in verdict.measurements:
        assert m.reason == (
            f"could not measure: cannot connect to Prometheus at {server.url} "
            "(is it running and reachable?)"
        )
        assert m.errors == m.count


def test_hung_prometheus_times_out_inconclusive(silent_server: str) -> None:
    from datetime import datetime, timezone

    started = time.monotonic()
    verdict = run_analysis(
        POLICY,
        context("healthy"),
        settings(silent_server, timeout=0.5),
        datetime.now(timezone.utc),
    )
    assert time.monotonic() - started < 2.5
    assert verdict.phase == "inconclusive"
    assert f"Prometheus at {silent_server} did not answer within 0.5 s" in verdict.summary


# --- credentials -------------------------------------------------------------------------------


def test_bearer_token_and_tenant_header_are_sent(
    prometheus: PrometheusServer, auth_proxy_factory: Callable[..., AuthProxy]
) -> None:
    proxy = auth_proxy_factory(prometheus.url, token=TOKEN, headers={"X-Scope-OrgID": "team-a"})
    good = PrometheusSettings.from_env(
        proxy.url, {"PROMETHEUS_TOKEN": TOKEN}, headers=["X-Scope-OrgID: team-a"]
    )
    verdict = run_analysis(POLICY, context("healthy"), good, prometheus.now_datetime)
    assert verdict.phase == "pass", verdict.summary
    assert proxy.seen
    for headers in proxy.seen:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["X-Scope-OrgID"] == "team-a"
    for m in verdict.measurements:
        assert m.graph_url is not None
        assert TOKEN not in m.graph_url


@pytest.mark.parametrize(
    ("env", "headers"),
    [
        ({"PROMETHEUS_TOKEN": "wrong-token-999"}, ["X-Scope-OrgID: team-a"]),
        ({"PROMETHEUS_TOKEN": TOKEN}, ["X-Scope-OrgID: team-b"]),
        ({"PROMETHEUS_TOKEN": TOKEN}, []),
        ({}, ["X-Scope-OrgID: team-a"]),
    ],
    ids=["wrong-token", "wrong-tenant", "no-tenant", "no-token"],
)
def test_refused_credentials_are_inconclusive_and_never_repeated(
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    env: dict[str, str],
    headers: list[str],
) -> None:
    proxy = auth_proxy_factory(prometheus.url, token=TOKEN, headers={"X-Scope-OrgID": "team-a"})
    bad = PrometheusSettings.from_env(proxy.url, env, headers=headers)
    verdict = run_analysis(POLICY, context("healthy"), bad, prometheus.now_datetime)
    assert verdict.phase == "inconclusive"
    assert "refused the request (HTTP 401); check PROMETHEUS_TOKEN" in verdict.summary
    said = everything_said(verdict)
    assert TOKEN not in said
    assert "wrong-token-999" not in said


def test_basic_auth_is_sent_and_a_wrong_password_never_repeated(
    prometheus: PrometheusServer, auth_proxy_factory: Callable[..., AuthProxy]
) -> None:
    proxy = auth_proxy_factory(prometheus.url, basic=("model-bot", PASSWORD))
    env = {"PROMETHEUS_USERNAME": "model-bot", "PROMETHEUS_PASSWORD": PASSWORD}
    good = PrometheusSettings.from_env(proxy.url, env)
    assert run_analysis(POLICY, context("healthy"), good, prometheus.now_datetime).phase == "pass"
    assert all(h["Authorization"].startswith("Basic ") for h in proxy.seen)

    wrong = PrometheusSettings.from_env(proxy.url, {**env, "PROMETHEUS_PASSWORD": "nope-1234"})
    verdict = run_analysis(POLICY, context("healthy"), wrong, prometheus.now_datetime)
    assert verdict.phase == "inconclusive"
    said = everything_said(verdict)
    assert "nope-1234" not in said
    assert PASSWORD not in said
    assert wrong.secrets()[0] not in said  # nor its base64 form


def test_credentials_echoed_by_a_failing_proxy_are_redacted(
    prometheus: PrometheusServer, auth_proxy_factory: Callable[..., AuthProxy]
) -> None:
    proxy = auth_proxy_factory(prometheus.url, token=TOKEN, leak_status=502)
    leaky = PrometheusSettings.from_env(proxy.url, {"PROMETHEUS_TOKEN": TOKEN})
    verdict = run_analysis(POLICY, context("healthy"), leaky, prometheus.now_datetime)
    assert verdict.phase == "inconclusive"
    reason = verdict.measurements[0].reason
    assert "failed (HTTP 502, internal: rejected credentials 'Bearer ***')" in reason
    assert TOKEN not in everything_said(verdict)


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_tls_with_custom_ca_bundle(
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    tls_files: TlsFiles,
) -> None:
    proxy = auth_proxy_factory(prometheus.url, tls=tls_files)
    assert proxy.url.startswith("https://")
    unverified = run_analysis(
        POLICY, context("healthy"), settings(proxy.url), prometheus.now_datetime
    )
    assert unverified.phase == "inconclusive"
    assert f"TLS verification failed for {proxy.url}" in unverified.summary

    trusted = PrometheusSettings.from_env(proxy.url, {}, ca_bundle=str(tls_files.cert))
    verdict = run_analysis(POLICY, context("healthy"), trusted, prometheus.now_datetime)
    assert verdict.phase == "pass", verdict.summary


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verification_off(
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    tls_files: TlsFiles,
) -> None:
    proxy = auth_proxy_factory(prometheus.url, tls=tls_files)
    insecure = settings(proxy.url, verify_tls=False)
    verdict = run_analysis(POLICY, context("healthy"), insecure, prometheus.now_datetime)
    assert verdict.phase == "pass", verdict.summary
