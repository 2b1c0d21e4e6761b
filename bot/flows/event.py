"""`model-bot event`: the cluster and merged pull requests drive the bot.

- An Argo Rollouts notification (a `repository_dispatch` of type `model-bot-rollout`):
  aborted (or its analysis failed) opens the revert pull request at once, with the cluster's
  message; completed comments on the promotion pull request and sets the `model-bot/rollout`
  status on its merge commit. When the cluster's images are not what the env repo deploys,
  Git has moved on: nothing is done, and the result says why.
- A promotion or rollback pull request merged (`pull_request` closed): the registry follows
  (the registry runner the CLI hands in), where `.model-bot.yaml` configures one.

The payload was validated by `bot.core.events`; its text is data, never a command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.core.config import BotConfig
from bot.core.converge import Outcome
from bot.core.deployment import Deployment
from bot.core.drift import read_drift_marker
from bot.core.errors import ExternalError, InvalidInput
from bot.core.events import ClosedProposal, Ignored, RolloutNotice, image_tag
from bot.core.policy import Policy
from bot.core.rollback import RollbackOptions, RollbackResult
from bot.core.trailers import DRIFT_ISSUE
from bot.flows.session import (
    find_promotion_pull,
    folder_files,
    folder_version,
    read_config,
    read_deployment,
    record_of,
)
from bot.ports import EnvSession, SessionOpener
from bot.text.events import completed_comment, rollback_reason
from bot.text.monitor import closing_comment

Handled = Literal["rollback", "completed", "merged", "ignored"]
STATUS_CONTEXT = "model-bot/rollout"
SessionRollback = Callable[
    [EnvSession, RollbackOptions, "Policy | None", Deployment], RollbackResult
]
# (session, model, environment, action of the merged PR) -> one line per registry change
FollowRegistry = Callable[[EnvSession, str, str, str], Sequence["RegistryLine"]]


class RegistryLine(Protocol):
    """What the registry runner reports for each alias or tag: printable, and whether it
    changed something."""

    @property
    def changed(self) -> bool: ...


@dataclass(frozen=True)
class EventOptions:
    base: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class EventResult:
    handled: Handled
    outcome: Outcome
    reason: str
    model: str | None = None
    environment: str | None = None
    rollback: RollbackResult | None = None
    registry: tuple[str, ...] = ()  # what the registry did, one line each
    registry_error: str | None = None  # the Git side was done; the registry was not
    warnings: tuple[str, ...] = ()
    drift: str | None = None  # what became of the drift issue a merged promotion answers


def handle_event(
    event: RolloutNotice | ClosedProposal | Ignored,
    options: EventOptions,
    open_session: SessionOpener,
    *,
    run_rollback: SessionRollback,
    follow_registry: FollowRegistry | None,
    policy: Policy | None = None,
) -> EventResult:
    if isinstance(event, Ignored):
        return EventResult("ignored", "unchanged", event.reason)
    session = open_session([])
    try:
        if isinstance(event, ClosedProposal):
            merged = _merged(session, event, options, follow_registry)
            return replace(merged, drift=_close_drift_issue(session, event, options))
        return _rollout(session, event, options, run_rollback, follow_registry, policy)
    finally:
        session.close()


# --------------------------------------------------------------------------- the cluster


def environment_of(config: BotConfig, namespace: str, named: str | None) -> str:
    """The environment a Rollout's namespace belongs to: the payload's `environment`, else
    the one `.model-bot.yaml` gives that namespace, else the environment named like it."""
    if named is not None:
        return named
    matches = sorted(
        name for name, env in (config.environments or {}).items() if env.namespace == namespace
    )
    if len(matches) > 1:
        raise InvalidInput.one(
            "client_payload.namespace",
            "",
            f"namespace {namespace!r} belongs to several environments ({', '.join(matches)}): "
            "send `environment` in the payload",
        )
    return matches[0] if matches else namespace


def _rollout(
    session: EnvSession,
    notice: RolloutNotice,
    options: EventOptions,
    run_rollback: SessionRollback,
    follow_registry: FollowRegistry | None,
    policy: Policy | None,
) -> EventResult:
    config = read_config(session.workspace)
    environment = environment_of(config, notice.namespace, notice.environment)
    model = notice.model or notice.rollout
    deployment = read_deployment(session.workspace, environment, model)
    files = folder_files(session.workspace, deployment.folder, deployment.paths, "HEAD")
    current = folder_version(files, config, record_of(deployment))
    base = EventResult("ignored", "unchanged", "", model, environment)
    if current is None:
        return replace(
            base,
            reason=f"{deployment.folder} declares no version of {model}: nothing to do "
            f"(is the Rollout {notice.rollout!r} this model?)",
        )
    tags = {image_tag(image) for image in notice.images}
    if current.tag not in tags and current.version not in tags:
        return replace(
            base,
            reason=f"the cluster rolled {', '.join(notice.images)}, but {environment} declares "
            f"{model} {current.version} (tag {current.tag}): Git has moved on, nothing to do",
        )
    if notice.kind == "aborted":
        rolled = run_rollback(
            session,
            RollbackOptions(
                model=model,
                environment=environment,
                base=options.base,
                reason=rollback_reason(notice),
                dry_run=options.dry_run,
                requested_by="argo-rollouts",
            ),
            policy,
            deployment,
        )
        return replace(
            base,
            handled="rollback",
            outcome=rolled.outcome,
            reason=rolled.reason or f"rollback of {model} {current.version}: {rolled.outcome}",
            rollback=rolled,
            warnings=rolled.warnings,
        )
    return _completed(session, notice, deployment, current.version, base, follow_registry, config)


def _completed(
    session: EnvSession,
    notice: RolloutNotice,
    deployment: Deployment,
    version: str,
    base: EventResult,
    follow_registry: FollowRegistry | None,
    config: BotConfig,
) -> EventResult:
    """The rollout of `version` completed: say so on its promotion PR (once) and as the
    `model-bot/rollout` status of the merge commit; with `move_on: complete` the registry
    follows now."""
    result = replace(base, handled="completed")
    forge = session.forge
    model, environment = deployment.model, deployment.environment
    if forge is None:
        result = replace(
            result, reason=f"{model} {version} rolled out in {environment} (local mode: no PR)"
        )
    else:
        promotion = deployment.promotion
        pull = find_promotion_pull(
            forge,
            environment,
            model,
            version,
            promotion.sha if promotion else None,
            None,
        )
        if pull is None:
            result = replace(
                result,
                reason=f"{model} {version} rolled out in {environment}; no merged promotion "
                "pull request found to tell",
            )
        else:
            text = completed_comment(notice, model, environment, version)
            if any(c.body == text for c in forge.comments(pull.number)):
                result = replace(result, reason=f"#{pull.number} already says so")
            else:
                forge.comment(pull.number, text)
                result = replace(
                    result,
                    outcome="updated",
                    reason=f"{model} {version} rolled out in {environment}: told #{pull.number}",
                )
            if pull.merge_commit_sha is not None:
                forge.set_status(
                    pull.merge_commit_sha,
                    context=STATUS_CONTEXT,
                    state="success",
                    description=f"rollout of {model} {version} to {environment} completed",
                    target_url=pull.url,
                )
    registry = config.registry
    if follow_registry is not None and registry is not None and registry.move_on == "complete":
        return _follow(result, session, follow_registry, model, environment, "promote")
    return result


# --------------------------------------------------------------------------- merged PRs


def _merged(
    session: EnvSession,
    closed: ClosedProposal,
    options: EventOptions,
    follow_registry: FollowRegistry | None,
) -> EventResult:
    branch = closed.branch
    base = EventResult("ignored", "unchanged", "", branch.model, branch.environment)
    if not closed.merged:
        return replace(
            base,
            reason=f"#{closed.number} was closed without merging: nothing follows "
            "(promote refuses this version again unless --reopen)",
        )
    config = read_config(session.workspace)
    registry = config.registry
    if registry is None or follow_registry is None:
        return replace(
            base,
            handled="merged",
            reason=f"#{closed.number} merged; no registry in .model-bot.yaml: nothing follows",
        )
    if branch.kind == "promote" and registry.move_on != "merge":
        return replace(
            base,
            handled="merged",
            reason=f"#{closed.number} merged; the registry follows when the rollout completes "
            "(registry.move_on: complete)",
        )
    if options.dry_run:
        return replace(base, handled="merged", reason="dry run: the registry would follow")
    return _follow(
        replace(base, handled="merged", reason=f"#{closed.number} merged"),
        session,
        follow_registry,
        branch.model,
        branch.environment,
        branch.kind,
    )


def _close_drift_issue(
    session: EnvSession, closed: ClosedProposal, options: EventOptions
) -> str | None:
    """A merged promotion that answers a drift (its marker's `Drift-Issue` trailer, written by
    `promote --drift-issue`) closes that issue: only an open issue whose own drift marker
    names the same model and environment, so a hand-edited number closes nothing else."""
    meta = closed.marker
    number = (meta.trailers or {}).get(DRIFT_ISSUE, "") if meta is not None else ""
    if not closed.merged or closed.branch.kind != "promote" or not number.isdigit():
        return None
    forge = session.forge
    if forge is None:
        return None
    assert meta is not None
    issue = forge.get_issue(int(number))
    marker = read_drift_marker(issue.body) if issue is not None else None
    if (
        issue is None
        or marker is None
        or (marker.model, marker.environment)
        != (
            meta.model,
            meta.environment,
        )
    ):
        return f"#{number} is not the drift issue of {meta.model} in {meta.environment}: left as is"
    if issue.state != "open":
        return f"drift issue #{number} is already closed"
    if options.dry_run:
        return f"dry run: drift issue #{number} would be closed"
    forge.comment(
        issue.number,
        closing_comment(meta.model, meta.environment, meta.version, f"#{closed.number}"),
    )
    forge.edit_issue(issue.number, state="closed")
    return f"closed drift issue #{number}"


def _follow(
    result: EventResult,
    session: EnvSession,
    follow_registry: FollowRegistry,
    model: str,
    environment: str,
    action: str,
) -> EventResult:
    """The registry follows; MLflow's trouble is said, after the Git side was done."""
    try:
        lines = tuple(follow_registry(session, model, environment, action))
    except (ExternalError, InvalidInput) as error:
        return replace(result, registry_error=str(error))
    changed = any(line.changed for line in lines)
    outcome: Outcome = "updated" if changed else result.outcome
    return replace(result, registry=tuple(str(line) for line in lines), outcome=outcome)


__all__ = [
    "STATUS_CONTEXT",
    "EventOptions",
    "EventResult",
    "FollowRegistry",
    "SessionRollback",
    "environment_of",
    "handle_event",
]
