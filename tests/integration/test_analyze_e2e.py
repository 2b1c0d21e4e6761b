"""`model-bot analyze` end to end: a real Prometheus holding scenario data, an env repo on the
fake GitHub with a merged promotion (version 2 over 1) made by the real promote flow, and the
CLI as users run it. The model is named after the scenario app, so the policy's
`{{ model }}` queries read that scenario's series."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.policy import load_policy
from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR,
    REPO,
    CliResult,
    Promotion,
    bare_git,
    bare_path,
    deploy,
    fast_github,
    folder,
    folder_blobs,
    github_env_repo,
    local_env_repo,
    merge_pull,
    promote_locally_and_merge,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.realparts.openmetrics import SCENARIOS
from tests.realparts.prometheus import AuthProxy, PrometheusServer

OWNER, NAME = REPO.split("/")
ROLLBACK_BRANCH = "model-bot/rollback/production/{model}"
RELATIVE_METRIC = """
    - name: error-rate-vs-stable
      query: sum(rate(http_requests_total{app="{{ model }}",role="canary",code=~"5.."}[2m])) / sum(rate(http_requests_total{app="{{ model }}",role="canary"}[2m]))
      baseline_query: sum(rate(http_requests_total{app="{{ model }}",role="stable",code=~"5.."}[2m])) / sum(rate(http_requests_total{app="{{ model }}",role="stable"}[2m]))
      success: result <= 1.5
