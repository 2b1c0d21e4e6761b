"""`model-bot rollback`: put a model's environment folder back to an earlier version, as a PR.

One implementation serves `model-bot rollback`, the failure path of `model-bot analyze` and
ChatOps' `/rollback`. Versions come from the environment repo, never from arguments: the
current version from the model's folder, the promotion that deployed it from the trailers of
the commits touching that folder, the target from the promotion's `Previous-Version` (or
`--to`).

How the folder goes back (`method`):

* `revert`: `git revert` of the promotion's merge commit (on GitHub the bot's commit reaches
  the base through one: the first-parent commit of the base that brought the promotion in),
  or of the promotion commit itself when it sits on the base (squash, rebase, local mode).
  Only when it applies cleanly, touches nothing but the model folder and the promotion's
  report, and leaves the folder declaring the target version. The committed evaluation
  report stays.
* `restore`: otherwise the folder's files as they were at the target (the commit before the
  promotion, or the newest commit declaring `--to`), byte for byte.

The text of the PR (title, body, comments) is built by pure functions at the end of this
module; untrusted text (the reason, who asked) goes through `bot.text.report.escape`.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from bot.adapters.git import CommitInfo, EnvRepo
from bot.adapters.github import Forge, ForgeSettings, PullRequestInfo
from bot.core.config import BotConfig
from bot.core.errors import ExternalError, InvalidInput
from bot.core.names import (
    check_version,
    fill_path,
    promote_branch,
    require_environment,
    require_model,
    require_version,
    rollback_branch,
)
from bot.core.policy import Policy
from bot.core.render import candidate_paths, read_current_version
from bot.core.target import EnvRepoTarget
from bot.flows.promote import (
    EnvSession,
    PromoteOptions,
    check_environment,
    open_session,
    read_config,
    request_configured_reviewers,
)
from bot.text.proposal import ProposalMeta, pull_request_body, read_marker
from bot.text.report import code, escape, printable

Outcome = Literal["created", "updated", "unchanged"]
Method = Literal["revert", "restore", "none"]
ForgeFactory = Callable[[ForgeSettings], Forge]

HISTORY = 50  # commits touching the model folder read back (the clone deepens on demand)
MERGE_SEARCH = 100  # commits of the base searched for the merge that brought a promotion in
PUSH_ATTEMPTS = 3
REASON_TRAILER_LIMIT = 200
NO_REASON = "no reason given"
ARGO_ISSUE = "https://github.com/argoproj/argo-rollouts/issues/2168"


@dataclass(frozen=True)
class RollbackOptions:
    model: str
    environment: str
    target: EnvRepoTarget
    base: str | None = None
    to_version: str | None = None
    reason: str = ""
    dry_run: bool = False
    token: str | None = field(default=None, repr=False)
    auto_merge: bool = False
    evidence_markdown: str | None = None  # analysis evidence section for the PR body
    requested_by: str | None = None  # e.g. the ChatOps commenter's login
    workdir: Path | None = None


@dataclass(frozen=True)
class RollbackResult:
    outcome: Outcome
    branch: str
    from_version: str | None
    to_version: str | None
    method: Method
    pull_request: PullRequestInfo | None
    promotion_pull_request: PullRequestInfo | None
    commit: str | None
    diff: str
    title: str | None
    body: str | None
    reason: str
    merged: bool
    local: bool
    dry_run: bool
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- reading history


@dataclass(frozen=True)
class Deployment:
    """What the env repo says about one model in one environment."""

    config: BotConfig
    folder: str
    paths: tuple[str, ...]  # the folder's files a version is read from (`candidate_paths`)
    current: str | None  # the version the folder declares now
    promotion: CommitInfo | None  # the newest promote commit of `current`
    last_action: CommitInfo | None  # the newest bot commit (promote or rollback) of the model
    history: tuple[CommitInfo, ...]  # commits touching the folder, newest first

    @property
    def previous(self) -> str | None:
        """The version the promotion replaced (its `Previous-Version` trailer)."""
        if self.promotion is None:
            return None
        value = self.promotion.trailers.get("Previous-Version", "").strip()
        return None if value in ("", "none") else value


def _ours(commit: CommitInfo, model: str, environment: str) -> bool:
    trailers = commit.trailers
    return (
        trailers.get("Model") == model
        and trailers.get("Environment") == environment
        and trailers.get("Action") in ("promote", "rollback")
    )


def model_folder(config: BotConfig, environment: str, model: str) -> str:
    template = config.paths.model_dir
    if "{version}" in template:
        raise InvalidInput.one(
            ".model-bot.yaml",
            "paths.model_dir",
            f"{template!r} names the version: a rollback cannot tell which folder is deployed "
            "(keep one folder per model and environment)",
        )
    return fill_path(template, environment=environment, model=model, version="")


def declared_version(
    repo: EnvRepo, config: BotConfig, wanted: Sequence[str], folder: str, ref: str | None
) -> str | None:
    """The version the folder declares in the working tree (`ref` None) or at `ref`;
    `wanted` are the folder's `candidate_paths`."""
    if ref is None:
        files = {p: data for p in wanted if (data := repo.read(p)) is not None}
    else:
        tree = repo.tree_of(ref, [folder])
        files = {p: tree[p] for p in wanted if p in tree}
    current = read_current_version(files, config)
    return current.version if current else None


