"""`model-bot promote`: gate, render, commit on the bot's branch, open or update the PR.

The orchestration is here; every decision it makes is a pure function elsewhere (gate,
render, proposal) and every side effect goes through an adapter (EnvRepo, Forge).
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from bot.adapters.git import EnvRepo, GitAuth
from bot.adapters.github import Forge, ForgeSettings, PullRequestInfo
from bot.core.config import CONFIG_FILE, DEFAULT_CONFIG, BotConfig, parse_config
from bot.core.errors import ExternalError, InvalidInput, Problem
from bot.core.evidence import Evidence
from bot.core.gate import Decision, evaluate
from bot.core.names import check_dns_label, check_version, fill_path, promote_branch
from bot.core.policy import Policy
from bot.core.render import (
    TEMPLATE_NAMES,
    RenderRequest,
    candidate_paths,
    model_dir,
    query_context,
    read_current_version,
    render_change,
)
from bot.core.target import EnvRepoTarget
from bot.text.proposal import (
    ProposalMeta,
    commit_message,
    promotion_report,
    promotion_title,
    pull_request_body,
    read_marker,
    unified_diff,
)

Outcome = Literal["created", "updated", "unchanged", "blocked"]
PUSH_ATTEMPTS = 3


@dataclass(frozen=True)
class PromoteOptions:
    environment: str
    target: EnvRepoTarget
    base: str | None = None
    dry_run: bool = False
    no_pr: bool = False
    token: str | None = field(default=None, repr=False)
    image: str | None = None
    policy_source: str | None = None
    workdir: Path | None = None


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


ForgeFactory = Callable[[ForgeSettings], Forge]


def html_root(api_url: str) -> str:
    """Where a repository's web pages live, from the API URL (github.com or GHES)."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


@dataclass
class EnvSession:
    """The connections of one run: the working clone and, in GitHub mode, the forge."""

    repo: EnvRepo
    base: str
    forge: Forge | None
    web_root: str | None


def open_session(
    options: PromoteOptions, sparse: list[str], forge_factory: ForgeFactory = Forge
) -> EnvSession:
    target = options.target
    workdir = options.workdir or Path(tempfile.gettempdir())
    if target.is_local:
        repo = EnvRepo.clone(
            target.location,
            base=options.base or "main",
            sparse_paths=sparse,
            workdir=workdir,
            repo_field="--env-repo",
        )
        return EnvSession(repo, repo.base, None, None)
    if not options.token:
        raise InvalidInput.one(
            "GITHUB_TOKEN",
            "",
            f"not set: a token with contents and pull-requests write access to {target.repo} "
            "is needed (or use a local --env-repo path)",
        )
    settings = ForgeSettings.from_env(target.repo, options.token, target.api_url)
    forge = forge_factory(settings)
    clone_url = forge.clone_url()
    base = options.base or forge.default_branch()
    repo = EnvRepo.clone(
        clone_url,
        base=base,
        sparse_paths=sparse,
        workdir=workdir,
        auth=GitAuth(options.token),
        repo_field="--env-repo",
    )
    return EnvSession(repo, base, forge, f"{html_root(settings.api_url)}/{target.repo}")


def read_config(repo: EnvRepo) -> BotConfig:
    data = repo.read(CONFIG_FILE)
    if data is None:
        return BotConfig()
    return parse_config(data.decode("utf-8", errors="replace"), CONFIG_FILE)


def check_environment(config: BotConfig, repo: EnvRepo, environment: str) -> None:
    if config.environments is not None:
        if environment not in config.environments:
            known = ", ".join(sorted(config.environments)) or "none"
            raise InvalidInput.one(
                "--environment",
                "",
                f"unknown environment {environment!r} (known: {known}; add it under "
                f"environments in {CONFIG_FILE})",
            )
        return
    folder = fill_path(config.paths.model_dir, environment=environment, model="x", version="x")
    env_root = posixpath.dirname(folder)
    if not repo.exists(env_root):
        raise InvalidInput.one(
            "--environment",
            "",
            f"unknown environment {environment!r}: {env_root}/ does not exist in the env repo "
            f"(create it, or list environments in {CONFIG_FILE})",
        )


