"""`model-bot monitor`: watch every deployed model (or one) after its canary, and start its
retraining when it drifted, once per episode.

For each (model, environment) the env repo deploys: the ledger says which version runs and
since when, the committed gate evidence says how good it was, the policy's `monitoring:`
signals are asked of Prometheus (all queries at once) and judged by `bot.core.monitor`.
On `drifted` (on a forge, not a dry run) one tracking issue per model and environment holds
the evidence; retraining is dispatched when the issue is opened, and again only once the
cooldown has passed (`bot.core.drift`). `healthy` and `inconclusive` change nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from bot.core.analysis import QueryResult, RangeQuery
from bot.core.config import BotConfig
from bot.core.converge import Outcome
from bot.core.drift import (
    DriftMarker,
    Step,
    dispatch_inputs,
    issue_title,
    next_step,
    replace_marker,
    tracking_issue,
)
from bot.core.errors import InvalidInput
from bot.core.evidence import evidence_file, evidence_from_bytes
from bot.core.ledger import LandedCommit
from bot.core.monitor import Deployed, Health, MonitorVerdict, judge_model, plan_signals, worst
from bot.core.monitoring import Monitoring, Retrain, monitor_duration_seconds
from bot.core.names import fill_path, require_environment, require_model
from bot.core.policy import Policy
from bot.core.pulls import IssueInfo
from bot.core.render import query_context
from bot.flows.ledger import (
    deployment_at_head,
    entry_for,
    environments_of,
    landed_commits,
    model_folders,
    read_ledger,
)
from bot.flows.session import read_config
from bot.ports import EnvSession, Forge, MetricSource, SessionOpener
from bot.text.monitor import evidence_comment, evidence_markdown, issue_body

MetricSourceFor = Callable[[str], MetricSource]  # Prometheus URL -> its source
ForgeFor = Callable[[str], Forge]  # OWNER/NAME -> that repository (the training repository)


@dataclass(frozen=True)
class MonitorOptions:
    model: str | None = None  # None: every model
    environment: str | None = None  # None: every environment
    prometheus_url: str | None = None  # else the env repo's config
    dry_run: bool = False
    now: datetime | None = None


@dataclass(frozen=True)
class Watched:
    """One model's verdict and what came of it."""

    verdict: MonitorVerdict
    step: Step
    outcome: Outcome
    reason: str
    issue_number: int | None = None
    issue_url: str | None = None
    dispatched: bool = False
    inputs: Mapping[str, str] | None = None  # what the training workflow received (or would)


@dataclass(frozen=True)
class MonitorResult:
    watched: tuple[Watched, ...]
    warnings: tuple[str, ...] = ()

    @property
    def health(self) -> Health:
        return worst([w.verdict.health for w in self.watched])


@dataclass(frozen=True)
class _Job:
    monitoring: Monitoring
    deployed: Deployed
    plans: dict[str, RangeQuery]
    url: str


def monitor(
    policy: Policy,
    options: MonitorOptions,
    open_session: SessionOpener,
    metric_source_for: MetricSourceFor,
    forge_for: ForgeFor | None,
) -> MonitorResult:
    if options.model is not None:
        require_model(options.model)
    if options.environment is not None:
        require_environment(options.environment)
    session = open_session([])
    try:
        return _monitor(session, policy, options, metric_source_for, forge_for)
    finally:
        session.close()