def read_deployment(repo: EnvRepo, environment: str, model: str) -> Deployment:
    """The config, the model's folder, its current version and the history behind it."""
    config = read_config(repo)
    check_environment(config, repo, environment)
    folder = model_folder(config, environment, model)
    repo.add_sparse_paths([folder])
    paths = tuple(candidate_paths(config, environment, model, ""))
    current = declared_version(repo, config, paths, folder, None)
    history = tuple(repo.log([folder], max_count=HISTORY))
    ours = [c for c in history if _ours(c, model, environment)]
    promotion = next(
        (
            c
            for c in ours
            if c.trailers.get("Action") == "promote" and c.trailers.get("Model-Version") == current
        ),
        None,
    )
    return Deployment(
        config=config,
        folder=folder,
        paths=paths,
        current=current,
        promotion=promotion,
        last_action=ours[0] if ours else None,
        history=history,
    )


def introducing_commit(commits: Sequence[CommitInfo], head: str, promotion: str) -> str | None:
    """The first-parent commit of `head`'s history that brought `promotion` in. Pure.

    Walking the first parents from `head`, it is the last commit that still has `promotion`
    among its ancestors: `promotion` itself when it sits on the base (squash, rebase, local
    mode), else the merge commit whose second parent carried it. None when `commits` (newest
    first, as `git log` lists them) do not reach that far.
    """
    by_sha = {c.sha: c for c in commits}
    if promotion not in by_sha:
        return None
    memo: dict[str, bool] = {}

    def contains(sha: str) -> bool:
        """`promotion` is `sha` or one of its ancestors (within `commits`)."""
        stack, seen = [sha], set()
        found = False
        while stack:
            item = stack.pop()
            if item in seen or item not in by_sha:
                continue
            if item in memo:
                found = found or memo[item]
                continue
            seen.add(item)
            if item == promotion:
                found = True
                break
            stack.extend(by_sha[item].parents)
        memo[sha] = found
        return found

    current = head
    if not contains(current):
        return None
    while True:
        commit = by_sha.get(current)
        if commit is None:
            return None
        if current == promotion:
            return current
        first = commit.parents[0] if commit.parents else None
        if first is None or not contains(first):
            return current
        current = first


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Plan:
    config: BotConfig
    folder: str
    paths: tuple[str, ...]
    branch: str
    bad: str
    target: str
    promotion: CommitInfo | None
    revert_sha: str | None  # the merge (or promotion) commit to revert; None: restore only
    restore_ref: str  # a commit whose folder holds the target state
    report_path: str | None  # the bad version's committed report (kept)
    distance: int  # how many version changes back the target is


@dataclass(frozen=True)
class _Nothing:
    """Nothing to roll back, and why."""

    reason: str
    current: str | None
    target: str | None


