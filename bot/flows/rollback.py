"""`model-bot rollback`: put a model's environment folder back to an earlier version, as a PR.

One implementation serves `model-bot rollback`, the failure path of `model-bot analyze` and
ChatOps' `/rollback` (the CLI hands it to them). Versions come from the environment repo,
never from arguments: the current version from the model's folder, the promotion that
deployed it from the trailers of the commits touching that folder, the target from the
promotion's `Previous-Version` (or `--to`).

How the folder goes back (`method`):

* `revert`: `git revert` of the promotion's merge commit (on GitHub the bot's commit reaches
  the base through one: the first-parent commit of the base that brought the promotion in),
  or of the promotion commit itself when it sits on the base (squash, rebase, local mode).
  Only when it applies cleanly, touches nothing but the model folder and the promotion's
  report, and leaves the folder declaring the target version. The committed evaluation
  report stays.
* `restore`: otherwise the folder's files as they were at the target (the commit before the
  promotion, or the newest commit declaring `--to`), byte for byte.

The revert or restore is worked out in the local clone; the resulting folder is then
published as a change set through the session's publisher, by the same converge loop as a
promotion (`bot.flows.session.converge_branch`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.commits import CommitInfo, CommitRequest
from bot.core.config import BotConfig
from bot.core.deployment import Deployment, bot_commit_of, introducing_commit
from bot.core.errors import ExternalError, InvalidInput
from bot.core.evidence import evidence_file
from bot.core.ledger import Ledger
from bot.core.marker import ProposalMeta, read_marker
from bot.core.names import (
    check_version,
    fill_path,
    require_environment,
    require_model,
    require_version,
    rollback_branch,
)
from bot.core.policy import Policy
from bot.core.pulls import PullRequestInfo
from bot.core.render import (
    declares_model_version,
    read_current_version,
)
from bot.core.rollback import Method, RollbackOptions, RollbackResult
from bot.core.rollback_window import check_rollback_window
from bot.core.trailers import (
    IMAGE,
    IMAGE_TAG,
    NO_REASON,
    PREVIOUS_IMAGE_TAG,
    REASON,
    REQUESTED_BY,
    bot_trailers,
    format_commit_body,
    read_bot_commit,
    trailer_value,
)
from bot.flows.ledger import read_ledger
from bot.flows.session import (
    HISTORY,
    Converged,
    add_labels,
    converge_branch,
    find_promotion_pull,
    read_deployment,
    request_configured_reviewers,
)
from bot.flows.session import Record as _Record
from bot.flows.session import folder_files as _folder_files
from bot.flows.session import folder_version as _folder_version
from bot.flows.session import record_of as _record_of
from bot.flows.session import with_recorded_version as _with_recorded_version
from bot.ports import BranchSnapshot, EnvSession, SessionOpener, Workspace
from bot.text.diff import unified_diff
from bot.text.markdown import code
from bot.text.rollback import (
    backlink_comment,
    emergency_note,
    files_changed,
    followup_comment,
    followup_parts,
    rollback_body,
    rollback_title,
)

MERGE_SEARCH = 100  # commits of the base searched for the merge that brought a promotion in


# --------------------------------------------------------------------------- versions


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
    record: _Record = _Record({}, None)  # noqa: RUF009 - frozen; see `bot.flows.session.Record`
    target_tag: str | None = None  # the image tag the promotion replaced (tag-only folders)


@dataclass(frozen=True)
class _Nothing:
    """Nothing to roll back, and why."""

    reason: str
    current: str | None
    target: str | None


def _from_ledger(workspace: Workspace, deployment: Deployment, ledger: Ledger | None) -> Deployment:
    """The deployment with the ledger's newest claim about the running version as its
    promotion (and last action) where the folder's own history carries no trailers: the
    first-parent commit that brought it, its trailers those of the claim."""
    if ledger is None or deployment.current is None:
        return deployment
    claimed = [e for e in ledger.entries if e.action in ("promote", "rollback")]
    newest = next((e for e in claimed if e.version == deployment.current), None)
    if newest is None:
        return deployment
    found = workspace.commits([newest.commit]).get(newest.commit)
    if found is None:
        return deployment
    trailers = {
        "Model": deployment.model,
        "Environment": deployment.environment,
        "Action": newest.action,
        "Model-Version": deployment.current,
        "Previous-Version": newest.previous_version or "none",
        **found.trailers,
    }
    commit = replace(found, trailers=trailers)
    return replace(deployment, history=(commit, *deployment.history))


def plan_rollback(
    workspace: Workspace,
    deployment: Deployment,
    options: RollbackOptions,
    ledger: Ledger | None = None,
) -> _Plan | _Nothing:
    """What to roll back to and how. `ledger`: where the folder's history carries no
    trailers about the running version, the ledger's claim stands for them."""
    deployment = _from_ledger(workspace, deployment, ledger)
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
    if to is None and last is not None:
        last_commit, last_claim = last
        if last_claim.action == "rollback" and last_claim.version == bad:
            return _Nothing(
                f"{model} in {environment} was already rolled back to {bad} "
                f"(commit {last_commit.sha[:12]}); pass --to to go further back",
                bad,
                bad,
            )
        if last_claim.version != bad:
            return _Nothing(
                f"{deployment.folder} declares {bad}, but the bot's last commit there "
                f"({last_commit.sha[:12]}) set {last_claim.version}: the folder was "
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

    record = _record_of(deployment)

    def plan(
        target: str,
        revert_sha: str | None,
        restore_ref: str,
        distance: int,
        target_tag: str | None = None,
    ) -> _Plan:
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
            record=record,
            target_tag=target_tag,
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
            workspace.log([], max_count=MERGE_SEARCH), workspace.head_sha(), promotion.sha
        )
        target_tag = promotion.trailers.get(PREVIOUS_IMAGE_TAG, "").strip() or None
        return plan(target, merge or promotion.sha, promotion.parents[0], 1, target_tag)
    ref, distance = _find_version(workspace, deployment, to)
    return plan(to, None, ref, distance)


