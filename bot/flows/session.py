"""What every flow shares on an open `EnvSession`: reading the env repo's configuration and a
model's deployment, the one converge loop that publishes a change on a bot branch, and the
forge look-ups promote, rollback and analyze have in common.

Flows import this module, never each other.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.commits import CommitRequest
from bot.core.config import CONFIG_FILE, BotConfig, config_from_bytes
from bot.core.converge import (
    BASE_HOLDS,
    BranchDecision,
    BranchView,
    decide_branch,
    decide_rebuild,
    decide_stale,
)
from bot.core.deployment import Deployment
from bot.core.errors import ExternalError, InvalidInput, Refused
from bot.core.marker import read_marker
from bot.core.names import fill_path, promote_branch
from bot.core.pulls import PullRequestInfo
from bot.core.render import (
    TEMPLATE_NAMES,
    CurrentVersion,
    candidate_paths,
    read_current_version,
    recorded_image,
    recorded_versions,
)
from bot.ports import BranchSnapshot, EnvSession, Forge, Workspace

_OPENS = ("push", "open-pull")  # decisions that end in a new pull request when none is open
PUSH_ATTEMPTS = 3  # reads and pushes of one branch before giving up to a concurrent run
HISTORY = 50  # commits touching a model's folder read back (the clone deepens on demand)


# --------------------------------------------------------------------------- the env repo


def read_config(workspace: Workspace) -> BotConfig:
    """The env repo's `.model-bot.yaml` (base branch), or the defaults."""
    return config_from_bytes(workspace.read(CONFIG_FILE))


def check_environment(config: BotConfig, workspace: Workspace, environment: str) -> None:
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
    if not workspace.exists(env_root):
        raise InvalidInput.one(
            "--environment",
            "",
            f"unknown environment {environment!r}: {env_root}/ does not exist in the env repo "
            f"(create it, or list environments in {CONFIG_FILE})",
        )


def read_templates(workspace: Workspace, config: BotConfig) -> dict[str, str]:
    """The env repo's template overrides (name -> text)."""
    found = {}
    for name in TEMPLATE_NAMES:
        data = workspace.read(f"{config.templates_dir}/{name}")
        if data is not None:
            found[name] = data.decode("utf-8")
    return found


def model_folder(config: BotConfig, environment: str, model: str) -> str:
    template = config.paths.model_dir
    if "{version}" in template:
        raise InvalidInput.one(
            CONFIG_FILE,
            "paths.model_dir",
            f"{template!r} names the version: a rollback cannot tell which folder is deployed "
            "(keep one folder per model and environment)",
        )
    return fill_path(template, environment=environment, model=model, version="")


def declared_version(
    workspace: Workspace, config: BotConfig, wanted: Sequence[str], folder: str, ref: str | None
) -> str | None:
    """The version the folder declares in the working tree (`ref` None) or at `ref`;
    `wanted` are the folder's `candidate_paths`."""
    if ref is None:
        files = {p: data for p in wanted if (data := workspace.read(p)) is not None}
    else:
        tree = workspace.tree_of(ref, [folder])
        files = {p: tree[p] for p in wanted if p in tree}
    current = read_current_version(files, config)
    return current.version if current else None


@dataclass(frozen=True)
class Record:
    """What the bot's commits recorded for a folder that names only an image tag
    (kustomize, a values file without a model version key, plain manifests): which model
    version each tag stands for, and the model's image."""

    versions: Mapping[str, str]
    image: str | None


def record_of(deployment: Deployment) -> Record:
    trailers = [commit.trailers for commit in deployment.history]
    model, environment = deployment.model, deployment.environment
    return Record(
        recorded_versions(trailers, model, environment),
        recorded_image(trailers, model, environment),
    )


def folder_files(
    workspace: Workspace,
    folder: str,
    paths: Sequence[str],
    ref: str | None,
    also: Sequence[str] = (),
) -> dict[str, bytes]:
    """The folder's files at `ref`, or in the working tree (`ref` None: the files of the
    folder at HEAD and at the refs `also`, and `paths`, as the working tree holds them)."""
    if ref is not None:
        return workspace.tree_of(ref, [folder])
    names = set(paths) | set(workspace.tree_of("HEAD", [folder]))
    for other in also:
        names |= set(workspace.tree_of(other, [folder]))
    return {p: data for p in sorted(names) if (data := workspace.read(p)) is not None}


