"""Reading the deployment ledger of one model in one environment, on an open session: the
base's first-parent history (commit messages only), the merged branch tips, the pull
requests the forge says brought commits in, and the folder at the few commits where the
claims leave a gap. Shared by the flows (history, status, promote, rollback, analyze).

Cost: the commits of the base branch (a commits-only clone), plus one folder read per
bisection step where a version changed without a claim (a manual edit, or a squash merge
that dropped the pull request's description), plus, with a forge, a few requests per entry
shown (the pull request, its reviews).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.commits import CommitInfo
from bot.core.config import BotConfig
from bot.core.deployment import Deployment
from bot.core.errors import ExternalError, InvalidInput
from bot.core.ledger import (
    Entry,
    LandedCommit,
    Ledger,
    ManualEdit,
    PullFacts,
    build_ledger,
    claim_trailers,
    find_changes,
    suspect_gaps,
)
from bot.core.names import is_dns_label
from bot.core.pulls import PullRequestInfo
from bot.core.render import candidate_paths, recorded_image, recorded_versions
from bot.flows.session import (
    Record,
    check_environment,
    folder_version,
    model_folder,
    read_config,
)
from bot.ports import EnvSession, Forge

_MERGE_SUBJECT = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*$")
MAX_FOLDER_READS = 64  # folder reads while looking for manual edits, per ledger


@dataclass(frozen=True)
class LedgerRead:
    """The ledger, and what reading it could not do (said, never hidden)."""

    ledger: Ledger
    warnings: tuple[str, ...] = ()


def _landed(commit: CommitInfo, tip: CommitInfo | None) -> LandedCommit:
    return LandedCommit(
        sha=commit.sha,
        landed_at=commit.committed_at or commit.authored_at,
        message=commit.message,
        trailers=commit.trailers,
        merged_tip_trailers=tip.trailers if tip is not None else None,
    )


def pull_number_in(commit: LandedCommit) -> int | None:
    """The pull request a forge merge names in the commit's subject (`Merge pull request #N
    from ...`, a squash's `Title (#N)`); a hint of whom to ask, never a claim by itself."""
    subject = commit.message.split("\n", 1)[0]
    found = _MERGE_SUBJECT.match(subject) or _SQUASH_SUBJECT.search(subject)
    return int(found.group(1)) if found else None


def _facts(forge: Forge, pull: PullRequestInfo) -> PullFacts:
    return PullFacts(
        number=pull.number,
        url=pull.url,
        body=pull.body,
        merged_by=pull.merged_by,
        approved_by=forge.approvers(pull.number),
    )


def _pull_of(forge: Forge, commit: LandedCommit) -> PullRequestInfo | None:
    """The merged pull request that brought `commit` to the base: the one its subject
    names when that one's merge commit is this commit, else what the forge associates."""
    number = pull_number_in(commit)
    if number is not None:
        pull = forge.get_pull(number)
        if pull.merged and pull.merge_commit_sha == commit.sha:
            return pull
    merged = [p for p in forge.pulls_for_commit(commit.sha) if p.merged]
    return merged[0] if merged else None


def record_from(landed: Sequence[LandedCommit], model: str, environment: str) -> Record:
    """Which model version each image tag stood for, from the claims of the base's commits
    (a folder that names only a tag declares the version recorded with it)."""
    claims = [t for c in landed if (t := claim_trailers(c, model, environment)) is not None]
    return Record(
        recorded_versions(claims, model, environment),
        recorded_image(claims, model, environment),
    )


def deployment_at_head(
    session: EnvSession,
    model: str,
    environment: str,
    landed: Sequence[LandedCommit],
    config: BotConfig | None = None,
    files: Mapping[str, bytes] | None = None,
    checked: bool = False,
) -> Deployment:
    """What the base's head says about `model` in `environment`, its version read with the
    ledger's record; no path-limited log of the folder (that walks every tree of the
    history in a big repo: the ledger already holds the claims). `files`: the folder's files
    when the caller has read them already (status reads every folder at once)."""
    workspace = session.workspace
    config = config if config is not None else read_config(workspace)
    if not checked:  # `checked`: the caller listed the environment's models already
        check_environment(config, workspace, environment)
    folder = model_folder(config, environment, model)
    if files is None:
        files = workspace.tree_of("HEAD", [folder])
    current = folder_version(files, config, record_from(landed, model, environment))
    return Deployment(
        model=model,
        environment=environment,
        config=config,
        folder=folder,
        paths=tuple(candidate_paths(config, environment, model, "")),
        current=current.version if current else None,
        history=(),
    )


def model_folders(
    session: EnvSession, config: BotConfig, environment: str
) -> dict[str, dict[str, bytes]]:
    """Each model's folder in `environment` at the base's head: model -> its files."""
    probe = model_folder(config, environment, "model-bot-probe")
    parent = posixpath.dirname(probe)
    if posixpath.basename(probe) != "model-bot-probe":
        raise InvalidInput.one(
            ".model-bot.yaml",
            "paths.model_dir",
            "must end in {model} to list the models of an environment",
        )
    files = session.workspace.tree_of("HEAD", [parent])
    folders: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        model, _, rest = path[len(parent) + 1 :].partition("/")
        if rest and "/" not in rest and is_dns_label(model):
            folders.setdefault(model, {})[path] = data
    return folders


def environments_of(session: EnvSession, config: BotConfig, wanted: str | None) -> list[str]:
    """The environments to list (`wanted` alone, when given): `.model-bot.yaml`'s, else the
    folders under the model directory's environment level."""
    if config.environments is not None:
        names = sorted(config.environments)
    else:
        root = _environments_root(config)
        names = sorted(
            {
                path[len(root) :].split("/", 1)[0]
                for path in session.workspace.tree_of("HEAD", [root.rstrip("/")])
            }
        )
    if wanted is None:
        return [n for n in names if is_dns_label(n)]
    if wanted not in names:
        known = ", ".join(names) or "none"
        raise InvalidInput.one(
            "--environment", "", f"unknown environment {wanted!r} (known: {known})"
        )
    return [wanted]


def _environments_root(config: BotConfig) -> str:
    """`environments/` of `environments/{environment}/{model}`."""
    template = config.paths.model_dir
    root, found, _ = template.partition("{environment}")
    if not found or "{" in root:
        raise InvalidInput.one(
            ".model-bot.yaml",
            "paths.model_dir",
            f"{template!r}: list the environments under `environments:` so status can find them",
        )
    return root


def landed_commits(session: EnvSession, mentioning: str | None = None) -> list[LandedCommit]:
    """The base's first-parent commits, newest first, with the tips merge commits merged:
    read once, the ledgers of every model are built from it (`read_ledger(landed=...)`).
    `mentioning`: only the commits whose message names it (enough for claims, not for
    manual edits, which name nothing)."""
    history = session.workspace.base_history(mentioning)
    tips = session.workspace.commits([c.parents[1] for c in history if len(c.parents) > 1])
    return [_landed(c, tips.get(c.parents[1]) if len(c.parents) > 1 else None) for c in history]


def read_ledger(
    session: EnvSession,
    model: str,
    environment: str,
    *,
    deployment: Deployment | None = None,
    enrich: int = 0,
    landed: Sequence[LandedCommit] | None = None,
    enrich_holds: bool = True,
) -> LedgerRead:
    """The ledger of `model` in `environment`.

    With the `deployment` (its folder and the version it declares now), manual edits are
    found too (the folder is read where claims leave a gap); without it only the bot's
    claims are read (enough for holds). `enrich`: who merged and approved the newest
    `enrich` entries (a forge's requests). `landed`: the base's commits already read.
    `enrich_holds`: the rollbacks that hold a version are enriched too, wherever they are
    (a refusal, a lifted hold's note and `history`'s holds cite their pull request; a merge
    commit's or a rebased commit's claim does not name it)."""
    forge = session.forge
    if landed is None:
        # Claims name their model: without manual edits to find, git filters the rest.
        landed = landed_commits(session, None if deployment is not None else model)
    warnings: list[str] = []
    if forge is not None:
        landed = _ask_about_squashes(forge, landed, model, environment)
    edits: list[ManualEdit] = []
    if deployment is not None:
        edits, more = _manual_edits(session, deployment, landed, forge)
        warnings += more
    ledger = build_ledger(model, environment, landed, edits)
    if forge is not None:
        wanted = set(range(min(enrich, len(ledger.entries))))
        if enrich_holds:
            holding = {hold.rollback.commit for hold in ledger.holds().values()}
            wanted |= {
                i
                for i, entry in enumerate(ledger.entries)
                if entry.action == "rollback" and entry.commit in holding
            }
        if wanted:
            ledger = _enriched(forge, ledger, {c.sha: c for c in landed}, wanted)
    return LedgerRead(ledger, tuple(warnings))


def _ask_about_squashes(
    forge: Forge, landed: Sequence[LandedCommit], model: str, environment: str
) -> list[LandedCommit]:
    """A squash merge that dropped the description carries neither trailers nor marker;
    its subject is the pull request's title and number. For the commits whose subject
    names this model and environment and a pull request, and carry no claim, ask the forge
    for that pull request (its marker is the claim)."""
    out = []
    for commit in landed:
        subject = commit.message.split("\n", 1)[0]
        number = pull_number_in(commit)
        if (
            number is not None
            and model in subject
            and environment in subject
            and claim_trailers(commit, model, environment) is None
        ):
            pull = _pull_of(forge, commit)
            if pull is not None:
                commit = replace(commit, pull=_facts(forge, pull))
        out.append(commit)
    return out


def _manual_edits(
    session: EnvSession,
    deployment: Deployment,
    landed: Sequence[LandedCommit],
    forge: Forge | None,
) -> tuple[list[ManualEdit], list[str]]:
    """The commits after which the folder declared a version no claim explains."""
    workspace = session.workspace
    record = record_from(landed, deployment.model, deployment.environment)
    reads = {"count": 0}
    cache: dict[str, str | None] = {}

    def version_at(sha: str) -> str | None:
        if sha not in cache:
            reads["count"] += 1
            if reads["count"] > MAX_FOLDER_READS:
                raise _TooManyReads
            files = workspace.files_at(sha, deployment.folder)
            current = folder_version(files, deployment.config, record)
            cache[sha] = current.version if current else None
        return cache[sha]

    gaps = suspect_gaps(deployment.model, deployment.environment, landed, deployment.current)
    order = [c.sha for c in landed]
    by_sha = {c.sha: c for c in landed}
    edits: list[ManualEdit] = []
    warnings: list[str] = []
    for gap in gaps:
        start = order.index(gap.newer) + 1 if gap.newer is not None else 0
        stop = order.index(gap.older) if gap.older is not None else len(order)
        inside = list(reversed(order[start:stop]))  # oldest first
        try:
            changes = find_changes(inside, version_at, gap.expected_before, gap.found_after)
        except _TooManyReads:
            warnings.append(
                f"stopped looking for manual edits of {deployment.folder} after "
                f"{MAX_FOLDER_READS} folder reads: older entries may be missing"
            )
            break
        for sha, previous, version in changes:
            commit = by_sha[sha]
            if forge is not None and commit.pull is None:
                pull = _pull_of(forge, commit)
                if pull is not None:
                    commit = replace(commit, pull=_facts(forge, pull))
            if claim_trailers(commit, deployment.model, deployment.environment) is not None:
                continue  # the forge's pull request claims it: not manual
            edits.append(ManualEdit(commit, version, previous))
    return edits, warnings


class _TooManyReads(Exception):
    pass


def _enriched(
    forge: Forge, ledger: Ledger, landed: dict[str, LandedCommit], indices: set[int]
) -> Ledger:
    """The entries at `indices` (newest first) with the pull request that brought them, who
    merged it and who approved it (entries already carrying them are kept)."""
    entries = list(ledger.entries)
    for index in sorted(indices):
        entry = entries[index]
        if entry.merged_by is not None:
            continue
        commit = landed.get(entry.commit)
        if commit is None:
            continue
        try:
            pull = _pull_of(forge, commit)
            facts = _facts(forge, pull) if pull is not None else None
        except ExternalError:
            continue
        if facts is None:
            continue
        entries[index] = replace(
            entry,
            pull_number=facts.number,
            pull_url=facts.url,
            merged_by=facts.merged_by,
            approved_by=facts.approved_by,
        )
    return replace(ledger, entries=tuple(entries))


def entry_for(ledger: Ledger, version: str | None) -> Entry | None:
    """The newest entry that brought `version`."""
    return next((e for e in ledger.entries if e.version == version), None)


__all__ = [
    "MAX_FOLDER_READS",
    "LedgerRead",
    "deployment_at_head",
    "entry_for",
    "environments_of",
    "landed_commits",
    "model_folders",
    "pull_number_in",
    "read_ledger",
    "record_from",
]