def plan_rollback(
    repo: EnvRepo, deployment: Deployment, options: RollbackOptions
) -> _Plan | _Nothing:
    model, environment = options.model, options.environment
    current = deployment.current
    if current is None:
        return _Nothing(
            f"{deployment.folder} declares no version of {model}: nothing to roll back",
            None,
            options.to_version,
        )
    bad = _valid_version(current, f"{deployment.folder}: the deployed version")
    last = deployment.last_action
    to = options.to_version
    if to is not None and to == bad:
        return _Nothing(f"{environment} already runs {model} {bad}", bad, to)
    if (
        to is None
        and last is not None
        and last.trailers.get("Action") == "rollback"
        and last.trailers.get("Model-Version") == bad
    ):
        return _Nothing(
            f"{model} in {environment} was already rolled back to {bad} "
            f"(commit {last.sha[:12]}); pass --to to go further back",
            bad,
            bad,
        )
    if to is None and last is not None and last.trailers.get("Model-Version") != bad:
        return _Nothing(
            f"{deployment.folder} declares {bad}, but the bot's last commit there "
            f"({last.sha[:12]}) set {last.trailers.get('Model-Version')}: the folder was "
            "changed by hand since; pass --to VERSION to say where to go",
            bad,
            None,
        )
    promotion = deployment.promotion
    report_path = (
        fill_path(deployment.config.paths.report, environment=environment, model=model, version=bad)
        if promotion is not None
        else None
    )

    def plan(target: str, revert_sha: str | None, restore_ref: str, distance: int) -> _Plan:
        return _Plan(
            config=deployment.config,
            folder=deployment.folder,
            paths=deployment.paths,
            branch=rollback_branch(environment, model),
            bad=bad,
            target=target,
            promotion=promotion,
            revert_sha=revert_sha,
            restore_ref=restore_ref,
            report_path=report_path,
            distance=distance,
        )

    previous = deployment.previous
    if to is None or (promotion is not None and to == previous):
        if promotion is None:
            return _Nothing(
                f"no promotion of {model} {bad} to {environment} found in the last {HISTORY} "
                f"commits touching {deployment.folder}: nothing to revert (pass --to VERSION "
                "to restore an earlier version)",
                bad,
                None,
            )
        if previous is None:
            return _Nothing(
                f"{model} {bad} was the first version promoted to {environment}: there is no "
                "earlier version to go back to",
                bad,
                None,
            )
        target = _valid_version(previous, f"commit {promotion.sha[:12]}: Previous-Version")
        if not promotion.parents:
            raise ExternalError(f"the promotion commit {promotion.sha[:12]} has no parent")
        merge = introducing_commit(
            repo.log([], max_count=MERGE_SEARCH), repo.head_sha(), promotion.sha
        )
        return plan(target, merge or promotion.sha, promotion.parents[0], 1)
    ref, distance = _find_version(repo, deployment, model, environment, to)
    return plan(to, None, ref, distance)


def _valid_version(value: str, where: str) -> str:
    try:
        return check_version(value)
    except ValueError as error:
        raise InvalidInput.one(where, "", str(error)) from None


def _find_version(
    repo: EnvRepo, deployment: Deployment, model: str, environment: str, version: str
) -> tuple[str, int]:
    """The newest commit whose folder declares `version`, and how many version changes back
    it is: by the trailers first, then by reading the folder at each commit."""
    history = deployment.history
    for index, commit in enumerate(history):
        if _ours(commit, model, environment) and commit.trailers.get("Model-Version") == version:
            return commit.sha, _changes_since(history[:index], model, environment)
    for index, commit in enumerate(history):
        declared = declared_version(
            repo, deployment.config, deployment.paths, deployment.folder, commit.sha
        )
        if declared == version:
            return commit.sha, _changes_since(history[:index], model, environment)
    known = sorted(
        {
            c.trailers["Model-Version"]
            for c in history
            if _ours(c, model, environment) and "Model-Version" in c.trailers
        }
    )
    raise InvalidInput.one(
        "--to",
        "",
        f"no version {version!r} of {model} found in the last {HISTORY} commits touching "
        f"{deployment.folder} (known: {', '.join(known) or 'none'})",
    )


def _changes_since(newer: Sequence[CommitInfo], model: str, environment: str) -> int:
    return max(1, sum(1 for c in newer if _ours(c, model, environment)))


# --------------------------------------------------------------------------- emergency path


@dataclass(frozen=True)
class WindowCheck:
    """Whether Argo Rollouts will take the rollback straight to the target (no steps)."""

    path: str
    revisions: int | None  # spec.rollbackWindow.revisions, None when absent
    distance: int
    problem: str | None = None  # why the window could not be read

    @property
    def fast(self) -> bool:
        return self.revisions is not None and self.revisions >= self.distance