def folder_version(
    files: Mapping[str, bytes],
    config: BotConfig,
    record: Record,
    extra: Mapping[str, str] | None = None,
) -> CurrentVersion | None:
    """The (version, tag) the folder declares, a tag standing for its recorded version."""
    versions = {**record.versions, **(extra or {})}
    return read_current_version(files, config, image_repository=record.image, recorded=versions)


def with_recorded_version(workspace: Workspace, deployment: Deployment) -> Deployment:
    """The deployment whose current version is read from the whole folder, a tag standing
    for the model version the bot recorded with it (in the `Image-Tag` trailers)."""
    files = folder_files(workspace, deployment.folder, deployment.paths, "HEAD")
    current = folder_version(files, deployment.config, record_of(deployment))
    return replace(deployment, current=current.version if current else None)


def read_deployment(workspace: Workspace, environment: str, model: str) -> Deployment:
    """The config, the model's folder, its current version and the history behind it.

    In a folder that names only an image tag the current version is the model version the
    bot recorded with that tag (`with_recorded_version`), not the tag."""
    config = read_config(workspace)
    check_environment(config, workspace, environment)
    folder = model_folder(config, environment, model)
    workspace.add_sparse_paths([folder])
    paths = tuple(candidate_paths(config, environment, model, ""))
    deployment = Deployment(
        model=model,
        environment=environment,
        config=config,
        folder=folder,
        paths=paths,
        current=declared_version(workspace, config, paths, folder, None),
        history=tuple(workspace.log([folder], max_count=HISTORY)),
    )
    return with_recorded_version(workspace, deployment)


# --------------------------------------------------------------------------- the forge


def request_configured_reviewers(
    forge: Forge, config: BotConfig, environment: str, number: int, warnings: list[str]
) -> None:
    """Reviewers and team reviewers from `.model-bot.yaml` (the environment's win). A
    reviewer the forge refuses leaves the PR standing: a warning, not a failure."""
    env_config = config.environment(environment)
    users = env_config.reviewers if env_config.reviewers is not None else config.reviewers
    teams = (
        env_config.team_reviewers
        if env_config.team_reviewers is not None
        else config.team_reviewers
    )
    try:
        refused = forge.request_reviewers(number, users, teams)
    except ExternalError as error:
        warnings.append(f"reviewers not requested: {error}")
        return
    warnings.extend(f"reviewer not requested: {line}" for line in refused)


def add_labels(forge: Forge, number: int, labels: Sequence[str], warnings: list[str]) -> bool:
    """Label a PR; labels are best effort (a token may not write them): a refusal is a
    warning and the PR stands. True when the labels were added."""
    try:
        forge.add_labels(number, labels)
    except Refused as error:
        warnings.append(f"labels not added: {error}")
        return False
    return True


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


# --------------------------------------------------------------------------- converging


@dataclass(frozen=True)
class Converged:
    """How one planned change met the remote: the decision taken on the last read, the
    branch head and open PR that read saw, and the commit pushed (when `push`)."""

    decision: BranchDecision
    head: str | None
    open_pull: PullRequestInfo | None
    pushed: str | None = None

    @property
    def commit(self) -> str | None:
        """The commit that now carries the change on the branch (pushed or found there)."""
        return self.pushed or (self.head if self.decision.action != "push" else None)


def _conflicted(
    session: EnvSession, branch: str, open_pull: PullRequestInfo | None, watched: Sequence[str]
) -> tuple[bool, str]:
    """Whether a branch that holds the change no longer merges cleanly into the base: its
    open PR's `mergeable` (one request: a list of PRs does not carry it; null, not computed
    yet, is not a conflict), or without a PR the branch itself (git). And what to name."""
    if open_pull is not None and session.forge is not None:
        return session.forge.get_pull(open_pull.number).conflicted, f"#{open_pull.number}"
    return session.publisher.conflicts(branch, session.base, watched), branch


