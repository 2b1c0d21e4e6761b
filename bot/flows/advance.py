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

from collections.abc import Callable, Mapping, Sequence
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
        # Listing the environment's models reads their folders: keep them for the versions.
        folders = (
            {}
            if options.model is not None
            else model_folders(session, config, options.from_environment)
        )
        models = [options.model] if options.model is not None else sorted(folders)
        now = options.now or datetime.now(timezone.utc)
        lines: list[AdvanceLine] = []
        for model in models:
            soaked = _Soaked(
                session, config, landed, model, options.from_environment, now, folders.get(model)
            )
            for target in targets:
                lines.append(_advance_one(soaked, options, target, judge_soak, run_promote))
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


class _Soaked:
    """One model's version in force in the source environment and its soak, read once for
    every target; the soak's judgement (Prometheus) and its evidence also once, when the
    first target that needs them asks."""

    def __init__(
        self,
        session: EnvSession,
        config: BotConfig,
        landed: Sequence[LandedCommit],
        model: str,
        source: str,
        now: datetime,
        files: Mapping[str, bytes] | None,
    ) -> None:
        self.session, self.config, self.landed = session, config, landed
        self.model, self.source, self.now = model, source, now
        self.deployment = deployment_at_head(
            session, model, source, landed, config, files=files, checked=files is not None
        )
        self.ledger = read_ledger(
            session, model, source, deployment=self.deployment, landed=landed
        ).ledger
        self.soak = config.environment(source).soak
        duration = timedelta(seconds=duration_seconds(self.soak.duration))
        self.state = soak_state(self.ledger, duration, now)
        self._judged: tuple[str | None, str] | None = None

    def judged(self, judge_soak: JudgeSoak) -> tuple[str | None, str]:
        """(why the soak does not let the version on, or None; the PR body's soak section)."""
        if self._judged is None:
            self._judged = self._judge(judge_soak)
        return self._judged

    def _judge(self, judge_soak: JudgeSoak) -> tuple[str | None, str]:
        version = self.state.version
        assert version is not None
        if self.soak.rollout_completed:
            refusal = _rollout_not_completed(self.session, self.ledger, self.source)
            if refusal is not None:
                return refusal, ""
        soak_markdown = ""
        if self.soak.analysis:
            deployment = self.deployment
            files = folder_files(
                self.session.workspace, deployment.folder, deployment.paths, "HEAD"
            )
            verdict = judge_soak(self.config, self.model, self.source, version, files, self.now)
            if verdict.phase != "pass":
                return f"the soak analysis in {self.source}: {verdict.summary}", ""
            soak_markdown = verdict.evidence_markdown
        earlier = _earlier_pull(self.session, self.ledger, self.landed)
        return None, _context(self.model, self.source, self.state, earlier, soak_markdown)


def _advance_one(
    soaked: _Soaked,
    options: AdvanceOptions,
    target: str,
    judge_soak: JudgeSoak,
    run_promote: RunPromote,
) -> AdvanceLine:
    state, model, source = soaked.state, soaked.model, soaked.source

    def line(outcome: Outcome, reason: str, pull: PullRequestInfo | None = None) -> AdvanceLine:
        return AdvanceLine(model, source, target, state.version, outcome, reason, pull)

    if state.version is None or not state.over:
        return line("blocked", state.reason)
    target_ledger = read_ledger(soaked.session, model, target, landed=soaked.landed).ledger
    running = target_ledger.current
    if running is not None and running.version == state.version:
        return line("unchanged", f"{target} already runs {state.version}")
    refusal, context = soaked.judged(judge_soak)
    if refusal is not None:
        return line("blocked", refusal)
    evidence = _committed_evidence(soaked.session, soaked.config, model, source, state.version)
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
