"""The text of a rollback: the revert PR's title and body, follow-up and back-link comments,
and the emergency-path paragraph. Pure; untrusted text (the reason, who asked) is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.marker import ProposalMeta
from bot.core.pulls import PullRequestInfo
from bot.core.rollback import Method
from bot.core.rollback_window import WindowCheck
from bot.core.trailers import NO_REASON
from bot.core.untrusted import one_line
from bot.text.markdown import code, escape
from bot.text.proposal import pull_request_body

ARGO_ISSUE = "https://github.com/argoproj/argo-rollouts/issues/2168"


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


def rollback_title(model: str, environment: str, bad: str, target: str) -> str:
    return f"Roll back {model} in {environment}: {bad} → {target}"


def _reason_line(reason: str) -> str:
    text = one_line(reason)
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
        lines.append(f"**Requested by:** {escape(one_line(requested_by))}")
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
    has_reason = bool(one_line(reason))
    has_evidence = bool(evidence_markdown and evidence_markdown.strip())
    if not has_reason and not has_evidence:
        return None
    who = f" by {escape(one_line(requested_by))}" if requested_by and requested_by.strip() else ""
    lines = [f"model-bot: the rollback was requested again{who}.", ""]
    if has_reason:
        lines.append(f"**Reason:** {_reason_line(reason)}")
    if has_evidence:
        assert evidence_markdown is not None
        lines += ["", evidence_markdown.strip()]
    return "\n".join(lines) + "\n"


def followup_parts(reason: str, evidence_markdown: str | None) -> list[str]:
    """What a repeated request would say that matters: its reason line and its evidence. A
    request whose parts the PR (body or comments) already shows adds nothing: the same
    notification twice, or `/rollback` with the reason the revert PR was opened with."""
    parts = [f"**Reason:** {_reason_line(reason)}"] if one_line(reason) else []
    if evidence_markdown and evidence_markdown.strip():
        parts.append(evidence_markdown.strip())
    return parts


def backlink_comment(revert_pull: PullRequestInfo, bad: str, target: str) -> str:
    return (
        f"model-bot: a rollback of {code(bad, in_table=False)} to {code(target, in_table=False)} "
        f"is proposed in #{revert_pull.number}."
    )


__all__ = [
    "ARGO_ISSUE",
    "backlink_comment",
    "emergency_note",
    "files_changed",
    "followup_comment",
    "followup_parts",
    "rollback_body",
    "rollback_title",
]
