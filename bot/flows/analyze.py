"""`model-bot analyze`: judge a running canary from Prometheus; on failure, act on the policy.

The env repo says what is deployed (the canary's version from the model's folder, the
previous one from the promotion's trailers) and where Prometheus is; `bot.core.analysis` judges
the policy's metrics into a `Verdict`; on `fail` the policy's `on_regression` decides:
`rollback` opens the revert PR through `bot.flows.rollback` (with the evidence in its body),
`rollback_and_merge` also merges it, `notify` comments the evidence on the promotion PR.
An inconclusive verdict (no data, NaN, an unreachable Prometheus) never reverts anything.

`evidence_markdown` and `verdict_text` are pure: they turn a verdict into the PR section and
the terminal report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from bot.adapters.github import Forge, ForgeSettings, PullRequestInfo
from bot.core.analysis import Measurement, Verdict
from bot.core.errors import InvalidInput
from bot.core.expressions import format_number
from bot.core.names import require_environment, require_model
from bot.core.policy import Policy
from bot.core.queries import QueryContext
from bot.core.render import query_context
from bot.core.target import EnvRepoTarget
from bot.flows.promote import EnvSession, PromoteOptions, open_session
from bot.flows.rollback import (
    Deployment,
    RollbackOptions,
    RollbackResult,
    find_promotion_pull,
    read_deployment,
    rollback_in_session,
)
from bot.text.report import code, escape, link, printable

Action = Literal["none", "rollback", "notify"]
Outcome = Literal["created", "updated", "unchanged"]
ForgeFactory = Callable[[ForgeSettings], Forge]
DEFAULT_TIMEOUT = 10.0
_MARK = {"pass": "✅", "fail": "❌", "inconclusive": "❔"}


@dataclass(frozen=True)
class AnalyzeOptions:
    model: str
    environment: str
    target: EnvRepoTarget
    base: str | None = None
    prometheus_url: str | None = None  # else the env repo's config
    prometheus_headers: tuple[str, ...] = ()  # 'Name: value'
    prometheus_ca: str | None = None
    prometheus_insecure: bool = False
    prometheus_timeout: float = DEFAULT_TIMEOUT
    no_revert: bool = False
    auto_merge: bool = False
    dry_run: bool = False
    token: str | None = field(default=None, repr=False)
    workdir: Path | None = None
    now: datetime | None = None  # judge as of this moment (default: the clock)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # PROMETHEUS_TOKEN...


@dataclass(frozen=True)
class Canary:
    """What is being judged, as the env repo tells it."""

    model: str
    environment: str
    version: str
    previous: str | None
    namespace: str
    prometheus_url: str


@dataclass(frozen=True)
class AnalyzeResult:
    canary: Canary
    verdict: Verdict
    evidence: str  # markdown: `evidence_markdown(verdict, canary)`
    action: Action
    outcome: Outcome
    rollback: RollbackResult | None = None
    notified: PullRequestInfo | None = None  # the promotion PR that got the evidence
    reason: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def pull_request(self) -> PullRequestInfo | None:
        if self.rollback is not None and self.rollback.pull_request is not None:
            return self.rollback.pull_request
        return self.notified


# --------------------------------------------------------------------------- the flow


def analyze(
    policy: Policy,
    options: AnalyzeOptions,
    *,
    forge_factory: ForgeFactory = Forge,
    on_verdict: Callable[[Canary, Verdict], None] | None = None,
) -> AnalyzeResult:
    """Judge the canary; `on_verdict` sees the verdict before anything is written."""
    require_model(options.model)
    require_environment(options.environment)
    session = open_session(
        PromoteOptions(
            environment=options.environment,
            target=options.target,
            base=options.base,
            dry_run=options.dry_run,
            token=options.token,
            workdir=options.workdir,
        ),
        [],
        forge_factory,
    )
    try:
        deployment = read_deployment(session.repo, options.environment, options.model)
        canary = _canary(deployment, options)
        verdict = _judge(policy, canary, options)
        evidence = evidence_markdown(verdict, canary)
        if on_verdict is not None:
            on_verdict(canary, verdict)
        result = AnalyzeResult(canary, verdict, evidence, "none", "unchanged")
        if verdict.phase == "pass":
            return _with(result, reason="the canary passed: nothing to do")
        if verdict.phase == "inconclusive":
            return _with(result, reason="the analysis was inconclusive: nothing was reverted")
        return _respond(session, deployment, policy, options, result)
    finally:
        session.repo.close()


def _with(result: AnalyzeResult, **changes: Any) -> AnalyzeResult:
    return replace(result, **changes)


def _canary(deployment: Deployment, options: AnalyzeOptions) -> Canary:
    if deployment.current is None:
        raise InvalidInput.one(
            "--model",
            "",
            f"{deployment.folder} declares no version of {options.model}: nothing deployed to "
            "analyze (check --model and --environment)",
        )
    config = deployment.config
    env_config = config.environment(options.environment)
    url = options.prometheus_url or env_config.prometheus_address or config.prometheus_address
    return Canary(
        model=options.model,
        environment=options.environment,
        version=deployment.current,
        previous=deployment.previous,
        namespace=query_context(config, options.model, options.environment).namespace,
        prometheus_url=url,
    )


def _judge(policy: Policy, canary: Canary, options: AnalyzeOptions) -> Verdict:
    from bot.adapters.prometheus import PrometheusSettings
    from bot.core.analysis import run_analysis

    settings = PrometheusSettings.from_env(
        canary.prometheus_url,
        options.environ,
        headers=options.prometheus_headers,
        ca_bundle=options.prometheus_ca,
        verify_tls=not options.prometheus_insecure,
        timeout=options.prometheus_timeout,
    )
    context = QueryContext(canary.model, canary.environment, canary.namespace)
    now = options.now or datetime.now(timezone.utc)
    return run_analysis(policy, context, settings, now)


def _respond(
    session: EnvSession,
    deployment: Deployment,
    policy: Policy,
    options: AnalyzeOptions,
    result: AnalyzeResult,
) -> AnalyzeResult:
    if options.no_revert:
        return _with(result, reason="the canary failed; --no-revert: nothing was reverted")
    on_regression = policy.for_environment(options.environment).on_regression
    if on_regression == "notify":
        return _notify(session, deployment, options, result)
    rolled = rollback_in_session(
        session,
        RollbackOptions(
            model=options.model,
            environment=options.environment,
            target=options.target,
            base=options.base,
            reason=f"canary {result.verdict.summary}",
            dry_run=options.dry_run,
            token=options.token,
            auto_merge=options.auto_merge,
            evidence_markdown=result.evidence,
            workdir=options.workdir,
        ),
        policy=policy,
        deployment=deployment,
    )
    return _with(
        result,
        action="rollback",
        outcome=rolled.outcome,
        rollback=rolled,
        reason=rolled.reason,
        warnings=rolled.warnings,
    )


def _notify(
    session: EnvSession, deployment: Deployment, options: AnalyzeOptions, result: AnalyzeResult
) -> AnalyzeResult:
    """`on_regression: notify`: the evidence goes to the promotion PR; nothing is reverted."""
    forge = session.forge
    result = _with(result, action="notify")
    if forge is None:
        return _with(
            result,
            reason="the canary failed; on_regression is notify: nothing was reverted",
            warnings=("notify needs a GitHub repository: no comment was posted",),
        )
    canary = result.canary
    promotion = find_promotion_pull(
        forge,
        canary.environment,
        canary.model,
        canary.version,
        deployment.promotion.sha if deployment.promotion else None,
        None,
    )
    if promotion is None:
        return _with(
            result,
            reason="the canary failed; on_regression is notify: nothing was reverted",
            warnings=(
                f"no merged promotion pull request of {canary.model} {canary.version} found: "
                "no comment was posted",
            ),
        )
    text = notify_comment(canary, result.evidence)
    if options.dry_run:
        reason = f"dry run: the evidence would be commented on #{promotion.number}"
        return _with(result, notified=promotion, reason=reason)
    if any(c.body == text for c in forge.comments(promotion.number)):
        reason = f"#{promotion.number} already has this evidence"
        return _with(result, notified=promotion, reason=reason)
    forge.comment(promotion.number, text)
    return _with(
        result,
        notified=promotion,
        reason=f"on_regression is notify: the evidence was commented on #{promotion.number}",
    )


# --------------------------------------------------------------------------- text (pure)


def number_text(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format_number(value) if value.is_integer() else f"{value:.4g}"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _values(m: Measurement) -> str:
    return ", ".join(number_text(v) for v in m.values) or "none"


def _tally(m: Measurement) -> str:
    return (
        f"{m.count} measurements {_duration(m.interval)} apart: {m.passed} passed, "
        f"{m.failed} failed, {m.errors} unusable (failure limit {m.failure_limit})"
    )


def _thresholds(m: Measurement) -> str:
    return ", ".join(number_text(t) for t in m.thresholds)


def evidence_markdown(verdict: Verdict, canary: Canary, level: int = 3) -> str:
    """The analysis as a markdown section: for every metric its query (a code span), values,
    condition and threshold, phase, reason and a link to the Prometheus graph."""
    heading = "#" * level
    previous = f" (stable {code(canary.previous, in_table=False)})" if canary.previous else ""
    lines = [
        f"{heading} {_MARK[verdict.phase]} Canary analysis: {verdict.phase}",
        "",
        f"{code(canary.model, in_table=False)} {code(canary.version, in_table=False)} in "
        f"{code(canary.environment, in_table=False)}{previous}, judged at "
        f"{_moment(verdict.evaluated_at)} against {link('Prometheus', canary.prometheus_url)}.",
        "",
        f"**Verdict:** {escape(verdict.summary)}",
    ]
    for m in verdict.measurements:
        relative = " (canary ÷ stable)" if m.relative else ""
        lines += [
            "",
            f"{'#' * (level + 1)} {_MARK[m.phase]} {code(m.metric, in_table=False)}: {m.phase}",
            "",
            f"- query: {code(m.query, in_table=False)}",
            f"- condition: {code(m.condition, in_table=False)}{relative}, threshold "
            f"{_thresholds(m)}",
            f"- values: {escape(_values(m))} (latest {number_text(m.latest)})",
            f"- measurements: {_tally(m)}",
            f"- reason: {escape(m.reason)}",
            f"- graph: {link('Prometheus graph', m.graph_url)}",
        ]
    return "\n".join(lines) + "\n"


def notify_comment(canary: Canary, evidence: str) -> str:
    return (
        f"model-bot: the canary of {code(canary.model, in_table=False)} "
        f"{code(canary.version, in_table=False)} in {code(canary.environment, in_table=False)} "
        "failed its analysis. The policy says `on_regression: notify`, so nothing was "
        "reverted: comment `/rollback <reason>` to open a revert pull request.\n\n" + evidence
    )


def verdict_text(verdict: Verdict, canary: Canary) -> str:
    """The analysis for a terminal: one block per metric, then the verdict."""
    previous = f" (stable {printable(canary.previous)})" if canary.previous else ""
    lines = [
        f"canary: {printable(canary.model)} {printable(canary.version)} in "
        f"{printable(canary.environment)}{previous}",
        f"prometheus: {printable(canary.prometheus_url)} at {_moment(verdict.evaluated_at)}",
    ]
    for m in verdict.measurements:
        relative = " (canary / stable)" if m.relative else ""
        lines += [
            "",
            f"{printable(m.metric)}: {m.phase.upper()}: {printable(m.reason)}",
            f"  query:     {printable(m.query)}",
            f"  condition: {printable(m.condition)}{relative} (threshold {_thresholds(m)})",
            f"  values:    {_values(m)} (latest {number_text(m.latest)})",
            f"  measured:  {_tally(m)}",
            f"  graph:     {printable(m.graph_url or '—')}",
        ]
    lines += ["", f"verdict: {verdict.phase.upper()}: {printable(verdict.summary)}"]
    return "\n".join(lines) + "\n"


def result_json(result: AnalyzeResult) -> str:
    """The analysis and what came of it, as JSON (non-finite numbers as null)."""
    pr = result.pull_request
    canary = result.canary
    data: dict[str, Any] = {
        "model": canary.model,
        "environment": canary.environment,
        "version": canary.version,
        "previous_version": canary.previous,
        "prometheus_url": canary.prometheus_url,
        "verdict": result.verdict.to_dict(),
        "action": result.action,
        "outcome": result.outcome,
        "reason": result.reason,
        "pull_request": {"number": pr.number, "url": pr.url} if pr else None,
        "rollback": None,
        "warnings": list(result.warnings),
    }
    if result.rollback is not None:
        data["rollback"] = {
            "outcome": result.rollback.outcome,
            "method": result.rollback.method,
            "from_version": result.rollback.from_version,
            "to_version": result.rollback.to_version,
            "branch": result.rollback.branch,
            "commit": result.rollback.commit,
            "merged": result.rollback.merged,
        }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


__all__ = [
    "AnalyzeOptions",
    "AnalyzeResult",
    "Canary",
    "analyze",
    "evidence_markdown",
    "notify_comment",
    "number_text",
    "result_json",
    "verdict_text",
]