def _valid_version(value: str, where: str) -> str:
    try:
        return check_version(value)
    except ValueError as error:
        raise InvalidInput.one(where, "", str(error)) from None


def _find_version(workspace: Workspace, deployment: Deployment, version: str) -> tuple[str, int]:
    """The newest commit whose folder declares `version`, and how many version changes back
    it is: by the trailers first, then by reading the folder at each commit."""
    history = deployment.history
    model, environment = deployment.model, deployment.environment
    for index, commit in enumerate(history):
        claim = bot_commit_of(commit, model, environment)
        if claim is not None and claim.version == version:
            return commit.sha, _changes_since(history[:index], model, environment)
    record = _record_of(deployment)
    for index, commit in enumerate(history):
        files = _folder_files(workspace, deployment.folder, deployment.paths, commit.sha)
        declared = _folder_version(files, deployment.config, record)
        if declared is not None and declared.version == version:
            return commit.sha, _changes_since(history[:index], model, environment)
    known = sorted({claim.version for _, claim in deployment.bot_commits() if claim.version})
    raise InvalidInput.one(
        "--to",
        "",
        f"no version {version!r} of {model} found in the last {HISTORY} commits touching "
        f"{deployment.folder} (known: {', '.join(known) or 'none'})",
    )


def _changes_since(newer: Sequence[CommitInfo], model: str, environment: str) -> int:
    return max(1, sum(1 for c in newer if bot_commit_of(c, model, environment) is not None))


# --------------------------------------------------------------------------- the flow


def check_options(options: RollbackOptions) -> None:
    require_model(options.model)
    require_environment(options.environment)
    if options.to_version is not None:
        require_version(options.to_version, "--to")


def rollback(
    options: RollbackOptions, open_session: SessionOpener, *, policy: Policy | None = None
) -> RollbackResult:
    """Open (or update) the pull request that rolls `options.model` back; see the module."""
    check_options(options)
    session = open_session([])
    try:
        return rollback_in_session(session, options, policy=policy)
    finally:
        session.close()


