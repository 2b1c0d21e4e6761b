"""`model-bot promote`: gate, render, commit on the bot's branch, open or update the PR.

Read (the model's folder, the config, the templates), decide (gate, render, the branch
decision of `bot.core.converge`), write (publish the commit, open or update the PR). Every
decision is a pure function in `bot.core`; every side effect goes through a port.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from bot.core.commits import CommitRequest
from bot.core.config import DEFAULT_CONFIG, BotConfig
from bot.core.converge import Outcome
from bot.core.errors import BotError, InvalidInput, Problem, Refused
from bot.core.evidence import Evidence, evidence_file, evidence_json, pairing_problems
from bot.core.gate import Decision, evaluate, gate_summary
from bot.core.ladder import ladder_state, windows_state
from bot.core.ledger import Hold, LandedCommit
from bot.core.marker import ProposalMeta, read_marker
from bot.core.names import check_dns_label, check_version, fill_path, promote_branch
from bot.core.plan import committed_plan
from bot.core.policy import Policy, duration_seconds
from bot.core.pulls import CommentInfo, PullRequestInfo
from bot.core.render import (
    ChangeSet,
    CurrentVersion,
    RenderRequest,
    candidate_paths,
    declares_model_version,
    model_dir,
    needs_whole_folder,
    query_context,
    read_current_version,
    recorded_image,
    recorded_versions,
    render_change,
)
from bot.core.target import NotifyTarget
from bot.core.trailers import (
    CODE_COMMIT,
    DRIFT_ISSUE,
    GATE,
    HOLD_LIFTED,
    IMAGE,
    IMAGE_TAG,
    LADDER_SKIPPED,
    MLFLOW_RUN,
    PREVIOUS_IMAGE_TAG,
    bot_trailers,
)
from bot.flows.ledger import landed_commits, read_ledger
from bot.flows.session import (
    HISTORY,
    Converged,
    add_labels,
    check_environment,
    converge_branch,
    read_config,
    read_templates,
    request_configured_reviewers,
)
from bot.ports import ChampionSource, EnvSession, Forge, SessionOpener, Workspace
from bot.text.diff import unified_diff
from bot.text.ladder import closed_reason, ladder_skipped_note
from bot.text.ledger import held_refusal, lifted_note, rejected_refusal
from bot.text.monitor import drift_answer_note
from bot.text.proposal import promotion_report, promotion_title, pull_request_body
from bot.text.report import gate_report_markdown

ForgeFor = Callable[[str], Forge]  # OWNER/NAME -> that repository's forge
GATE_STATUS = "model-bot/gate"


@dataclass(frozen=True)
class PromoteOptions:
    environment: str
    dry_run: bool = False
    no_pr: bool = False
    image: str | None = None
    policy_source: str | None = None
    local: bool = False  # the env repo is a local path (no forge)
    env_repo: str | None = None  # OWNER/NAME on the forge, where it is one
    notify: NotifyTarget | None = None  # `--notify`: where a blocked decision is told
    lift_hold: str | None = None  # `--lift-hold REASON`: promote a rolled-back version again
    reopen: bool = False  # `--reopen`: propose again a version whose PR was closed unmerged
    skip_ladder: str | None = None  # `--skip-ladder REASON`: the required soak elsewhere
    now: datetime | None = None  # the clock (windows, soaks); None: now
    context_markdown: str | None = None  # `advance`: the soak it comes from, atop the PR body
    drift_issue: int | None = None  # `--drift-issue N`: the drift this retrained version answers


@dataclass(frozen=True)
class PromoteResult:
    outcome: Outcome
    decision: Decision
    local: bool = False
    dry_run: bool = False
    branch: str | None = None
    title: str | None = None
    body: str | None = None
    diff: str = ""
    report_path: str | None = None
    previous_version: str | None = None
    commit: str | None = None
    pull_request: PullRequestInfo | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()
    notified: str | None = None  # where a blocked decision was commented
    hold_lifted: Hold | None = None  # the hold `--lift-hold` lifted
    merged: str | None = None  # local mode's `auto_merge`: the merge commit on the base


@dataclass(frozen=True)
class _Plan:
    """Everything the change is, before anything is written."""

    branch: str
    files: dict[str, bytes | None]  # intended content of every file the PR owns; None: delete
    before: dict[str, bytes | None]
    meta: ProposalMeta
    title: str
    report: str
    report_path: str
    config: BotConfig
    already_deployed: bool
    image_trailers: dict[str, str | None]  # Image, Image-Tag, Previous-Image-Tag, where needed


def plan_promotion(
    workspace: Workspace,
    evidence: Evidence,
    decision: Decision,
    policy: Policy,
    options: PromoteOptions,
) -> _Plan:
    model = _checked(check_dns_label, evidence.model.name, "model.name", "model")
    version = _checked(check_version, evidence.model.version, "model.version")
    environment = options.environment
    config = read_config(workspace)
    check_environment(config, workspace, environment)
    folder = model_dir(config, environment, model, version)
    report_path = fill_path(
        config.paths.report, environment=environment, model=model, version=version
    )
    workspace.add_sparse_paths([folder, posixpath.dirname(report_path), config.templates_dir])

    existing = {
        p: data
        for p in candidate_paths(config, environment, model, version)
        if (data := workspace.read(p)) is not None
    }
    if needs_whole_folder(existing):  # a kustomization, or a Rollout with a workloadRef
        existing = {**workspace.tree_of("HEAD", [folder]), **existing}
    image = evidence.model.image or options.image
    effective = policy.for_environment(environment)
    try:
        change = render_change(
            RenderRequest(
                model=model,
                version=version,
                environment=environment,
                policy=effective,
                config=config,
                image_repository=image,
                image_tag=evidence.model.tag,
                model_uri=evidence.model.uri,
            ),
            existing,
            read_templates(workspace, config),
        )
    except InvalidInput as error:
        raise _from_evidence(error, image_from_evidence=bool(evidence.model.image)) from None
    current, image_trailers = _versions(
        workspace, config, folder, model, environment, existing, change
    )
    previous = current.version if current else None
    meta = ProposalMeta("promote", model, environment, version, previous)
    plan = committed_plan(  # the Rollout this change commits, else the policy's plan
        effective,
        query_context(config, model, environment),
        {**workspace.tree_of("HEAD", [folder]), **existing},
        change.files,
        change.deleted,
    )
    report = promotion_report(
        evidence, decision, plan, meta, list(change.changed), deleted=list(change.deleted)
    )
    files: dict[str, bytes | None] = dict(change.files)
    files.update(dict.fromkeys(change.deleted))  # e.g. a bot-owned AnalysisTemplate no longer used
    files[report_path] = report.encode("utf-8")
    evidence_path = evidence_file(report_path)
    files[evidence_path] = evidence_json(evidence)
    before: dict[str, bytes | None] = {path: existing.get(path) for path in files}
    before[report_path] = workspace.read(report_path)
    before[evidence_path] = workspace.read(evidence_path)
    return _Plan(
        branch=promote_branch(environment, model),
        files=files,
        before=before,
        meta=meta,
        title=promotion_title(model, version, environment),
        report=report,
        report_path=report_path,
        config=config,
        already_deployed=previous == version and change.outcome == "unchanged",
        image_trailers=image_trailers,
    )


def _versions(
    workspace: Workspace,
    config: BotConfig,
    folder: str,
    model: str,
    environment: str,
    existing: dict[str, bytes],
    change: ChangeSet,
) -> tuple[CurrentVersion | None, dict[str, str | None]]:
    """The version the folder declares now, and the image trailers of the promotion.

    A folder that names only an image tag (kustomize, a values file without a model version
    key, plain manifests) stands for the model version the bot recorded with that tag in
    its commits' trailers; such a promotion records its image and both tags in turn, so
    that a later run (and a rollback) reads the model version back, not the tag."""
    after = {**existing, **change.files}
    for path in change.deleted:
        after.pop(path, None)
    image = change.image_repository
    current = read_current_version(existing, config, image_repository=image)
    needs_record = current is not None and not declares_model_version(existing, config)
    records = not declares_model_version(after, config)
    if not (needs_record or records):
        return current, {}
    trailers = [commit.trailers for commit in workspace.log([folder], max_count=HISTORY)]
    image = image or recorded_image(trailers, model, environment)
    if needs_record:
        recorded = recorded_versions(trailers, model, environment)
        current = read_current_version(existing, config, image_repository=image, recorded=recorded)
    if not records:
        return current, {}
    new = read_current_version(after, config, image_repository=image)
    return current, {
        IMAGE: image,
        IMAGE_TAG: new.tag if new else None,
        PREVIOUS_IMAGE_TAG: current.tag if current else None,
    }


# What render calls its inputs (`model-bot render` flags) and where promote got them.
_EVIDENCE_FIELDS = {
    "--model": "model.name",
    "--version": "model.version",
    "--tag": "model.tag",
    "--model-uri": "model.uri",
}


def _from_evidence(error: InvalidInput, *, image_from_evidence: bool) -> InvalidInput:
    """Render's problems, naming the gate results' fields instead of render's flags (promote
    has no --tag flag: the tag came from the evidence)."""
    fields = dict(_EVIDENCE_FIELDS)
    if image_from_evidence:
        fields["--image"] = "model.image"
    return InvalidInput(
        [
            Problem("gate results", fields[p.source], p.message)
            if p.source in fields and not p.field
            else p
            for p in error.problems
        ]
    )


def _checked(check: Callable[..., str], value: str, field_name: str, *args: str) -> str:
    try:
        return check(value, *args)
    except ValueError as error:
        raise InvalidInput.one("gate results", field_name, str(error)) from None


def initial_sparse_paths(evidence: Evidence, environment: str) -> list[str]:
    """The folders a promotion reads and writes under the default layout, checked out by
    the clone itself. Adding them after checkout (`sparse-checkout add`) costs a pass over
    the whole `environments/<env>` tree: about 0.2 s at 10,000 models. A `.model-bot.yaml`
    with another layout adds its own folders later; these then hold nothing."""
    model = _checked(check_dns_label, evidence.model.name, "model.name", "model")
    version = _checked(check_version, evidence.model.version, "model.version")
    paths = DEFAULT_CONFIG.paths
    report = fill_path(paths.report, environment=environment, model=model, version=version)
    return [
        model_dir(DEFAULT_CONFIG, environment, model, version),
        posixpath.dirname(report),
        DEFAULT_CONFIG.templates_dir,
    ]


def promote(
    evidence: Evidence,
    policy: Policy,
    options: PromoteOptions,
    open_session: SessionOpener,
    *,
    forge_for: ForgeFor | None = None,
    champions: ChampionSource | None = None,
) -> PromoteResult:
    """Gate `evidence`; when it passes, propose it. `forge_for` opens a forge repository
    (None without a token): a blocked decision is commented there when the policy says
    `on_fail: block_and_notify`. `champions` (the registry) is asked for the metrics of the
    version the environment runs when the evidence has no champion (the registry has no
    alias at all): a first promotion is one only where the environment runs nothing."""
    if evidence.champion is None and champions is not None:
        return _promote_against_deployed(
            evidence, policy, options, open_session, forge_for, champions
        )
    decision = evaluate(policy, evidence, options.environment, policy_source=options.policy_source)
    if not decision.passed:
        return _blocked(decision, evidence, policy, options, forge_for)
    session = open_session(initial_sparse_paths(evidence, options.environment))
    try:
        return _promote(session, evidence, decision, policy, options)
    finally:
        session.close()


def _promote_against_deployed(
    evidence: Evidence,
    policy: Policy,
    options: PromoteOptions,
    open_session: SessionOpener,
    forge_for: ForgeFor | None,
    champions: ChampionSource,
) -> PromoteResult:
    """No champion in the evidence: read the version the environment runs (as the plan
    does) and gate against its metrics; nothing deployed (or this very version): as is."""
    session = open_session(initial_sparse_paths(evidence, options.environment))
    try:
        first = evaluate(policy, evidence, options.environment, policy_source=options.policy_source)
        deployed = plan_promotion(session.workspace, evidence, first, policy, options).meta
        previous = deployed.previous_version
        if previous is not None and previous != deployed.version:
            evidence = evidence.model_copy(update={"champion": champions.champion(previous)})
            problems = pairing_problems(evidence, f"the deployed version {previous}")
            if problems:
                raise InvalidInput(problems)
        decision = evaluate(
            policy, evidence, options.environment, policy_source=options.policy_source
        )
        if decision.passed:
            return _promote(session, evidence, decision, policy, options)
    finally:
        session.close()
    return _blocked(decision, evidence, policy, options, forge_for)


def _blocked(
    decision: Decision,
    evidence: Evidence,
    policy: Policy,
    options: PromoteOptions,
    forge_for: ForgeFor | None,
) -> PromoteResult:
    blocked = PromoteResult(
        "blocked",
        decision,
        local=options.local,
        dry_run=options.dry_run,
        reason="the gates failed: nothing was opened",
    )
    return _notify_blocked(blocked, evidence, policy, options, forge_for)


def _promote(
    session: EnvSession,
    evidence: Evidence,
    decision: Decision,
    policy: Policy,
    options: PromoteOptions,
) -> PromoteResult:
    plan = plan_promotion(session.workspace, evidence, decision, policy, options)
    use_pr = session.forge is not None and not options.no_pr
    result = PromoteResult(
        outcome="unchanged",
        decision=decision,
        local=session.forge is None,
        dry_run=options.dry_run,
        branch=plan.branch,
        title=plan.title,
        report_path=plan.report_path,
        previous_version=plan.meta.previous_version,
    )
    if plan.already_deployed:
        reason = f"{plan.meta.environment} already runs {plan.meta.model} {plan.meta.version}"
        return replace(result, reason=reason)
    meta = plan.meta
    landed = landed_commits(session, meta.model)
    refusal, skipped = _ladder_refusal(session, plan, options, landed)
    if refusal is not None:
        return replace(result, outcome="blocked", reason=refusal)
    ledger = read_ledger(session, meta.model, meta.environment, landed=landed).ledger
    hold = ledger.holds().get(meta.version)
    if hold is not None and options.lift_hold is None:
        return replace(
            result,
            outcome="blocked",
            reason=held_refusal(meta.model, meta.environment, hold),
        )
    lifted: dict[str, str | None] = {}
    if hold is not None and options.lift_hold is not None:
        lifted = {HOLD_LIFTED: options.lift_hold or "no reason given"}
        result = replace(result, hold_lifted=hold)
    elif options.lift_hold is not None:
        result = replace(
            result,
            warnings=(f"--lift-hold: {meta.model} {meta.version} is not held in "
                      f"{meta.environment}: nothing to lift",),
        )  # fmt: skip
    trailers = bot_trailers(
        plan.meta,
        {
            **plan.image_trailers,
            GATE: gate_summary(decision),
            **lifted,
            **skipped,
            DRIFT_ISSUE: str(options.drift_issue) if options.drift_issue else None,
            MLFLOW_RUN: evidence.lineage.run_id,
            CODE_COMMIT: evidence.lineage.code_commit,
        },
    )
    plan = replace(plan, meta=replace(plan.meta, trailers=trailers))

    request = CommitRequest(
        branch=plan.branch,
        base=session.base,
        files=plan.files,
        subject=plan.title,
        body=f"Gates passed; evaluation report: {plan.report_path}",
        trailers=trailers,
        author=(plan.config.commit_author.name, plan.config.commit_author.email),
    )
    forge = session.forge

    def refuse_new() -> str | None:
        assert forge is not None
        return None if options.reopen else _rejected(forge, plan)

    converged = converge_branch(
        session,
        request,
        watched=list(plan.files),
        holds=lambda held: all(held.files.get(p) == data for p, data in plan.files.items()),
        describes=lambda pull: _describes(pull, plan),
        uses_pulls=use_pr,
        dry_run=options.dry_run,
        noun="change",
        busy="promoting the same model and environment",
        refuse_new=refuse_new if use_pr else None,
    )
    chosen = converged.decision
    if chosen.outcome == "blocked":
        return replace(result, outcome="blocked", reason=chosen.reason)
    report = plan.report
    if result.hold_lifted is not None:
        note = lifted_note(result.hold_lifted, options.lift_hold or "no reason given")
        report = f"{note}\n\n{report}"
    if skipped:
        report = f"{ladder_skipped_note(options.skip_ladder or '')}\n\n{report}"
    if options.context_markdown:
        report = f"{options.context_markdown}\n\n{report}"
    if options.drift_issue:
        report = f"{drift_answer_note(options.drift_issue)}\n\n{report}"
    body = pull_request_body(
        report,
        plan.meta,
        _report_url(session, converged.pushed or converged.head, plan.report_path),
    )
    result = replace(
        result,
        outcome=chosen.outcome,
        reason=chosen.reason,
        diff=unified_diff(plan.before, plan.files),
        body=body,
        pull_request=converged.open_pull,
    )
    if chosen.action == "none":
        return replace(result, diff="")
    if chosen.action == "held":
        return _held(session, plan, converged, result, options.dry_run)
    if options.dry_run:
        return result
    return _write_pull(session, plan, converged, result, use_pr)


def _held(
    session: EnvSession,
    plan: _Plan,
    converged: Converged,
    result: PromoteResult,
    dry_run: bool,
) -> PromoteResult:
    warnings: list[str] = []
    if converged.open_pull is not None and not dry_run:
        # An earlier run may have stopped between opening the PR and labelling it.
        _ensure_labels(session, plan, converged.open_pull, warnings)
    result = replace(result, commit=converged.head, warnings=tuple(warnings))
    if not dry_run:
        # An earlier run pushed the branch but its merge was refused: try again.
        result = _merge_locally(session, plan, result)
    return result


def _write_pull(
    session: EnvSession, plan: _Plan, converged: Converged, result: PromoteResult, use_pr: bool
) -> PromoteResult:
    """The PR side of a branch decision (push, refresh-pull, open-pull)."""
    result = replace(result, commit=converged.commit)
    if not use_pr or result.body is None:
        return _merge_locally(session, plan, result)
    return _pull_side(session, plan, converged, result, result.body)


def _merge_locally(session: EnvSession, plan: _Plan, result: PromoteResult) -> PromoteResult:
    """Local mode with `auto_merge: true`: no forge merges a pull request, so the bot merges
    its branch into the base itself (a merge commit; a conflict or a base that keeps moving
    is left to a person, and said)."""
    merger = session.merger
    if (
        session.forge is not None
        or merger is None
        or not plan.config.environment(plan.meta.environment).auto_merge
    ):
        return result
    author = (plan.config.commit_author.name, plan.config.commit_author.email)
    message = (
        f"Merge branch '{plan.branch}'\n\n"
        f"auto_merge is on for {plan.meta.environment}: merged by model-bot in local mode."
    )
    merged = merger.merge_into_base(plan.branch, message, author)
    if merged.merged:
        return replace(result, merged=merged.sha)
    warning = f"auto-merge refused: {merged.refused}; merge {plan.branch} yourself"
    return replace(result, warnings=(*result.warnings, warning))


def _pull_side(
    session: EnvSession, plan: _Plan, converged: Converged, result: PromoteResult, body: str
) -> PromoteResult:
    warnings: list[str] = []
    if converged.pushed is not None:
        _gate_status(session, converged.pushed, result.decision, warnings)
    open_pull = converged.open_pull
    if open_pull is not None:
        # refresh-pull: an earlier run pushed this change but stopped before updating the PR
        # (or a twin run pushed the very same commit first): finish its work.
        refresh = converged.decision.action == "refresh-pull"
        pr = _update_pull(session, plan, open_pull, body, comment_once=refresh)
        _ensure_labels(session, plan, pr, warnings)
    else:
        pr = _open_pull(session, plan, body, warnings)
    return replace(result, pull_request=pr, warnings=tuple(warnings))


def _ladder_refusal(
    session: EnvSession, plan: _Plan, options: PromoteOptions, landed: Sequence[LandedCommit]
) -> tuple[str | None, dict[str, str | None]]:
    """Why the version may not enter the environment now (a freeze, outside its windows, or
    it did not soak where the environment requires), and the trailers of a skipped ladder.
    Rollbacks never ask."""
    meta = plan.meta
    env_config = plan.config.environment(meta.environment)
    now = options.now or datetime.now(timezone.utc)
    windows = windows_state(meta.environment, env_config, now)
    if not windows.open:
        return closed_reason(windows), {}
    required = env_config.requires
    if required is None:
        return None, {}
    if options.skip_ladder is not None:
        return None, {LADDER_SKIPPED: options.skip_ladder or "no reason given"}
    ledger = read_ledger(session, meta.model, required, landed=landed).ledger
    soak = timedelta(seconds=duration_seconds(plan.config.environment(required).soak.duration))
    state = ladder_state(meta.version, required, ledger, soak, now)
    if not state.open:
        return f"{closed_reason(state)}; to promote anyway, pass --skip-ladder REASON", {}
    return None, {}


def _rejected(forge: Forge, plan: _Plan) -> str | None:
    """Why this version is not proposed again: the newest closed pull request that proposed
    it was closed without merging (a reviewer said no)."""
    meta = plan.meta
    proposed = [
        pull
        for pull in forge.find_pulls(plan.branch, state="closed")
        if (old := read_marker(pull.body)) is not None
        and (old.action, old.model, old.environment, old.version)
        == ("promote", meta.model, meta.environment, meta.version)
    ]
    if not proposed:
        return None
    newest = max(proposed, key=lambda pull: pull.number)
    if newest.merged:
        return None
    return rejected_refusal(
        meta.model,
        meta.environment,
        meta.version,
        newest.number,
        newest.url,
        forge.closed_by(newest.number),
        newest.closed_at,
    )


def _gate_status(session: EnvSession, sha: str, decision: Decision, warnings: list[str]) -> None:
    """The gate as GitHub sees it: the `model-bot/gate` status of the pushed head. A branch
    protection rule requiring it keeps a head someone else pushed unmergeable until the bot
    gates it. Best effort: a token without `statuses: write` leaves a warning."""
    forge = session.forge
    assert forge is not None
    try:
        forge.set_status(
            sha,
            context=GATE_STATUS,
            state="success" if decision.passed else "failure",
            description=gate_summary(decision),
            target_url=None,
        )
    except Refused as error:
        warnings.append(f"the {GATE_STATUS} status was not set: {error}")


def _describes(pull: PullRequestInfo, plan: _Plan) -> bool:
    """The open PR's marker names this version (or it has none to say otherwise)."""
    old = read_marker(pull.body)
    return old is None or old.version == plan.meta.version