def _monitor(
    session: EnvSession,
    policy: Policy,
    options: MonitorOptions,
    metric_source_for: MetricSourceFor,
    forge_for: ForgeFor | None,
) -> MonitorResult:
    now = options.now or datetime.now(timezone.utc)
    config = read_config(session.workspace)
    environments = environments_of(session, config, options.environment)
    if policy.monitoring is None and not any(
        policy.for_environment(e).monitoring is not None for e in environments
    ):
        raise InvalidInput.one(
            "--policy",
            "monitoring",
            "the policy has no monitoring section: add signals, "
            "max_age_days and retrain (see README, Policy)",
        )
    landed = landed_commits(session)
    jobs: list[_Job] = []
    warnings: list[str] = []
    for environment in environments:
        monitoring = policy.for_environment(environment).monitoring
        if monitoring is None:
            warnings.append(f"{environment}: the policy has no monitoring for it: not watched")
            continue
        folders = model_folders(session, config, environment)
        if options.model is not None:
            if options.model not in folders:
                if options.environment is not None:
                    raise InvalidInput.one(
                        "--model", "", f"{environment} deploys no model {options.model!r}"
                    )
                continue
            folders = {options.model: folders[options.model]}
        jobs += _jobs(session, config, environment, folders, monitoring, landed, options, now)
    if options.model is not None and not jobs:
        raise InvalidInput.one("--model", "", f"no environment deploys {options.model!r}")
    observed = _fetch(jobs, metric_source_for)
    verdicts = [
        judge_model(job.monitoring, job.deployed, job.plans, observed.get(id(job), {}), now)
        for job in jobs
    ]
    watched = []
    issues: dict[str, list[IssueInfo]] = {}
    for job, verdict in zip(jobs, verdicts, strict=True):
        watched.append(_act(session, job.monitoring, verdict, options, now, forge_for, issues))
    return MonitorResult(tuple(watched), tuple(warnings))


def _jobs(
    session: EnvSession,
    config: BotConfig,
    environment: str,
    folders: Mapping[str, Mapping[str, bytes]],
    monitoring: Monitoring,
    landed: Sequence[LandedCommit],
    options: MonitorOptions,
    now: datetime,
) -> list[_Job]:
    env_config = config.environment(environment)
    url = options.prometheus_url or env_config.prometheus_address or config.prometheus_address
    found: list[tuple[str, Deployed]] = []
    for model, files in sorted(folders.items()):
        deployment = deployment_at_head(
            session, model, environment, landed, config, files=dict(files), checked=True
        )
        # The bot's claims first (no folder reads); only when they do not explain what the
        # folder declares is the history searched for the manual edit that brought it.
        claims = read_ledger(session, model, environment, landed=landed, enrich_holds=False)
        current = claims.ledger.current
        if current is None or current.version != deployment.current:
            claims = read_ledger(
                session,
                model,
                environment,
                deployment=deployment,
                landed=landed,
                enrich_holds=False,
            )
        entry = entry_for(claims.ledger, deployment.current)
        since = entry.at if entry is not None else None
        found.append((model, Deployed(model, environment, deployment.current, since)))
    # The committed evidence of every deployed version, read at once, when a signal is
    # judged relative to it.
    relative = any(s.relative_to_evidence for s in monitoring.signals)
    paths = {
        model: evidence_file(
            fill_path(config.paths.report, environment=environment, model=model, version=d.version)
        )
        for model, d in found
        if d.version is not None and relative
    }
    # By folder: a commits-only clone (read-only sessions) reads folders, not single files.
    report_folders = sorted({posixpath.dirname(p) for p in paths.values()})
    texts = session.workspace.tree_of("HEAD", report_folders) if report_folders else {}
    jobs = []
    for model, deployed in found:
        data = texts.get(paths.get(model, ""))
        if data is not None:
            evidence = evidence_from_bytes(data, paths[model])
            deployed = Deployed(
                model, environment, deployed.version, deployed.since, dict(evidence.metrics)
            )
        context = query_context(config, model, environment)
        plans = plan_signals(monitoring, context, deployed.since, now) if deployed.version else {}
        jobs.append(_Job(monitoring, deployed, plans, url))
    return jobs


def _fetch(
    jobs: list[_Job], metric_source_for: MetricSourceFor
) -> dict[int, dict[str, QueryResult]]:
    """Every planned query, one fetch per Prometheus (concurrent inside the adapter)."""
    by_url: dict[str, dict[str, RangeQuery]] = {}
    owners: dict[str, tuple[int, str]] = {}
    for job in jobs:
        for name, plan in job.plans.items():
            key = f"{id(job)}/{name}"
            by_url.setdefault(job.url, {})[key] = plan
            owners[key] = (id(job), name)
    observed: dict[int, dict[str, QueryResult]] = {}
    for url, queries in by_url.items():
        for key, result in metric_source_for(url).fetch_ranges(queries).items():
            job_id, name = owners[key]
            observed.setdefault(job_id, {})[name] = result
    return observed