def check_rollback_window(data: bytes | None, path: str, distance: int) -> WindowCheck:
    """Read `spec.rollbackWindow.revisions` of the Rollout in `data`. Pure."""
    from bot.core.yamledit import load_all

    if data is None:
        return WindowCheck(path, None, distance, "the target version has no Rollout there")
    try:
        documents = load_all(data, path)
    except InvalidInput as error:
        return WindowCheck(path, None, distance, f"it is not valid YAML ({error})")
    rollouts = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == "Rollout"]
    if not rollouts:
        return WindowCheck(path, None, distance, "it holds no Rollout")
    spec = rollouts[0].get("spec")
    window = spec.get("rollbackWindow") if isinstance(spec, Mapping) else None
    revisions = window.get("revisions") if isinstance(window, Mapping) else None
    if isinstance(revisions, bool) or not isinstance(revisions, int) or revisions < 1:
        return WindowCheck(path, None, distance)
    return WindowCheck(path, revisions, distance)


def emergency_note(check: WindowCheck, target: str) -> tuple[str, str | None]:
    """The PR body's emergency-path paragraph and, when the fast path is not assured, a
    one-line warning. Pure."""
    where = code(check.path, in_table=False)
    version = code(target, in_table=False)
    if check.fast:
        back = (
            "the previous revision" if check.distance == 1 else f"{check.distance} revisions back"
        )
        return (
            "Argo Rollouts will roll back without canary steps or analysis because the target "
            f"Rollout ({where}) sets `spec.rollbackWindow.revisions: {check.revisions}` and "
            f"version {version} is {back}, within that window: the Rollout goes straight to "
            f"the stable version (Argo Rollouts v1.4 or later; see [argoproj/argo-rollouts#2168]"
            f"({ARGO_ISSUE})).",
            None,
        )
    if check.revisions is not None:
        warning = (
            f"version {target} is {check.distance} revisions back, outside the Rollout's "
            f"rollbackWindow of {check.revisions} in {check.path}: Argo Rollouts will run the "
            "canary steps and analysis again"
        )
    elif check.problem is not None:
        warning = (
            f"could not check spec.rollbackWindow in {check.path} ({check.problem}): Argo "
            "Rollouts may run the canary steps and analysis again"
        )
    else:
        warning = (
            f"the target Rollout in {check.path} has no spec.rollbackWindow (an old render or "
            "a hand-written file): Argo Rollouts will run the canary steps and analysis again "
            "for this rollback"
        )
    return (
        f"⚠️ **Warning:** {escape(warning)}. To go straight back, abort the rollout "
        f"(`kubectl argo rollouts abort`) or render the Rollout with the bot, which sets "
        f"`rollbackWindow` ([argoproj/argo-rollouts#2168]({ARGO_ISSUE})).",
        warning,
    )


# --------------------------------------------------------------------------- the flow


def rollback(
    options: RollbackOptions,
    *,
    policy: Policy | None = None,
    forge_factory: ForgeFactory = Forge,
) -> RollbackResult:
    """Open (or update) the pull request that rolls `options.model` back; see the module."""
    _check_options(options)
    session = open_session(_session_options(options), [], forge_factory)
    try:
        return rollback_in_session(session, options, policy=policy)
    finally:
        session.repo.close()


def _check_options(options: RollbackOptions) -> None:
    require_model(options.model)
    require_environment(options.environment)
    if options.to_version is not None:
        require_version(options.to_version, "--to")


def _session_options(options: RollbackOptions) -> PromoteOptions:
    return PromoteOptions(
        environment=options.environment,
        target=options.target,
        base=options.base,
        dry_run=options.dry_run,
        token=options.token,
        workdir=options.workdir,
    )


def rollback_in_session(
    session: EnvSession,
    options: RollbackOptions,
    *,
    policy: Policy | None = None,
    deployment: Deployment | None = None,
) -> RollbackResult:
    """`rollback` on an open session (`model-bot analyze` shares its clone)."""
    _check_options(options)
    repo = session.repo
    if deployment is None:
        deployment = read_deployment(repo, options.environment, options.model)
    branch = rollback_branch(options.environment, options.model)
    auto_merge = options.auto_merge or (
        policy is not None
        and policy.for_environment(options.environment).on_regression == "rollback_and_merge"
    )
    plan = plan_rollback(repo, deployment, options)
    if isinstance(plan, _Nothing):
        return RollbackResult(
            outcome="unchanged",
            branch=branch,
            from_version=plan.current,
            to_version=plan.target,
            method="none",
            pull_request=None,
            promotion_pull_request=None,
            commit=None,
            diff="",
            title=None,
            body=None,
            reason=plan.reason,
            merged=False,
            local=session.forge is None,
            dry_run=options.dry_run,
        )
    return _Rollback(session, options, plan, auto_merge).run()