def read_templates(repo: EnvRepo, config: BotConfig) -> dict[str, str]:
    found = {}
    for name in TEMPLATE_NAMES:
        data = repo.read(f"{config.templates_dir}/{name}")
        if data is not None:
            found[name] = data.decode("utf-8")
    return found


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


def plan_promotion(
    repo: EnvRepo, evidence: Evidence, decision: Decision, policy: Policy, options: PromoteOptions
) -> _Plan:
    model = _checked(check_dns_label, evidence.model.name, "model.name", "model")
    version = _checked(check_version, evidence.model.version, "model.version")
    environment = options.environment
    config = read_config(repo)
    check_environment(config, repo, environment)
    folder = model_dir(config, environment, model, version)
    report_path = fill_path(
        config.paths.report, environment=environment, model=model, version=version
    )
    repo.add_sparse_paths([folder, posixpath.dirname(report_path), config.templates_dir])

    existing = {
        p: data
        for p in candidate_paths(config, environment, model, version)
        if (data := repo.read(p)) is not None
    }
    current = read_current_version(
        existing, config, image_repository=evidence.model.image or options.image
    )
    previous = current.version if current else None
    effective = policy.for_environment(environment)
    try:
        change = render_change(
            RenderRequest(
                model=model,
                version=version,
                environment=environment,
                policy=effective,
                config=config,
                image_repository=evidence.model.image or options.image,
                image_tag=evidence.model.tag,
                model_uri=evidence.model.uri,
            ),
            existing,
            read_templates(repo, config),
        )
    except InvalidInput as error:
        raise _from_evidence(error, image_from_evidence=bool(evidence.model.image)) from None
    context = query_context(config, model, environment)
    meta = ProposalMeta("promote", model, environment, version, previous)
    report = promotion_report(
        evidence,
        decision,
        effective,
        context,
        previous,
        list(change.changed),
        deleted=list(change.deleted),
    )
    files: dict[str, bytes | None] = dict(change.files)
    files.update(dict.fromkeys(change.deleted))  # e.g. a bot-owned AnalysisTemplate no longer used
    files[report_path] = report.encode("utf-8")
    before: dict[str, bytes | None] = {path: existing.get(path) for path in files}
    before[report_path] = repo.read(report_path)
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
    )


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
    *,
    forge_factory: ForgeFactory = Forge,
) -> PromoteResult:
    decision = evaluate(policy, evidence, options.environment, policy_source=options.policy_source)
    if not decision.passed:
        return PromoteResult(
            "blocked",
            decision,
            local=options.target.is_local,
            dry_run=options.dry_run,
            reason="the gates failed: nothing was opened",
        )
    sparse = initial_sparse_paths(evidence, options.environment)
    session = open_session(options, sparse, forge_factory)
    try:
        return _promote(session, evidence, decision, policy, options)
    finally:
        session.repo.close()