def _report_url(session: EnvSession, sha: str | None, path: str) -> str | None:
    if session.web_root is None or sha is None:
        return None
    return f"{session.web_root}/blob/{sha}/{path}"


def _open_pull(session: EnvSession, plan: _Plan, body: str, warnings: list[str]) -> PullRequestInfo:
    forge = session.forge
    assert forge is not None
    pr = forge.create_pull(title=plan.title, body=body, head=plan.branch, base=session.base)
    labels = _labels(plan)
    if add_labels(forge, pr.number, labels, warnings):
        pr = replace(pr, labels=tuple(dict.fromkeys([*pr.labels, *labels])))
    request_configured_reviewers(forge, plan.config, plan.meta.environment, pr.number, warnings)
    if plan.config.environment(plan.meta.environment).auto_merge:
        _arm_auto_merge(forge, session.base, pr.number, warnings)
    return pr


def _arm_auto_merge(forge: Forge, base: str, number: int, warnings: list[str]) -> None:
    """`auto_merge: true`: GitHub's own auto-merge, armed only where the base requires status
    checks or reviews; otherwise it would merge at once, before anyone looked: left to a
    person, and said."""
    required = forge.base_requires_checks(base)
    if required is False:
        warnings.append(
            f"auto-merge not armed: {base} requires no status checks or reviews, so GitHub would "
            "merge at once; protect it (e.g. require model-bot/gate) to let the bot arm it"
        )
        return
    if required is None:
        warnings.append(
            f"auto-merge not armed: {base}'s protection cannot be read with this token "
            "(it needs admin); arm it by hand"
        )
        return
    refused = forge.enable_auto_merge(number)
    if refused is not None:
        warnings.append(f"auto-merge not armed: {refused}")