"""


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    return fake_github


def deployed(fake: FakeGitHub, model: str, tmp_path: Path) -> Promotion:
    """`model` 1, then 2 over it, both merged; returns the promotion of 2."""
    return deploy(fake, REPO, model, ("1", "2"), workdir=tmp_path)[-1]


def policy_file(tmp_path: Path, on_regression: str = "rollback", extra_metric: str = "") -> Path:
    text = DEFAULT_POLICY_PATH.read_text()
    text = text.replace("on_regression: rollback", f"on_regression: {on_regression}")
    text = text.replace("\non_regression:", extra_metric.rstrip() + "\non_regression:")
    path = tmp_path / f"policy-{on_regression}-{bool(extra_metric)}.yaml"
    path.write_text(text)
    return path


def analyze(
    model: str,
    prometheus_url: str,
    at: int,
    tmp_path: Path,
    *extra: str,
    policy: Path = DEFAULT_POLICY_PATH,
    api_url: str,
) -> CliResult:
    return run_cli(
        "analyze",
        "--model",
        model,
        "--environment",
        ENVIRONMENT,
        "--policy",
        policy,
        "--env-repo",
        REPO,
        "--github-api-url",
        api_url,
        "--prometheus-url",
        prometheus_url,
        "--at",
        str(at),
        *extra,
        tmp_path=tmp_path,
    )


def revert_pulls(fake: FakeGitHub, model: str) -> list[dict[str, Any]]:
    branch = ROLLBACK_BRANCH.format(model=model)
    return [p for p in fake.pulls(OWNER, NAME) if p["head"]["ref"] == branch]


def test_healthy_canary_passes_and_reverts_nothing(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    deployed(github, "healthy", tmp_path)
    before, posts = github.request_count(), github.request_count("POST")
    result = analyze("healthy", prometheus.url, prometheus.now, tmp_path, api_url=github.api_url)
    assert result.exit_code == 0, result
    assert "canary: healthy 2 in production (stable 1)" in result.stdout
    assert "error-rate: PASS" in result.stdout and "latency-p99: PASS" in result.stdout
    assert "verdict: PASS" in result.stdout
    assert result.outputs == {
        "verdict": "pass",
        "outcome": "unchanged",
        "pull-request-number": "",
        "pull-request-url": "",
    }
    assert revert_pulls(github, "healthy") == []
    assert github.request_count("POST") == posts and github.request_count() - before <= 2
    assert github.branch_sha(OWNER, NAME, ROLLBACK_BRANCH.format(model="healthy")) is None


def test_error_rate_regression_opens_one_revert_pr_with_the_evidence(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "error-regression"
    promotion = deployed(github, model, tmp_path)
    result = analyze(model, prometheus.url, prometheus.now, tmp_path, api_url=github.api_url)
    assert result.exit_code == 1, result
    assert "error-rate: FAIL" in result.stdout and "latency-p99: PASS" in result.stdout
    assert f"graph:     {prometheus.url}/graph?g0.expr=" in result.stdout
    assert "verdict: FAIL" in result.stdout

    pulls = revert_pulls(github, model)
    assert len(pulls) == 1
    revert = pulls[0]
    assert revert["state"] == "open"
    assert revert["title"] == f"Roll back {model} in production: 2 → 1"
    assert github.issue_labels(OWNER, NAME, revert["number"]) == ["rollback", "env:production"]
    assert result.outputs == {
        "verdict": "fail",
        "outcome": "created",
        "pull-request-number": str(revert["number"]),
        "pull-request-url": revert["html_url"],
    }
    body = revert["body"]
    assert "Canary analysis: fail" in body
    assert '`sum(rate(http_requests_total{app="error-regression",role="canary",code=~"5.."}' in body
    # The condition as the committed AnalysisTemplate writes it (Argo's `result[0]`).
    assert "- condition: `result[0] < 0.01`, threshold 0.01" in body
    assert "Judged with the committed AnalysisTemplate error-regression-analysis" in body
    assert "- values: 0.05, 0.05, 0.05, 0.05, 0.05 (latest 0.05)" in body
    assert f"[Prometheus graph]({prometheus.url}/graph?g0.expr=" in body
    assert "**Reason:** canary analysis failed: error-rate: 5 of 5 measurements broke" in body
    assert f"**Promotion:** #{promotion.number} promoted `2`" in body
    assert "Argo Rollouts will roll back without canary steps or analysis because" in body
    assert '"action": "rollback"' in body

    comments = github.comments(OWNER, NAME, promotion.number)
    assert len(comments) == 1
    assert f"#{revert['number']}" in comments[0]["body"]
    assert "a rollback of `2` to `1` is proposed" in comments[0]["body"]

    # Merged by the fake (a real git merge), the folder is byte for byte what it was before
    # the bad promotion; other models and the committed reports are untouched.
    bare = bare_path(github)
    merged = merge_pull(github, REPO, revert["number"])
    assert folder_blobs(bare, merged, folder(model)) == folder_blobs(
        bare, promotion.base_before, folder(model)
    )
    assert folder_blobs(bare, merged, folder(NEIGHBOUR)) == folder_blobs(
        bare, promotion.base_before, folder(NEIGHBOUR)
    )
    assert folder_blobs(bare, merged, "reports") == folder_blobs(bare, promotion.merge, "reports")
    assert f"reports/production/{model}/2.md" in folder_blobs(bare, merged, "reports")
    changed = bare_git(bare, "diff", "--name-only", promotion.merge, merged).splitlines()
    assert changed and all(path.startswith(folder(model) + "/") for path in changed)


def test_a_second_failing_analysis_comments_on_the_open_revert_pr(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "error-regression"
    deployed(github, model, tmp_path)
    first = analyze(model, prometheus.url, prometheus.now, tmp_path, api_url=github.api_url)
    assert first.exit_code == 1 and first.outputs["outcome"] == "created"
    later = prometheus.now - 60
    second = analyze(model, prometheus.url, later, tmp_path, api_url=github.api_url)
    assert second.exit_code == 1, second
    assert second.outputs["outcome"] == "updated"
    assert second.outputs["pull-request-number"] == first.outputs["pull-request-number"]
    assert len(revert_pulls(github, model)) == 1
    number = int(first.outputs["pull-request-number"])
    comments = github.comments(OWNER, NAME, number)
    assert len(comments) == 1
    assert "the rollback was requested again" in comments[0]["body"]
    assert "Canary analysis: fail" in comments[0]["body"]
    assert "[Prometheus graph](" in comments[0]["body"]

    # The very same evidence again adds nothing.
    third = analyze(model, prometheus.url, later, tmp_path, api_url=github.api_url)
    assert third.exit_code == 1 and third.outputs["outcome"] == "unchanged"
    assert len(github.comments(OWNER, NAME, number)) == 1
    assert len(revert_pulls(github, model)) == 1


def test_the_committed_template_is_judged_when_the_policy_differs(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """The cluster runs the committed AnalysisTemplate (error rate under 1 %); a policy
    edited since (under 10 %) would pass the canary at 5 %. analyze judges what the cluster
    runs and names the difference in text and JSON."""
    model = "error-regression"
    deployed(github, model, tmp_path)
    loose = tmp_path / "loose.yaml"
    loose.write_text(
        DEFAULT_POLICY_PATH.read_text().replace("success: result < 0.01", "success: result < 0.1")
    )
    args = (model, prometheus.url, prometheus.now, tmp_path, "--no-revert")
    result = analyze(*args, policy=loose, api_url=github.api_url)
    assert result.exit_code == 1, result
    assert "error-rate: FAIL" in result.stdout
    assert (
        f"judged with: the committed AnalysisTemplate {model}-analysis "
        f"({folder(model)}/analysis-template.yaml)" in result.stdout
    )
    assert (
        "difference: metric error-rate: the committed template's condition is "
        "'result[0] < 0.01', the policy's 'result < 0.1': judged with the template"
    ) in result.stdout
    report = json.loads(
        analyze(*args, "--format", "json", policy=loose, api_url=github.api_url).stdout
    )
    assert report["verdict"]["source"] == "template"
    assert report["verdict"]["differences"] == [
        "metric error-rate: the committed template's condition is 'result[0] < 0.01', the "
        "policy's 'result < 0.1': judged with the template"
    ]
    assert revert_pulls(github, model) == []


def test_latency_p99_regression_opens_a_revert_pr(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "latency-regression"
    deployed(github, model, tmp_path)
    result = analyze(
        model, prometheus.url, prometheus.now, tmp_path, "--format", "json", api_url=github.api_url
    )
    assert result.exit_code == 1, result
    report = json.loads(result.stdout)
    assert report["verdict"]["phase"] == "fail"
    phases = {m["metric"]: m["phase"] for m in report["verdict"]["measurements"]}
    assert phases == {"error-rate": "pass", "latency-p99": "fail"}
    assert report["outcome"] == "created" and report["action"] == "rollback"
    assert report["rollback"]["method"] == "revert"
    assert (report["version"], report["previous_version"]) == ("2", "1")
    pulls = revert_pulls(github, model)
    assert len(pulls) == 1 and report["pull_request"]["number"] == pulls[0]["number"]
    assert "latency-p99`: fail" in pulls[0]["body"]


def test_canary_worse_than_stable_only_relatively_is_reverted(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "relative-regression"
    policy = policy_file(tmp_path, extra_metric=RELATIVE_METRIC)
    # Promoted with that policy: the committed AnalysisTemplate, which analyze judges, has
    # the relative metric too.
    deploy(github, REPO, model, ("1", "2"), workdir=tmp_path, policy=load_policy(policy))
    result = analyze(
        model,
        prometheus.url,
        prometheus.now,
        tmp_path,
        "--format",
        "json",
        policy=policy,
        api_url=github.api_url,
    )
    assert result.exit_code == 1, result
    report = json.loads(result.stdout)
    by_name = {m["metric"]: m for m in report["verdict"]["measurements"]}
    assert by_name["error-rate"]["phase"] == "pass"  # 0.8 % is under the absolute 1 %
    assert by_name["error-rate-vs-stable"]["phase"] == "fail"  # but 4 times the stable's
    assert by_name["error-rate-vs-stable"]["relative"] is True
    assert by_name["error-rate-vs-stable"]["latest"] == pytest.approx(4.0)
    pulls = revert_pulls(github, model)
    assert len(pulls) == 1
    assert "(canary ÷ stable)" in pulls[0]["body"]


def test_no_data_is_inconclusive_and_reverts_nothing(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    assert SCENARIOS["no-data"].canary is None
    deployed(github, "no-data", tmp_path)
    posts = github.request_count("POST")
    result = analyze("no-data", prometheus.url, prometheus.now, tmp_path, api_url=github.api_url)
    assert result.exit_code == 3, result
    assert "verdict: INCONCLUSIVE" in result.stdout
    assert "no usable measurement (no data" in result.stdout
    assert result.outputs["verdict"] == "inconclusive"
    assert result.outputs["outcome"] == "unchanged"
    assert result.outputs["pull-request-number"] == ""
    assert revert_pulls(github, "no-data") == []
    assert github.request_count("POST") == posts


def test_prometheus_stopped_mid_analysis_is_inconclusive(
    github: FakeGitHub,
    prometheus_factory: Callable[..., PrometheusServer],
    auth_proxy_factory: Callable[..., AuthProxy],
    tmp_path: Path,
) -> None:
    model = "error-regression"  # would fail if Prometheus answered
    deployed(github, model, tmp_path)
    server = prometheus_factory([SCENARIOS[model]])
    proxy = auth_proxy_factory(server.url, delay=0.5)  # holds each query back half a second
    posts = github.request_count("POST")

    def stop_when_asked() -> None:
        deadline = time.monotonic() + 60
        while not proxy.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        server.stop()  # the queries are in flight

    stopper = threading.Thread(target=stop_when_asked)
    stopper.start()
    try:
        result = analyze(model, proxy.url, server.now, tmp_path, api_url=github.api_url)
    finally:
        stopper.join()
    assert proxy.seen, "the analysis never reached Prometheus"
    assert not server.running
    assert result.exit_code == 3, result
    assert "verdict: INCONCLUSIVE" in result.stdout
    assert "cannot connect to Prometheus" in result.stdout
    assert result.outputs["outcome"] == "unchanged"
    assert revert_pulls(github, model) == []
    assert github.request_count("POST") == posts


def test_unreachable_prometheus_is_inconclusive(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    from tests.realparts.prometheus import free_port

    deployed(github, "error-regression", tmp_path)
    result = analyze(
        "error-regression",
        f"http://127.0.0.1:{free_port()}",
        prometheus.now,
        tmp_path,
        api_url=github.api_url,
    )
    assert result.exit_code == 3, result
    assert revert_pulls(github, "error-regression") == []


def test_on_regression_notify_comments_on_the_promotion_pr(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "error-regression"
    promotion = deployed(github, model, tmp_path)
    policy = policy_file(tmp_path, "notify")
    result = analyze(
        model, prometheus.url, prometheus.now, tmp_path, policy=policy, api_url=github.api_url
    )
    assert result.exit_code == 1, result
    assert revert_pulls(github, model) == []
    comments = github.comments(OWNER, NAME, promotion.number)
    assert len(comments) == 1
    assert "on_regression: notify" in comments[0]["body"]
    assert "Canary analysis: fail" in comments[0]["body"]
    assert result.outputs["pull-request-number"] == str(promotion.number)
    again = analyze(
        model, prometheus.url, prometheus.now, tmp_path, policy=policy, api_url=github.api_url
    )
    assert again.exit_code == 1
    assert len(github.comments(OWNER, NAME, promotion.number)) == 1  # the same evidence once


def test_on_regression_rollback_and_merge_merges_the_revert(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "latency-regression"
    promotion = deployed(github, model, tmp_path)
    policy = policy_file(tmp_path, "rollback_and_merge")
    result = analyze(
        model, prometheus.url, prometheus.now, tmp_path, policy=policy, api_url=github.api_url
    )
    assert result.exit_code == 1, result
    assert "(merged)" in result.stdout
    (revert,) = revert_pulls(github, model)
    assert revert["merged"] is True
    bare = bare_path(github)
    main = github.branch_sha(OWNER, NAME, "main")
    assert main is not None
    assert folder_blobs(bare, main, folder(model)) == folder_blobs(
        bare, promotion.base_before, folder(model)
    )


def test_no_revert_and_dry_run_write_nothing(
    github: FakeGitHub, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "error-regression"
    deployed(github, model, tmp_path)
    writes = github.request_count("POST") + github.request_count("PATCH")
    refs = bare_git(bare_path(github), "for-each-ref")
    for flag in ("--no-revert", "--dry-run"):
        result = analyze(
            model, prometheus.url, prometheus.now, tmp_path, flag, api_url=github.api_url
        )
        assert result.exit_code == 1, result
        assert revert_pulls(github, model) == []
    assert github.request_count("POST") + github.request_count("PATCH") == writes
    assert bare_git(bare_path(github), "for-each-ref") == refs
    dry = analyze(
        model, prometheus.url, prometheus.now, tmp_path, "--dry-run", api_url=github.api_url
    )
    assert "--- revert pull request (dry run: not opened)" in dry.stdout
    assert "outcome: created (dry run)" in dry.stdout


def test_prometheus_behind_a_token_and_a_tenant_header(
    github: FakeGitHub,
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    tmp_path: Path,
) -> None:
    secret = "prom-s3cr3t-token"
    proxy = auth_proxy_factory(prometheus.url, token=secret, headers={"X-Scope-OrgID": "ml"})
    deployed(github, "healthy", tmp_path)
    args = ["--prometheus-header", "X-Scope-OrgID: ml"]
    denied = analyze("healthy", proxy.url, prometheus.now, tmp_path, *args, api_url=github.api_url)
    assert denied.exit_code == 3, denied  # refused: inconclusive, never a failure
    assert "refused the request (HTTP 401)" in denied.stdout
    result = run_cli(
        "analyze",
        "--model",
        "healthy",
        "--environment",
        ENVIRONMENT,
        "--policy",
        DEFAULT_POLICY_PATH,
        "--env-repo",
        REPO,
        "--github-api-url",
        github.api_url,
        "--prometheus-url",
        proxy.url,
        "--at",
        str(prometheus.now),
        *args,
        env={"PROMETHEUS_TOKEN": secret},
    )
    assert result.exit_code == 0, result
    assert proxy.seen[-1]["Authorization"] == f"Bearer {secret}"
    assert secret not in result.stdout + result.stderr + denied.stdout + denied.stderr


def test_local_env_repo_gets_the_revert_branch(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    model = "error-regression"
    bare = local_env_repo(tmp_path / "env.git")
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    before = bare_git(bare, "rev-parse", "main")
    promote_locally_and_merge(bare, model, "2", champion="1", workdir=tmp_path / "work")
    result = run_cli(
        "analyze",
        "--model",
        model,
        "--environment",
        ENVIRONMENT,
        "--policy",
        DEFAULT_POLICY_PATH,
        "--env-repo",
        bare,
        "--prometheus-url",
        prometheus.url,
        "--at",
        str(prometheus.now),
        token=None,
        tmp_path=tmp_path,
    )
    assert result.exit_code == 1, result
    assert "--- revert pull request (local mode: not opened)" in result.stdout
    assert "### ❌ Canary analysis: fail" in result.stdout
    assert result.outputs["outcome"] == "created" and result.outputs["pull-request-number"] == ""
    head = bare_git(bare, "rev-parse", f"refs/heads/{ROLLBACK_BRANCH.format(model=model)}")
    assert folder_blobs(bare, head, folder(model)) == folder_blobs(bare, before, folder(model))