def _promote(
    session: EnvSession,
    evidence: Evidence,
    decision: Decision,
    policy: Policy,
    options: PromoteOptions,
) -> PromoteResult:
    repo = session.repo
    plan = plan_promotion(repo, evidence, decision, policy, options)
    use_pr = session.forge is not None and not options.no_pr
    base_result = PromoteResult(
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
        return replace(base_result, reason=reason)

    diff = unified_diff(plan.before, plan.files)
    warnings: list[str]
    for _attempt in range(PUSH_ATTEMPTS):
        remote_sha = repo.remote_branch_sha(plan.branch)
        open_pr = _find_open_pull(session, plan) if use_pr else None
        body = pull_request_body(
            plan.report, plan.meta, _report_url(session, remote_sha, plan.report_path)
        )
        result = replace(base_result, diff=diff, body=body, pull_request=open_pr)
        if remote_sha is not None and _branch_holds(repo, plan):
            if open_pr is not None and _describes_older_version(open_pr, plan):
                # An earlier run pushed this change but stopped before updating the PR (or a
                # twin run pushed the very same commit first): finish its work.
                if options.dry_run:
                    return replace(
                        result,
                        outcome="updated",
                        reason="dry run: the pull request would be updated",
                    )
                warnings = []
                pr = _update_pull(session, plan, open_pr, body, comment_once=True)
                _ensure_labels(session, plan, pr, warnings)
                return replace(
                    result,
                    outcome="updated",
                    commit=remote_sha,
                    pull_request=pr,
                    warnings=tuple(warnings),
                )
            if not use_pr or open_pr is not None:
                held = "the open pull request" if open_pr else plan.branch
                warnings = []
                if open_pr is not None and not options.dry_run:
                    # An earlier run may have stopped between opening the PR and labelling it.
                    _ensure_labels(session, plan, open_pr, warnings)
                return replace(
                    result,
                    commit=remote_sha,
                    reason=f"{held} already holds exactly this change",
                    warnings=tuple(warnings),
                )
            if options.dry_run:
                return replace(
                    result, outcome="created", reason="dry run: the pull request would be opened"
                )
            # An earlier run stopped between push and PR creation: finish its work.
            warnings = []
            pr = _open_pull(session, plan, body, warnings)
            return replace(
                result,
                outcome="created",
                commit=remote_sha,
                pull_request=pr,
                warnings=tuple(warnings),
            )
        existed = open_pr is not None or (not use_pr and remote_sha is not None)
        outcome: Outcome = "updated" if existed else "created"
        if options.dry_run:
            return replace(result, outcome=outcome, reason="dry run: nothing was pushed or opened")

        sha = _commit_plan(repo, plan, evidence, session.base)
        if sha is None:
            return replace(result, diff="", reason="the base already holds this change")
        pushed = repo.push(plan.branch, expected_remote_sha=remote_sha)
        if pushed.status == "rejected-stale":
            continue  # another run moved the branch: read it again and converge
        if not pushed.ok:
            raise ExternalError(f"could not push {plan.branch}: {pushed.message}")
        body = pull_request_body(
            plan.report, plan.meta, _report_url(session, sha, plan.report_path)
        )
        result = replace(result, outcome=outcome, commit=sha, body=body)
        if not use_pr:
            return result
        warnings = []
        if open_pr is not None:
            pr = _update_pull(session, plan, open_pr, body)
            _ensure_labels(session, plan, pr, warnings)
        else:
            pr = _open_pull(session, plan, body, warnings)
        return replace(result, pull_request=pr, warnings=tuple(warnings))
    raise ExternalError(
        f"{plan.branch} kept moving while pushing ({PUSH_ATTEMPTS} attempts): another run is "
        "promoting the same model and environment; run again when it is done"
    )


def _find_open_pull(session: EnvSession, plan: _Plan) -> PullRequestInfo | None:
    assert session.forge is not None
    return session.forge.find_open_pull(plan.branch, session.base)


def _branch_holds(repo: EnvRepo, plan: _Plan) -> bool:
    """The bot's remote branch already carries exactly the planned files (and lacks the
    ones the plan deletes)."""
    if repo.fetch_branch(plan.branch) is None:
        return False
    held = repo.tree_of(f"origin/{plan.branch}", list(plan.files))
    return all(held.get(path) == data for path, data in plan.files.items())


def _commit_plan(repo: EnvRepo, plan: _Plan, evidence: Evidence, base: str) -> str | None:
    repo.start_branch(plan.branch, f"origin/{base}")
    for path, data in plan.files.items():
        if data is None:
            repo.delete(path)
        else:
            repo.write(path, data)
    subject, trailers = commit_message(
        plan.title,
        plan.meta,
        {"MLflow-Run": evidence.lineage.run_id, "Code-Commit": evidence.lineage.code_commit},
    )
    author = (plan.config.commit_author.name, plan.config.commit_author.email)
    message = f"{subject}\n\nGates passed; evaluation report: {plan.report_path}"
    return repo.commit(message, trailers, author, list(plan.files))


def _report_url(session: EnvSession, sha: str | None, path: str) -> str | None:
    if session.web_root is None or sha is None:
        return None
    return f"{session.web_root}/blob/{sha}/{path}"


def _open_pull(session: EnvSession, plan: _Plan, body: str, warnings: list[str]) -> PullRequestInfo:
    forge = session.forge
    assert forge is not None
    pr = forge.create_pull(title=plan.title, body=body, head=plan.branch, base=session.base)
    labels = _labels(plan)
    forge.add_labels(pr.number, labels)
    pr = replace(pr, labels=tuple(dict.fromkeys([*pr.labels, *labels])))
    _request_reviewers(session, plan, pr, warnings)
    return pr


def _request_reviewers(
    session: EnvSession, plan: _Plan, pr: PullRequestInfo, warnings: list[str]
) -> None:
    assert session.forge is not None
    request_configured_reviewers(
        session.forge, plan.config, plan.meta.environment, pr.number, warnings
    )


def request_configured_reviewers(
    forge: Forge, config: BotConfig, environment: str, number: int, warnings: list[str]
) -> None:
    """Reviewers and team reviewers from `.model-bot.yaml` (the environment's win). A
    reviewer GitHub refuses leaves the PR standing: a warning, not a failure."""
    env_config = config.environment(environment)
    users = env_config.reviewers if env_config.reviewers is not None else config.reviewers
    teams = (
        env_config.team_reviewers
        if env_config.team_reviewers is not None
        else config.team_reviewers
    )
    try:
        forge.request_reviewers(number, users, teams)
    except ExternalError as error:
        warnings.append(f"reviewers not requested: {error}")


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
    assert session.forge is not None
    try:
        session.forge.add_labels(pr.number, missing)
    except ExternalError as error:
        warnings.append(f"labels not added: {error}")
        return
    if len(missing) == len(wanted):
        _request_reviewers(session, plan, pr, warnings)


def _describes_older_version(pr: PullRequestInfo, plan: _Plan) -> bool:
    """The open PR's marker names another version than the one its branch now holds."""
    old = read_marker(pr.body)
    return old is not None and old.version != plan.meta.version


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
            forge.comment(open_pr.number, text)
    return replace(open_pr, title=plan.title, body=body)


@dataclass(frozen=True)
class NotifyTarget:
    """`--notify OWNER/REPO#N`: the issue or pull request to tell about a blocked decision."""

    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"


def parse_notify_target(text: str, token: str | None) -> NotifyTarget:
    """Check `--notify` before anything runs, so a typo never hides the gate's answer."""
    repo, _, number = text.strip().partition("#")
    owner, _, name = repo.partition("/")
    if not number.isdigit() or int(number) < 1 or not owner or not name or "/" in name:
        raise InvalidInput.one("--notify", "", f"expected OWNER/REPO#NUMBER, got {text!r}")
    if not token:
        raise InvalidInput.one(
            "--notify", "", "needs GITHUB_TOKEN (issues or pull-requests write access) to comment"
        )
    return NotifyTarget(repo, int(number))


def notify_decision(
    target: NotifyTarget,
    body: str,
    token: str,
    api_url: str | None,
    forge_factory: ForgeFactory = Forge,
) -> None:
    """Comment the blocked decision on the `--notify` issue or pull request."""
    forge = forge_factory(ForgeSettings.from_env(target.repo, token, api_url))
    forge.comment(target.number, body)


__all__ = [
    "NotifyTarget",
    "Outcome",
    "PromoteOptions",
    "PromoteResult",
    "html_root",
    "notify_decision",
    "parse_notify_target",
    "promote",
]
