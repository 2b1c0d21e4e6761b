"""`model-bot advance`: move versions up the ladder (staging → production) after their soak.

For every model deployed in the environment (or one): the version in force must be a
promotion that has soaked there (`soak.duration`) and, where the soak asks for it, whose
analysis passes at the end of the soak (the judge the CLI hands in: Prometheus); then the
next environment's promotion is proposed for exactly the same artifact: the evidence the
promotion committed beside its report (image, tag or digest, model URI, metrics) is gated
again against the next environment's policy and promoted by the promote runner the CLI
hands in, which applies the next environment's windows, freeze, holds and converge rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.core.config import BotConfig
from bot.core.converge import Outcome
from bot.core.errors import InvalidInput
from bot.core.evidence import Evidence, evidence_file, evidence_from_bytes
from bot.core.ladder import SoakState, soak_state
from bot.core.ledger import LandedCommit, Ledger
from bot.core.names import fill_path
from bot.core.policy import duration_seconds
from bot.core.pulls import PullRequestInfo
from bot.flows.ledger import (
    deployment_at_head,
    landed_commits,
    model_folders,
    pull_number_in,
    read_ledger,
)
from bot.flows.session import folder_files, read_config
from bot.ports import EnvSession, SessionOpener
from bot.text.ladder import moment

ROLLOUT_STATUS = "model-bot/rollout"  # what `model-bot event` sets on a completed rollout


@dataclass(frozen=True)
class SoakVerdict:
    """The analysis at the end of a soak, as the judge the CLI hands in found it."""

    phase: str  # pass | fail | inconclusive
    summary: str
    evidence_markdown: str  # every measurement, with graph links


@dataclass(frozen=True)
class Proposal:
    """What the promote runner made of one advance."""

    outcome: Outcome
    reason: str
    pull_request: PullRequestInfo | None


# (the env repo's config, model, environment, version, the folder's files at the head, now)
# -> the soak's analysis
JudgeSoak = Callable[[BotConfig, str, str, str, dict[str, bytes], datetime], SoakVerdict]
# (the committed evidence, the target environment, markdown for the PR body) -> the result
RunPromote = Callable[[Evidence, str, str], Proposal]


@dataclass(frozen=True)
class AdvanceOptions:
    from_environment: str
    model: str | None = None
    dry_run: bool = False
    now: datetime | None = None


@dataclass(frozen=True)
class AdvanceLine:
    model: str
    from_environment: str
    to_environment: str
    version: str | None
    outcome: Outcome
    reason: str
    pull_request: PullRequestInfo | None = None

    def __str__(self) -> str:
        version = f" {self.version}" if self.version else ""
        where = f"{self.model}{version} {self.from_environment} -> {self.to_environment}"
        pull = f" #{self.pull_request.number}" if self.pull_request else ""
        return f"{where}: {self.outcome}{pull} ({self.reason})"


def advance(
    options: AdvanceOptions,
    open_session: SessionOpener,
    *,
    judge_soak: JudgeSoak,
    run_promote: RunPromote,
) -> list[AdvanceLine]:
    session = open_session([])
    try:
        config = read_config(session.workspace)
        targets = _targets(config, options.from_environment)
        landed = landed_commits(session)
        models = (
            [options.model]
            if options.model is not None
            else sorted(model_folders(session, config, options.from_environment))
        )
        now = options.now or datetime.now(timezone.utc)
        lines: list[AdvanceLine] = []
        for model in models:
            for target in targets:
                lines.append(
                    _advance_one(
                        session,
                        config,
                        landed,
                        model,
                        options,
                        target,
                        now,
                        judge_soak,
                        run_promote,
                    )
                )
        return lines
    finally:
        session.close()


def _targets(config: BotConfig, environment: str) -> Sequence[str]:
    targets = config.environment(environment).next
    if not targets:
        raise InvalidInput.one(
            "--from",
            "",
            f"{environment} has no next environment: set `environments.{environment}.next` "
            "in .model-bot.yaml (e.g. [production])",
        )
    return targets


def _advance_one(
    session: EnvSession,
    config: BotConfig,
    landed: Sequence[LandedCommit],
    model: str,
    options: AdvanceOptions,
    target: str,
    now: datetime,
    judge_soak: JudgeSoak,
    run_promote: RunPromote,
) -> AdvanceLine:
    source = options.from_environment
    deployment = deployment_at_head(session, model, source, landed, config)
    ledger = read_ledger(session, model, source, deployment=deployment, landed=landed).ledger
    soak = config.environment(source).soak
    state = soak_state(ledger, timedelta(seconds=duration_seconds(soak.duration)), now)

    def line(outcome: Outcome, reason: str, pull: PullRequestInfo | None = None) -> AdvanceLine:
        return AdvanceLine(model, source, target, state.version, outcome, reason, pull)

    if state.version is None or not state.over:
        return line("blocked", state.reason)
    target_ledger = read_ledger(session, model, target, landed=landed).ledger
    running = target_ledger.current
    if running is not None and running.version == state.version:
        return line("unchanged", f"{target} already runs {state.version}")
    if soak.rollout_completed:
        refusal = _rollout_not_completed(session, ledger, source)
        if refusal is not None:
            return line("blocked", refusal)
    files = folder_files(session.workspace, deployment.folder, deployment.paths, "HEAD")
    soak_markdown = ""
    if soak.analysis:
        verdict = judge_soak(config, model, source, state.version, files, now)
        if verdict.phase != "pass":
            return line("blocked", f"the soak analysis in {source}: {verdict.summary}")
        soak_markdown = verdict.evidence_markdown
    evidence = _committed_evidence(session, config, model, source, state.version)
    context = _context(model, source, state, _earlier_pull(session, ledger, landed), soak_markdown)
    if options.dry_run:
        return line("unchanged", f"dry run: {target} would be proposed {state.version}")
    proposed = run_promote(evidence, target, context)
    return line(proposed.outcome, proposed.reason, proposed.pull_request)


def _rollout_not_completed(session: EnvSession, ledger: Ledger, environment: str) -> str | None:
    """`soak.rollout_completed`: the `model-bot/rollout` status (set by `model-bot event` when
    Argo Rollouts says the rollout completed) must be `success` on the commit that brought the
    version in force."""
    current = ledger.current
    assert current is not None
    if session.forge is None:
        return (
            f"soak.rollout_completed needs GitHub's commit statuses: a local env repo has none "
            f"(turn it off for {environment})"
        )
    state = session.forge.commit_statuses(current.commit).get(ROLLOUT_STATUS)
    if state == "success":
        return None
    return (
        f"the rollout of {current.version} in {environment} has not completed "
        f"({ROLLOUT_STATUS} is {state or 'not set'} on {current.commit[:12]})"
    )


def _committed_evidence(
    session: EnvSession, config: BotConfig, model: str, environment: str, version: str
) -> Evidence:
    """The evidence the promotion into `environment` committed beside its report."""
    report = fill_path(config.paths.report, environment=environment, model=model, version=version)
    path = evidence_file(report)
    data = session.workspace.tree_of("HEAD", [path]).get(path)
    if data is None:
        raise InvalidInput.one(
            path,
            "",
            f"no committed evidence of {model} {version} in {environment} (promoted before "
            "the bot committed it): promote it from the training pipeline instead",
        )
    return evidence_from_bytes(data, path)


def _earlier_pull(session: EnvSession, ledger: Ledger, landed: Sequence[LandedCommit]) -> str:
    """The pull request that brought the version in force, as a link: the ledger's (when it
    asked the forge) or the one the forge's merge commit names; no request either way."""
    current = ledger.current
    if current is None:
        return ""
    if current.pull_url is not None:
        return current.pull_url
    number = current.pull_number
    if number is None:
        number = next(
            (pull_number_in(c) for c in landed if c.sha == current.commit),
            None,
        )
    if number is None:
        return ""
    web_root = session.web_root
    return f"{web_root}/pull/{number}" if web_root is not None else f"#{number}"


def _context(
    model: str, environment: str, state: SoakState, earlier_pull: str, soak_markdown: str
) -> str:
    """The PR body's section about where the version comes from: its soak and its PR."""
    since = moment(state.since) if state.since else "?"
    earlier = f" (merged in {earlier_pull})" if earlier_pull else ""
    lines = [
        f"### Soaked in {environment}",
        "",
        f"`{model}` `{state.version}` ran in {environment} since {since}{earlier}; "
        f"{state.reason}. The same artifact (image and model URI) is proposed here, gated "
        "again against this environment's policy.",
    ]
    if soak_markdown:
        lines += ["", soak_markdown.strip()]
    return "\n".join(lines)


__all__ = [
    "AdvanceLine",
    "AdvanceOptions",
    "JudgeSoak",
    "Proposal",
    "RunPromote",
    "SoakVerdict",
    "advance",
]
