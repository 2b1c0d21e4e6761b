"""`model-bot analyze`: judge a running canary from Prometheus; on failure, act on the policy.

The env repo says what is deployed (the canary's version from the model's folder, a tag
standing for the model version the bot recorded with it; the previous one from the
promotion's trailers), what the cluster judges (the AnalysisTemplates the folder's Rollout
references) and where Prometheus is; `bot.core.analysis` judges those templates' metrics
(the policy's where the folder holds none), naming every difference from the policy, into a
`Verdict`; on `fail` the policy's `on_regression` decides:
`rollback` opens the revert PR through the rollback runner the CLI hands in (with the
evidence in its body), `rollback_and_merge` also merges it, `notify` comments the evidence
on the promotion PR. An inconclusive verdict (no data, NaN, an unreachable Prometheus) never
reverts anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from bot.core.analysis import (
    Verdict,
    analysis_basis,
    judge,
    judge_specs,
    plan_queries,
    plan_spec_queries,
)
from bot.core.canary import AnalyzeResult, Canary
from bot.core.deployment import Deployment
from bot.core.errors import InvalidInput
from bot.core.ledger import Entry
from bot.core.names import require_environment, require_model
from bot.core.policy import Policy
from bot.core.queries import QueryContext
from bot.core.render import query_context
from bot.core.rollback import RollbackOptions, RollbackResult
from bot.flows.ledger import read_ledger
from bot.flows.session import find_promotion_pull, folder_files, read_deployment
from bot.ports import EnvSession, MetricSource, SessionOpener
from bot.text.analysis import evidence_markdown, notify_comment

MetricSourceFor = Callable[[str], MetricSource]  # Prometheus URL -> a source
RollbackRunner = Callable[[EnvSession, RollbackOptions, Policy, Deployment], RollbackResult]


@dataclass(frozen=True)
class AnalyzeOptions:
    model: str
    environment: str
    prometheus_url: str | None = None  # else the env repo's config
    no_revert: bool = False
    auto_merge: bool = False
    dry_run: bool = False
    base: str | None = None
    now: datetime | None = None  # judge as of this moment (default: the clock)


def run_analysis(
    policy: Policy,
    context: QueryContext,
    source: MetricSource,
    now: datetime,
    files: Mapping[str, bytes] | None = None,
) -> Verdict:
    """Query the source for the metrics the cluster runs and judge them: those of the
    AnalysisTemplates the model folder's committed Rollout references (`files`, the folder
    at HEAD), every difference from the policy named in the verdict; the policy's metrics
    (environment override applied) where the folder holds no such template.

    Never raises for Prometheus trouble: an unreachable or failing Prometheus makes the
    affected metrics, and so the verdict, inconclusive.
    """
    analysis = policy.for_environment(context.environment).analysis
    basis = analysis_basis(analysis, context, files or {})
    if basis.source == "policy":
        queries = plan_queries(analysis, context, now)
        observed = source.fetch_ranges(queries) if queries else {}
        verdict = judge(analysis, observed, now)
    else:
        queries = plan_spec_queries(basis.specs, now)
        observed = source.fetch_ranges(queries) if queries else {}
        verdict = judge_specs(basis.specs, observed, now)
    return replace(
        verdict,
        source=basis.source,
        templates=basis.templates,
        differences=basis.differences,
    )


def analyze(
    policy: Policy,
    options: AnalyzeOptions,
    open_session: SessionOpener,
    metric_source_for: MetricSourceFor,
    run_rollback: RollbackRunner,
    *,
    on_verdict: Callable[[Canary, Verdict], None] | None = None,
) -> AnalyzeResult:
    """Judge the canary; `on_verdict` sees the verdict before anything is written."""
    require_model(options.model)
    require_environment(options.environment)
    session = open_session([])
    try:
        deployment = read_deployment(session.workspace, options.environment, options.model)
        canary = _canary(deployment, options)
        context = QueryContext(canary.model, canary.environment, canary.namespace)
        now = options.now or datetime.now(timezone.utc)
        files = folder_files(session.workspace, deployment.folder, deployment.paths, "HEAD")
        past: Entry | None = None
        if options.now is not None:
            # `--at`: the version that served then, judged with the folder as it was then.
            canary, past = _served_at(session, deployment, canary, options.now)
            if past is not None:
                files = session.workspace.files_at(past.commit, deployment.folder)
        source = metric_source_for(canary.prometheus_url)
        verdict = run_analysis(policy, context, source, now, files)
        evidence = evidence_markdown(verdict, canary)
        if on_verdict is not None:
            on_verdict(canary, verdict)
        result = AnalyzeResult(canary, verdict, evidence, "none", "unchanged")
        if verdict.phase == "pass":
            return replace(result, reason="the canary passed: nothing to do")
        if verdict.phase == "inconclusive":
            return replace(result, reason="the analysis was inconclusive: nothing was reverted")
        if past is not None and canary.version != deployment.current:
            return replace(
                result,
                reason=f"{canary.model} {canary.version} served at {now:%Y-%m-%d %H:%M}Z; "
                f"{deployment.current} runs now: nothing was reverted",
            )
        return _respond(session, deployment, policy, options, result, run_rollback)
    finally:
        session.close()


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


def _served_at(
    session: EnvSession, deployment: Deployment, canary: Canary, when: datetime
) -> tuple[Canary, Entry | None]:
    """The canary that served at `when` according to the ledger. A deployment the ledger
    does not reach (nothing recorded before `when`) is refused: judging today's version
    against another time's data would be a guess."""
    ledger = read_ledger(
        session, deployment.model, deployment.environment, deployment=deployment
    ).ledger
    entry = ledger.at(when)
    if entry is None or entry.version is None:
        raise InvalidInput.one(
            "--at",
            "",
            f"no version of {deployment.model} had reached {deployment.environment} by "
            f"{when:%Y-%m-%d %H:%M:%S}Z (see `model-bot history`)",
        )
    return replace(canary, version=entry.version, previous=entry.previous_version), entry


def _respond(
    session: EnvSession,
    deployment: Deployment,
    policy: Policy,
    options: AnalyzeOptions,
    result: AnalyzeResult,
    run_rollback: RollbackRunner,
) -> AnalyzeResult:
    if options.no_revert:
        return replace(result, reason="the canary failed; --no-revert: nothing was reverted")
    on_regression = policy.for_environment(options.environment).on_regression
    if on_regression == "notify":
        return _notify(session, deployment, options, result)
    rolled = run_rollback(
        session,
        RollbackOptions(
            model=options.model,
            environment=options.environment,
            base=options.base,
            reason=f"canary {result.verdict.summary}",
            dry_run=options.dry_run,
            auto_merge=options.auto_merge,
            evidence_markdown=result.evidence,
        ),
        policy,
        deployment,
    )
    return replace(
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
    result = replace(result, action="notify")
    if forge is None:
        return replace(
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
        return replace(
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
        return replace(result, notified=promotion, reason=reason)
    if any(c.body == text for c in forge.comments(promotion.number)):
        reason = f"#{promotion.number} already has this evidence"
        return replace(result, notified=promotion, reason=reason)
    forge.comment(promotion.number, text)
    return replace(
        result,
        notified=promotion,
        reason=f"on_regression is notify: the evidence was commented on #{promotion.number}",
    )


__all__ = ["AnalyzeOptions", "analyze", "run_analysis"]