class _Rollback:
    """One rollback's writes: the commit, the push, the pull request and the comments."""

    def __init__(
        self, session: EnvSession, options: RollbackOptions, plan: _Plan, auto_merge: bool
    ) -> None:
        self.session = session
        self.repo = session.repo
        self.forge = session.forge
        self.options = options
        self.plan = plan
        self.auto_merge = auto_merge
        self.warnings: list[str] = []
        self.meta = ProposalMeta(
            "rollback", options.model, options.environment, plan.target, plan.bad
        )
        self.title = rollback_title(options.model, options.environment, plan.bad, plan.target)

    # ---------------------------------------------------------------- main line

    def run(self) -> RollbackResult:
        plan, repo = self.plan, self.repo
        sparse = [plan.folder]
        if plan.report_path:
            sparse.append(posixpath.dirname(plan.report_path))
        repo.add_sparse_paths(sparse)
        before = repo.tree_of(f"origin/{self.session.base}", [plan.folder])
        method, sha = self._commit()
        base_result = RollbackResult(
            outcome="unchanged",
            branch=plan.branch,
            from_version=plan.bad,
            to_version=plan.target,
            method=method,
            pull_request=None,
            promotion_pull_request=None,
            commit=None,
            diff="",
            title=self.title,
            body=None,
            reason="",
            merged=False,
            local=self.forge is None,
            dry_run=self.options.dry_run,
        )
        if sha is None:
            return replace(
                base_result,
                method="none",
                title=None,
                reason=f"{plan.folder} already holds {self.options.model} {plan.target}",
            )
        after = repo.tree_of(sha, [plan.folder])
        window = check_rollback_window(
            after.get(f"{plan.folder}/{plan.config.paths.rollout}"),
            f"{plan.folder}/{plan.config.paths.rollout}",
            plan.distance,
        )
        note, warning = emergency_note(window, plan.target)
        if warning:
            self.warnings.append(warning)
        promotion_pr = self._promotion_pull()
        body = rollback_body(
            self.meta,
            reason=self.options.reason,
            requested_by=self.options.requested_by,
            evidence_markdown=self.options.evidence_markdown,
            promotion_pull=promotion_pr,
            emergency=note,
            method=method,
            method_commit=plan.revert_sha if method == "revert" else plan.restore_ref,
            changed=files_changed(before, after),
        )
        result = replace(
            base_result,
            diff=folder_diff(before, after),
            body=body,
            promotion_pull_request=promotion_pr,
        )
        return self._publish(result, sha, after)

    def _commit(self) -> tuple[Method, str | None]:
        """Commit the rollback on the local branch; (method, sha or None when no change)."""
        plan, repo = self.plan, self.repo
        repo.start_branch(plan.branch, f"origin/{self.session.base}")
        method: Method = "restore"
        if plan.revert_sha is not None:
            roots = [plan.folder, *([plan.report_path] if plan.report_path else [])]
            if repo.revert(plan.revert_sha, roots):
                if plan.report_path:
                    repo.restore_paths("HEAD", [plan.report_path])  # keep the report
                if (
                    declared_version(repo, plan.config, plan.paths, plan.folder, None)
                    == plan.target
                ):
                    method = "revert"
                else:  # applied, but the folder moved on since: restore it exactly
                    repo.restore_paths("HEAD", roots)
        if method == "restore":
            repo.restore_paths(plan.restore_ref, [plan.folder])
        subject = self.title
        detail = (
            f"Reverts {plan.revert_sha}."
            if method == "revert"
            else f"Restores {plan.folder} as of {plan.restore_ref}."
        )
        trailers = {
            "Model": self.options.model,
            "Model-Version": plan.target,
            "Previous-Version": plan.bad,
            "Environment": self.options.environment,
            "Action": "rollback",
            "Reason": trailer_reason(self.options.reason),
        }
        if self.options.requested_by:
            trailers["Requested-By"] = trailer_reason(self.options.requested_by)
        author = (plan.config.commit_author.name, plan.config.commit_author.email)
        sha = repo.commit(f"{subject}\n\n{detail}", trailers, author, [plan.folder])
        return method, sha

    def _publish(
        self, result: RollbackResult, sha: str, after: Mapping[str, bytes]
    ) -> RollbackResult:
        plan, repo, forge = self.plan, self.repo, self.forge
        for _attempt in range(PUSH_ATTEMPTS):
            remote_sha = repo.remote_branch_sha(plan.branch)
            open_pr = (
                forge.find_open_pull(plan.branch, self.session.base) if forge is not None else None
            )
            result = replace(result, pull_request=open_pr)
            if remote_sha is not None and self._branch_holds(after):
                if forge is None:
                    return self._done(
                        replace(
                            result,
                            commit=remote_sha,
                            reason=f"{plan.branch} already holds exactly this rollback",
                        )
                    )
                if open_pr is not None:
                    return self._follow_up(replace(result, commit=remote_sha), open_pr)
                if self.options.dry_run:
                    return self._done(
                        replace(
                            result,
                            outcome="created",
                            reason="dry run: the pull request would be opened",
                        )
                    )
                # An earlier run stopped between push and PR creation: finish its work.
                return self._open(replace(result, outcome="created", commit=remote_sha))
            existed = open_pr is not None or (forge is None and remote_sha is not None)
            outcome: Outcome = "updated" if existed else "created"
            if self.options.dry_run:
                return self._done(
                    replace(result, outcome=outcome, reason="dry run: nothing was pushed or opened")
                )
            pushed = repo.push(plan.branch, expected_remote_sha=remote_sha)
            if pushed.status == "rejected-stale":
                continue  # another run moved the branch: read it again and converge
            if not pushed.ok:
                raise ExternalError(f"could not push {plan.branch}: {pushed.message}")
            result = replace(result, outcome=outcome, commit=sha)
            if forge is None:
                if self.auto_merge:
                    self.warnings.append(
                        "auto-merge needs a GitHub repository: the branch was pushed, merge it "
                        "yourself"
                    )
                return self._done(result)
            if open_pr is not None:
                return self._retarget(result, open_pr)
            return self._open(result)
        raise ExternalError(
            f"{plan.branch} kept moving while pushing ({PUSH_ATTEMPTS} attempts): another run "
            "is rolling back the same model and environment; run again when it is done"
        )

    def _done(self, result: RollbackResult) -> RollbackResult:
        return replace(result, warnings=tuple(self.warnings))

    def _branch_holds(self, after: Mapping[str, bytes]) -> bool:
        """The remote branch holds this rollback: the same files, from the same bad version
        (a newer bad version must be rolled back on top of the current base)."""
        plan, repo = self.plan, self.repo
        if repo.fetch_branch(plan.branch) is None:
            return False
        ref = f"origin/{plan.branch}"
        if repo.tree_of(ref, [plan.folder]) != dict(after):
            return False
        tip = repo.log([plan.folder], ref=ref, max_count=1)
        trailers = tip[0].trailers if tip else {}
        return (
            trailers.get("Action") == "rollback"
            and trailers.get("Model-Version") == plan.target
            and trailers.get("Previous-Version") == plan.bad
        )

    # ---------------------------------------------------------------- GitHub

    def _promotion_pull(self) -> PullRequestInfo | None:
        if self.forge is None:
            return None
        return find_promotion_pull(
            self.forge,
            self.options.environment,
            self.options.model,
            self.plan.bad,
            self.plan.promotion.sha if self.plan.promotion else None,
            self.plan.revert_sha,
        )

    def _open(self, result: RollbackResult) -> RollbackResult:
        forge = self.forge
        assert forge is not None and result.body is not None
        pr = forge.create_pull(
            title=self.title, body=result.body, head=self.plan.branch, base=self.session.base
        )
        labels = [*self.plan.config.rollback_labels, f"env:{self.options.environment}"]
        forge.add_labels(pr.number, labels)
        request_configured_reviewers(
            forge, self.plan.config, self.options.environment, pr.number, self.warnings
        )
        promotion = result.promotion_pull_request
        if promotion is not None:
            try:
                forge.comment(
                    promotion.number, backlink_comment(pr, self.plan.bad, self.plan.target)
                )
            except ExternalError as error:  # the revert PR stands; say so, do not fail
                self.warnings.append(f"no comment on the promotion PR: {error}")
        return self._merge(replace(result, pull_request=pr))

    def _retarget(self, result: RollbackResult, open_pr: PullRequestInfo) -> RollbackResult:
        """The open revert PR held another change: its branch was updated; say so."""
        forge = self.forge
        assert forge is not None and result.body is not None
        forge.update_pull(open_pr.number, title=self.title, body=result.body)
        old = read_marker(open_pr.body)
        if old is not None and (old.version, old.previous_version) != (
            self.plan.target,
            self.plan.bad,
        ):
            forge.comment(
                open_pr.number,
                f"model-bot: this pull request now rolls {self.options.model} back from "
                f"{code(self.plan.bad, in_table=False)} to "
                f"{code(self.plan.target, in_table=False)} (it rolled back "
                f"{code(old.previous_version or '?', in_table=False)} to "
                f"{code(old.version, in_table=False)}).",
            )
        pr = replace(open_pr, title=self.title, body=result.body)
        return self._merge(replace(result, pull_request=pr))

    def _follow_up(self, result: RollbackResult, open_pr: PullRequestInfo) -> RollbackResult:
        """The open revert PR already holds this change: add what is new as a comment."""
        forge = self.forge
        assert forge is not None
        text = followup_comment(
            self.options.reason, self.options.requested_by, self.options.evidence_markdown
        )
        held = f"the open pull request #{open_pr.number} already holds exactly this rollback"
        if text is None:
            return self._merge(replace(result, body=open_pr.body, reason=held))
        posted = [c.body for c in forge.comments(open_pr.number)]
        if text in posted or text in open_pr.body:
            return self._merge(
                replace(result, body=open_pr.body, reason=f"{held}; nothing new to add")
            )
        if self.options.dry_run:
            return self._done(
                replace(
                    result,
                    outcome="updated",
                    body=open_pr.body,
                    reason=f"dry run: {held}; the new evidence would be added as a comment",
                )
            )
        forge.comment(open_pr.number, text)
        return self._merge(
            replace(
                result,
                outcome="updated",
                body=open_pr.body,
                reason=f"{held}; the new reason and evidence were added as a comment",
            )
        )

    def _merge(self, result: RollbackResult) -> RollbackResult:
        pr = result.pull_request
        if not self.auto_merge or pr is None or self.forge is None or self.options.dry_run:
            return self._done(result)
        try:
            self.forge.merge_pull(pr.number, f"{self.title} (#{pr.number})")
        except ExternalError as error:  # the PR stands; a person can merge it
            self.warnings.append(f"auto-merge failed, merge #{pr.number} yourself: {error}")
            return self._done(result)
        return self._done(replace(result, merged=True))