def _act(
    session: EnvSession,
    monitoring: Monitoring,
    verdict: MonitorVerdict,
    options: MonitorOptions,
    now: datetime,
    forge_for: ForgeFor | None,
    issues: dict[str, list[IssueInfo]],
) -> Watched:
    if verdict.health != "drifted":
        return Watched(verdict, "none", "unchanged", f"{verdict.health}: nothing to do")
    forge = session.forge
    retrain = monitoring.retrain
    if forge is None:
        step = next_step(verdict, None, now, 0)
        return Watched(
            verdict, step, "unchanged", "drifted; local mode: no issue opened, nothing dispatched"
        )
    label = monitoring.label
    if label not in issues:
        issues[label] = forge.find_issues(label)
    found = tracking_issue(
        [(i.number, i.body) for i in issues[label]], verdict.model, verdict.environment
    )
    cooldown = monitor_duration_seconds(monitoring.cooldown)
    step = next_step(verdict, found[1] if found else None, now, cooldown)
    issue = next((i for i in issues[label] if found and i.number == found[0]), None)
    if options.dry_run:
        inputs = dispatch_inputs(verdict, retrain, found[0] if found else None) if retrain else None
        return Watched(
            verdict,
            step,
            "unchanged",
            f"dry run: would {step.replace('-', ' ')}",
            issue.number if issue else None,
            issue.url if issue else None,
            inputs=inputs,
        )
    evidence = evidence_markdown(verdict)
    if issue is None:
        marker = DriftMarker(verdict.model, verdict.environment, verdict.version or "none")
        body = issue_body(verdict, evidence, marker, _target(retrain))
        issue = forge.create_issue(
            title=issue_title(verdict.model, verdict.environment), body=body, labels=[label]
        )
        issues[label].append(issue)
        inputs = _dispatch(forge_for, retrain, verdict, issue.number)
        if inputs is not None:
            dispatched = replace_marker(body, replace(marker, dispatched_at=now))
            forge.edit_issue(issue.number, body=dispatched)
        return Watched(
            verdict,
            step,
            "created",
            f"drifted: opened #{issue.number}"
            + (", retraining dispatched" if inputs is not None else ", no retrain target"),
            issue.number,
            issue.url,
            inputs is not None,
            inputs,
        )
    assert found is not None
    inputs = None
    if step == "dispatch-and-comment":
        inputs = _dispatch(forge_for, retrain, verdict, issue.number)
        if inputs is not None:
            marker = replace(found[1], dispatched_at=now)
            forge.edit_issue(issue.number, body=replace_marker(issue.body, marker))
    told = _target(retrain) if inputs is not None or retrain is None else None
    forge.comment(issue.number, evidence_comment(evidence, told, monitoring.cooldown))
    return Watched(
        verdict,
        step,
        "updated",
        f"drifted: evidence added to #{issue.number}"
        + (
            ", retraining dispatched again"
            if inputs is not None
            else ", within the cooldown: not dispatched"
        ),
        issue.number,
        issue.url,
        inputs is not None,
        inputs,
    )


def _target(retrain: Retrain | None) -> str:
    if retrain is None:
        return "none configured (monitoring.retrain)"
    if retrain.workflow is not None:
        return f"workflow {retrain.workflow} of {retrain.repository}"
    return f"repository_dispatch {retrain.event_type} to {retrain.repository}"


def _dispatch(
    forge_for: ForgeFor | None, retrain: Retrain | None, verdict: MonitorVerdict, issue: int
) -> dict[str, str] | None:
    """Start the retraining; None when the policy names no target."""
    if retrain is None:
        return None
    if forge_for is None:
        raise InvalidInput.one(
            "GITHUB_TOKEN", "", f"not set: dispatching to {retrain.repository} needs a token"
        )
    inputs = dispatch_inputs(verdict, retrain, issue)
    training = forge_for(retrain.repository)
    if retrain.workflow is not None:
        training.dispatch_workflow(
            retrain.workflow, retrain.ref or training.default_branch(), inputs
        )
    else:
        assert retrain.event_type is not None
        training.dispatch_event(retrain.event_type, inputs)
    return inputs


__all__ = ["MonitorOptions", "MonitorResult", "Watched", "monitor"]