def _labels(plan: _Plan) -> list[str]:
    return [*plan.config.labels, f"env:{plan.meta.environment}"]


def _ensure_labels(
    session: EnvSession, plan: _Plan, pr: PullRequestInfo, warnings: list[str]
) -> None:
    """Add the labels the PR lacks: no request when it has them all. A PR with none of them
    was left by a run that stopped right after opening it, before labelling it and asking
    for review: finish that run's work, reviewers included."""
    wanted = _labels(plan)
    missing = [label for label in wanted if label not in pr.labels]
    if not missing:
        return
    forge = session.forge
    assert forge is not None
    if not add_labels(forge, pr.number, missing, warnings):
        return
    if len(missing) == len(wanted):
        request_configured_reviewers(forge, plan.config, plan.meta.environment, pr.number, warnings)


def _update_pull(
    session: EnvSession,
    plan: _Plan,
    open_pr: PullRequestInfo,
    body: str,
    *,
    comment_once: bool = False,
) -> PullRequestInfo:
    """Retitle the PR and replace its body; say so when the version changed. With
    `comment_once` (finishing another run's work) the comment is skipped when it is there."""
    forge = session.forge
    assert forge is not None
    forge.update_pull(open_pr.number, title=plan.title, body=body)
    old = read_marker(open_pr.body)
    if old is not None and old.version != plan.meta.version:
        text = (
            f"model-bot: superseded `{old.version}` by `{plan.meta.version}`; this pull request "
            f"now promotes {plan.meta.model} `{plan.meta.version}` to {plan.meta.environment}."
        )
        if not comment_once or all(c.body != text for c in forge.comments(open_pr.number)):
            posted = forge.comment(open_pr.number, text)
            _keep_the_first(forge, open_pr.number, posted)
    return replace(open_pr, title=plan.title, body=body)