def find_promotion_pull(
    forge: Forge,
    environment: str,
    model: str,
    version: str,
    promotion_sha: str | None,
    merge_sha: str | None,
) -> PullRequestInfo | None:
    """The merged promotion PR of `version`: by its merge or head commit, else its marker."""
    merged = [
        p for p in forge.find_pulls(promote_branch(environment, model), state="closed") if p.merged
    ]
    for pull in merged:
        if pull.merge_commit_sha is not None and pull.merge_commit_sha in (
            merge_sha,
            promotion_sha,
        ):
            return pull
        if promotion_sha is not None and pull.head_sha == promotion_sha:
            return pull
    matching = []
    for pull in merged:
        meta = read_marker(pull.body)
        if (
            meta is not None
            and meta.action == "promote"
            and (meta.model, meta.environment, meta.version) == (model, environment, version)
        ):
            matching.append(pull)
    return max(matching, key=lambda p: p.number) if matching else None


# --------------------------------------------------------------------------- text (pure)


def rollback_title(model: str, environment: str, bad: str, target: str) -> str:
    return f"Roll back {model} in {environment}: {bad} → {target}"


def trailer_reason(text: str) -> str:
    """Untrusted text as one trailer value: one line, no controls, bounded."""
    line = " ".join(printable(text).split())
    if len(line) > REASON_TRAILER_LIMIT:
        line = line[: REASON_TRAILER_LIMIT - 1].rstrip() + "…"
    return line or NO_REASON