def rollback_in_session(
    session: EnvSession,
    options: RollbackOptions,
    *,
    policy: Policy | None = None,
    deployment: Deployment | None = None,
) -> RollbackResult:
    """`rollback` on an open session (`model-bot analyze` shares its clone)."""
    check_options(options)
    workspace = session.workspace
    if deployment is None:
        deployment = read_deployment(workspace, options.environment, options.model)
    deployment = _with_recorded_version(workspace, deployment)
    auto_merge = options.auto_merge or (
        policy is not None
        and policy.for_environment(options.environment).on_regression == "rollback_and_merge"
    )
    ledger = None
    if deployment.promotion is None and deployment.current is not None:
        # No commit in the folder's history carries the bot's trailers about the running
        # version (a squash merge that dropped them): the ledger finds it (the marker in
        # the squash message, or the forge's pull request).
        ledger = read_ledger(session, options.model, options.environment).ledger
    plan = plan_rollback(workspace, deployment, options, ledger)
    if isinstance(plan, _Nothing):
        return RollbackResult(
            outcome="unchanged",
            branch=rollback_branch(options.environment, options.model),
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
    """One rollback's writes: the change set, the pull request and the comments."""

    def __init__(
        self, session: EnvSession, options: RollbackOptions, plan: _Plan, auto_merge: bool
    ) -> None:
        self.session = session
        self.workspace = session.workspace
        self.forge = session.forge
        self.options = options
        self.plan = plan
        self.auto_merge = auto_merge
        self.warnings: list[str] = []
        self.request: CommitRequest | None = None
        self.meta = ProposalMeta(
            "rollback", options.model, options.environment, plan.target, plan.bad
        )
        self.title = rollback_title(options.model, options.environment, plan.bad, plan.target)

    # ---------------------------------------------------------------- main line

    def run(self) -> RollbackResult:
        plan, workspace = self.plan, self.workspace
        sparse = [plan.folder]
        if plan.report_path:
            sparse.append(posixpath.dirname(plan.report_path))
        workspace.add_sparse_paths(sparse)
        before = workspace.tree_of(f"origin/{self.session.base}", [plan.folder])
        method, detail, after = self._work_out()
        result = RollbackResult(
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
        if after is None:
            return replace(
                result,
                method="none",
                title=None,
                reason=f"{plan.folder} already holds {self.options.model} {plan.target}",
            )
        rollout = f"{plan.folder}/{plan.config.paths.rollout}"
        window = check_rollback_window(after.get(rollout), rollout, plan.distance)
        note, warning = emergency_note(window, plan.target)
        if warning:
            self.warnings.append(warning)
        promotion_pr = self._promotion_pull()
        image_trailers = self._image_trailers(before, after)
        # The marker carries the commit's trailers: a squash merge that keeps only the PR's
        # description (or only its title: the forge is asked) still tells the ledger why.
        self.meta = replace(self.meta, trailers=self._trailers(image_trailers))
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
            result,
            diff=unified_diff(before, after),
            body=body,
            promotion_pull_request=promotion_pr,
        )
        files: dict[str, bytes | None] = {p: after.get(p) for p in set(before) | set(after)}
        return self._publish(result, detail, files, after, image_trailers)

    def _trailers(self, image_trailers: Mapping[str, str | None]) -> dict[str, str]:
        return bot_trailers(
            replace(self.meta, trailers=None),
            {
                **image_trailers,
                REASON: trailer_value(self.options.reason) or NO_REASON,
                REQUESTED_BY: self.options.requested_by,
            },
        )

    def _image_trailers(
        self, before: Mapping[str, bytes], after: Mapping[str, bytes]
    ) -> dict[str, str | None]:
        """Where the folder names only an image tag, which image and tags the rollback moves
        between (a later run reads the version back through them)."""
        plan = self.plan
        if declares_model_version(after, plan.config):
            return {}
        image = plan.record.image
        new = read_current_version(after, plan.config, image_repository=image)
        old = read_current_version(before, plan.config, image_repository=image)
        return {
            IMAGE: image,
            IMAGE_TAG: new.tag if new else None,
            PREVIOUS_IMAGE_TAG: old.tag if old else None,
        }

    def _work_out(self) -> tuple[Method, str, dict[str, bytes] | None]:
        """Revert (or restore) in the local clone: the method, the commit message's detail
        line and the folder it leaves (None when that changes nothing)."""
        plan, workspace = self.plan, self.workspace
        workspace.start_branch(plan.branch, f"origin/{self.session.base}")
        method: Method = "restore"
        if plan.revert_sha is not None:
            # The promotion also committed its report and evidence: they stay (history).
            kept = [plan.report_path, evidence_file(plan.report_path)] if plan.report_path else []
            roots = [plan.folder, *kept]
            if workspace.revert(plan.revert_sha, roots):
                if kept:
                    workspace.restore_paths("HEAD", kept)
                files = _folder_files(
                    workspace, plan.folder, plan.paths, None, also=[plan.restore_ref]
                )
                extra = {plan.target_tag: plan.target} if plan.target_tag else None
                declared = _folder_version(files, plan.config, plan.record, extra)
                if declared is not None and declared.version == plan.target:
                    method = "revert"
                else:  # applied, but the folder moved on since: restore it exactly
                    workspace.restore_paths("HEAD", roots)
        if method == "restore":
            workspace.restore_paths(plan.restore_ref, [plan.folder])
        detail = (
            f"Reverts {plan.revert_sha}."
            if method == "revert"
            else f"Restores {plan.folder} as of {plan.restore_ref}."
        )
        scratch = workspace.commit(self.title, {}, self._author(), [plan.folder])
        if scratch is None:
            return method, detail, None
        return method, detail, workspace.tree_of(scratch, [plan.folder])

    def _author(self) -> tuple[str, str]:
        author = self.plan.config.commit_author
        return author.name, author.email

    def _publish(
        self,
        result: RollbackResult,
        detail: str,
        files: Mapping[str, bytes | None],
        after: Mapping[str, bytes],
        image_trailers: Mapping[str, str | None],
    ) -> RollbackResult:
        plan = self.plan
        request = CommitRequest(
            branch=plan.branch,
            base=self.session.base,
            files=files,
            subject=self.title,
            body=detail,
            trailers=self._trailers(image_trailers),
            author=self._author(),
        )
        self.request = request
        converged = converge_branch(
            self.session,
            request,
            watched=[plan.folder],
            holds=lambda held: self._holds(held, after),
            describes=self._describes,
            uses_pulls=self.forge is not None,
            dry_run=self.options.dry_run,
            noun="rollback",
            busy="rolling back the same model and environment",
        )
        return self._act(result, converged)

    def _holds(self, held: BranchSnapshot, after: Mapping[str, bytes]) -> bool:
        """The remote branch holds this rollback: the same files, from the same bad version
        (a newer bad version must be rolled back on top of the current base)."""
        if dict(held.files) != dict(after):
            return False
        claim = read_bot_commit(held.trailers)
        return (
            claim is not None
            and claim.action == "rollback"
            and claim.version == self.plan.target
            and claim.previous_version == self.plan.bad
        )

    def _describes(self, pull: PullRequestInfo) -> bool:
        old = read_marker(pull.body)
        return old is None or (old.version, old.previous_version) == (
            self.plan.target,
            self.plan.bad,
        )

    def _act(self, result: RollbackResult, converged: Converged) -> RollbackResult:
        chosen = converged.decision
        result = replace(
            result,
            outcome=chosen.outcome,
            reason=chosen.reason,
            pull_request=converged.open_pull,
            commit=converged.commit,
        )
        if chosen.action == "none":
            return self._done(replace(result, method="none", title=None, commit=None))
        if chosen.action == "held":
            if converged.open_pull is not None:
                return self._follow_up(result, converged.open_pull)
            return self._done(result)
        if self.options.dry_run:
            return self._done(result)
        if chosen.action == "push" and self.forge is None:
            if self.auto_merge:
                return self._done(self._merge_locally(result))
            return self._done(result)
        if converged.open_pull is not None:
            return self._retarget(result, converged.open_pull)
        return self._open(result)

    def _merge_locally(self, result: RollbackResult) -> RollbackResult:
        """Local mode: no forge merges a pull request, so the bot merges its rollback branch
        into the base itself (a merge commit; a conflict is left to a person, and said)."""
        merger = self.session.merger
        if merger is None:
            self.warnings.append(
                "auto-merge needs a merger: the branch was pushed, merge it yourself"
            )
            return result
        author = self.plan.config.commit_author
        message = (
            f"Merge branch '{self.plan.branch}'\n\n"
            f"auto-merge of a rollback in {self.options.environment}: merged by model-bot in "
            "local mode."
        )
        merged = merger.merge_into_base(self.plan.branch, message, (author.name, author.email))
        if not merged.merged:
            self.warnings.append(
                f"auto-merge refused: {merged.refused}; merge {self.plan.branch} yourself"
            )
            return result
        return replace(result, merged=True)

    def _done(self, result: RollbackResult) -> RollbackResult:
        return replace(result, warnings=tuple(self.warnings))

    # ---------------------------------------------------------------- the forge

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
        add_labels(forge, pr.number, labels, self.warnings)
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
        shown = "\n".join([open_pr.body, *posted])
        parts = followup_parts(self.options.reason, self.options.evidence_markdown)
        if text in posted or all(part in shown for part in parts):
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
        assert self.request is not None
        merged = self.forge.merge_pull(
            pr.number,
            f"{self.title} (#{pr.number})",
            format_commit_body(self.request.body, self.request.trailers),
        )
        if not merged.merged:  # a rule of the repository said no: the PR stands for a person
            return self._done(
                replace(
                    result,
                    outcome="blocked",
                    reason=f"#{pr.number} was not merged: {merged.refused}",
                )
            )
        return self._done(replace(result, merged=True))


__all__ = ["plan_rollback", "rollback", "rollback_in_session"]