def _keep_the_first(forge: Forge, number: int, posted: CommentInfo) -> None:
    """Two runs superseding at once can both post the note (each read the comments before
    the other wrote): the one whose comment came second deletes its own, so one stays."""
    earlier = [c for c in forge.comments(number) if c.body == posted.body and c.id < posted.id]
    if earlier:
        forge.delete_comment(posted.id)


# --------------------------------------------------------------------------- a blocked gate


def _notify_blocked(
    result: PromoteResult,
    evidence: Evidence,
    policy: Policy,
    options: PromoteOptions,
    forge_for: ForgeFor | None,
) -> PromoteResult:
    """`on_fail: block_and_notify`: comment the decision on `--notify`, else on the open
    promotion PR of this model and environment. Best effort: the answer stays no."""
    if policy.for_environment(options.environment).on_fail != "block_and_notify":
        if options.notify is not None:
            return replace(
                result,
                warnings=(
                    f"{options.notify} was not notified: the policy's on_fail is block "
                    "(use block_and_notify to comment the decision)",
                ),
            )
        return result
    if options.notify is None and (options.local or options.env_repo is None):
        return result  # a local env repo has no pull requests to tell
    if forge_for is None:
        return replace(
            result, warnings=("not notified: GITHUB_TOKEN is not set (on_fail: block_and_notify)",)
        )
    report = gate_report_markdown(evidence, result.decision)
    where = str(options.notify) if options.notify is not None else "the open promotion PR"
    try:
        if options.notify is not None:
            repo, number = options.notify.repo, options.notify.number
        else:
            assert options.env_repo is not None
            repo = options.env_repo
            found = _open_promotion(forge_for(repo), evidence, options.environment)
            if found is None:
                return result
            number = found.number
        where = f"{repo}#{number}"
        if options.dry_run:
            return replace(result, reason=f"{result.reason}; dry run: {where} would be notified")
        forge_for(repo).comment(number, report)
    except BotError as error:  # the answer is still no: say so, keep exit 1
        return replace(result, warnings=(f"could not notify {where}: {error}",))
    return replace(result, notified=where)


def _open_promotion(forge: Forge, evidence: Evidence, environment: str) -> PullRequestInfo | None:
    try:
        model = check_dns_label(evidence.model.name, "model")
    except ValueError:
        return None
    return forge.find_open_pull(promote_branch(environment, model))


__all__ = ["PromoteOptions", "PromoteResult", "plan_promotion", "promote"]