def _merged_already(session: EnvSession, branch: str, head: str, uses_pulls: bool) -> bool:
    """Whether the branch's commit already reached the base: it is in the base's history
    (a merge commit, a fast-forward), or on a forge a merged pull request had it as head (a
    squash or rebase merge gives the base other commits)."""
    if session.workspace.in_base_history(head):
        return True
    if not uses_pulls or session.forge is None:
        return False
    closed = session.forge.find_pulls(branch, state="closed", base=session.base)
    return any(pull.merged and pull.head_sha == head for pull in closed)


def converge_branch(
    session: EnvSession,
    request: CommitRequest,
    *,
    watched: Sequence[str],
    holds: Callable[[BranchSnapshot], bool],
    describes: Callable[[PullRequestInfo], bool],
    uses_pulls: bool,
    dry_run: bool,
    noun: str,
    busy: str,
    refuse_new: Callable[[], str | None] | None = None,
) -> Converged:
    """Read the remote branch (and its open PR), decide, and publish `request` when the
    decision is `push`, as a compare-and-swap on the branch head: when another run moved the
    branch in between, read again (at most `PUSH_ATTEMPTS` times). A branch that holds the
    change but no longer merges cleanly into the base is rebuilt: the same change committed
    anew on the current base (`decide_rebuild`). `watched` are the paths
    `holds` judges; `describes` says whether an open PR's text is about this change; `busy`
    names who else may be moving the branch, for the error when it never settles.
    `refuse_new` is asked only before a pull request would be opened where none is open (a
    rerun with its PR open costs nothing more): a reason ends the run `blocked`."""
    publisher, forge = session.publisher, session.forge
    branch = request.branch
    for _attempt in range(PUSH_ATTEMPTS):
        head = publisher.remote_head(branch)
        open_pull = forge.find_open_pull(branch, session.base) if uses_pulls and forge else None
        snapshot = publisher.snapshot(branch, watched) if head is not None else None
        view = BranchView(
            exists=head is not None,
            holds=snapshot is not None and holds(snapshot),
            uses_pulls=uses_pulls,
            open_pull=open_pull is not None,
            pull_describes=open_pull is not None and describes(open_pull),
        )
        decision = decide_branch(view, branch=branch, dry_run=dry_run, noun=noun)
        if decision.action == "held":
            conflicted, what = _conflicted(session, branch, open_pull, watched)
            decision = decide_rebuild(
                decision, conflicted=conflicted, what=what, base=session.base, dry_run=dry_run
            )
        if decision.action in ("held", "open-pull") and open_pull is None and head is not None:
            decision = decide_stale(
                decision,
                stale=_merged_already(session, branch, head, uses_pulls),
                branch=branch,
                base=session.base,
                dry_run=dry_run,
            )
        if refuse_new is not None and open_pull is None and decision.action in _OPENS:
            refusal = refuse_new()
            if refusal is not None:
                return Converged(BranchDecision("none", "blocked", refusal), head, None)
        if decision.action != "push" or dry_run:
            return Converged(decision, head, open_pull)
        pushed = publisher.publish(request, head)
        if pushed is None:
            return Converged(BASE_HOLDS, head, open_pull)
        if pushed.status == "rejected-stale":
            continue  # another run moved the branch: read it again and converge
        if not pushed.ok:
            raise ExternalError(f"could not push {branch}: {pushed.message}")
        return Converged(decision, head, open_pull, pushed.sha)
    raise ExternalError(
        f"{branch} kept moving while pushing ({PUSH_ATTEMPTS} attempts): another run is "
        f"{busy}; run again when it is done"
    )


__all__ = [
    "HISTORY",
    "PUSH_ATTEMPTS",
    "Converged",
    "Record",
    "add_labels",
    "check_environment",
    "converge_branch",
    "declared_version",
    "find_promotion_pull",
    "folder_files",
    "folder_version",
    "model_folder",
    "read_config",
    "read_deployment",
    "read_templates",
    "record_of",
    "request_configured_reviewers",
    "with_recorded_version",
]