def _reason_line(reason: str) -> str:
    text = " ".join(printable(reason).split())
    return escape(text) if text else f"_{NO_REASON}._"


def files_changed(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def rollback_body(
    meta: ProposalMeta,
    *,
    reason: str,
    requested_by: str | None,
    evidence_markdown: str | None,
    promotion_pull: PullRequestInfo | None,
    emergency: str,
    method: Method,
    method_commit: str | None,
    changed: Sequence[str],
) -> str:
    """The revert PR's body: why, who, the evidence, the promotion, the emergency path, what
    changes, and the hidden marker. Untrusted text is escaped; `evidence_markdown` is trusted
    markdown built by `bot.flows.analyze.evidence_markdown`."""
    bad = code(meta.previous_version or "?", in_table=False)
    target = code(meta.version, in_table=False)
    lines = [
        f"## ⏪ Roll back {code(meta.model, in_table=False)} in "
        f"{code(meta.environment, in_table=False)}: {bad} → {target}",
        "",
        f"**Reason:** {_reason_line(reason)}",
    ]
    if requested_by:
        lines.append(f"**Requested by:** {escape(' '.join(printable(requested_by).split()))}")
    if promotion_pull is not None:  # GitHub links #N (and cross-references the PR)
        lines.append(
            f"**Promotion:** #{promotion_pull.number} promoted {bad}; this pull request undoes it."
        )
    else:
        lines.append(f"**Promotion:** no merged promotion pull request of {bad} was found.")
    if evidence_markdown and evidence_markdown.strip():
        lines += ["", evidence_markdown.strip()]
    lines += ["", "### Emergency path", "", emergency, "", "### Change", ""]
    short = code(method_commit[:12], in_table=False) if method_commit else "?"
    if method == "revert":
        lines.append(
            f"`git revert` of {short} (the commit that brought {bad} in), limited to the "
            "model's folder; the evaluation report stays."
        )
    else:
        lines.append(
            f"The model's folder restored exactly as it was at {short} (which declares "
            f"{target}); the evaluation reports stay."
        )
    lines += [""] + [f"- {code(path, in_table=False)}" for path in changed]
    lines += [
        "",
        f"Merging this pull request rolls the model back; closing it leaves {bad} deployed.",
    ]
    return pull_request_body("\n".join(lines) + "\n", meta, None)


def followup_comment(
    reason: str, requested_by: str | None, evidence_markdown: str | None
) -> str | None:
    """What a repeated rollback request adds to the open revert PR; None when nothing."""
    has_reason = bool(" ".join(printable(reason).split()))
    has_evidence = bool(evidence_markdown and evidence_markdown.strip())
    if not has_reason and not has_evidence:
        return None
    who = (
        f" by {escape(' '.join(printable(requested_by).split()))}"
        if requested_by and requested_by.strip()
        else ""
    )
    lines = [f"model-bot: the rollback was requested again{who}.", ""]
    if has_reason:
        lines.append(f"**Reason:** {_reason_line(reason)}")
    if has_evidence:
        assert evidence_markdown is not None
        lines += ["", evidence_markdown.strip()]
    return "\n".join(lines) + "\n"


def backlink_comment(revert_pull: PullRequestInfo, bad: str, target: str) -> str:
    return (
        f"model-bot: a rollback of {code(bad, in_table=False)} to {code(target, in_table=False)} "
        f"is proposed in #{revert_pull.number}."
    )


def folder_diff(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> str:
    """`git diff`-like text from `before` to `after`, deletions included. Pure."""
    out: list[str] = []
    for path in files_changed(before, after):
        old, new = before.get(path), after.get(path)
        out.extend(
            difflib.unified_diff(
                [] if old is None else old.decode("utf-8", "replace").splitlines(keepends=True),
                [] if new is None else new.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile="/dev/null" if old is None else f"a/{path}",
                tofile="/dev/null" if new is None else f"b/{path}",
            )
        )
    text = "".join(out)
    return text if not text or text.endswith("\n") else text + "\n"


__all__ = [
    "Deployment",
    "RollbackOptions",
    "RollbackResult",
    "WindowCheck",
    "backlink_comment",
    "check_rollback_window",
    "emergency_note",
    "find_promotion_pull",
    "folder_diff",
    "followup_comment",
    "introducing_commit",
    "read_deployment",
    "rollback",
    "rollback_body",
    "rollback_in_session",
    "rollback_title",
    "trailer_reason",
]
