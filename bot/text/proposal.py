"""The promotion proposal as text: PR title and body, commit message, diff. Pure.

The PR body *is* the evaluation report (decision, gates, significance, lineage) plus the
rollout plan and how to roll back; the same report is committed beside the change.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.evidence import Evidence
from bot.core.expressions import format_condition
from bot.core.gate import Decision
from bot.core.policy import Policy
from bot.core.queries import QueryContext, effective_query
from bot.text.report import (
    code,
    decision_section,
    escape,
    lineage_section,
    params_section,
    significance_section,
    title_section,
)

GITHUB_BODY_LIMIT = 65_536
MARKER_PREFIX = "<!-- model-bot:"


@dataclass(frozen=True)
class ProposalMeta:
    """What a promotion or rollback PR is about; embedded in the body as a hidden marker so
    later runs (and `/rollback`) can read it back without trusting the visible text."""

    action: str  # promote | rollback
    model: str
    environment: str
    version: str
    previous_version: str | None

    def marker(self) -> str:
        data = {
            "action": self.action,
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "previous_version": self.previous_version,
        }
        # Names were validated (DNS labels, tag grammar): they cannot close the comment.
        return f"{MARKER_PREFIX} {json.dumps(data, sort_keys=True)} -->"


def read_marker(body: str) -> ProposalMeta | None:
    start = body.rfind(MARKER_PREFIX)
    if start < 0:
        return None
    end = body.find("-->", start)
    if end < 0:
        return None
    try:
        data = json.loads(body[start + len(MARKER_PREFIX) : end])
        return ProposalMeta(
            action=str(data["action"]),
            model=str(data["model"]),
            environment=str(data["environment"]),
            version=str(data["version"]),
            previous_version=None
            if data.get("previous_version") is None
            else str(data["previous_version"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def promotion_title(model: str, version: str, environment: str) -> str:
    return f"Promote {model} {version} to {environment}"


def rollout_plan_section(policy: Policy, context: QueryContext, level: int = 3) -> str:
    """The canary (or blue-green) steps and the analysis metrics the cluster will judge."""
    rollout = policy.rollout
    heading = "#" * level
    lines = [f"{heading} Rollout plan", ""]
    if rollout.strategy == "canary":
        steps = []
        for index, weight in enumerate(rollout.steps, start=1):
            step = f"{weight}%"
            if weight < 100:
                step += f", pause {rollout.pause}"
                if index >= rollout.analysis_from_step and policy.analysis.metrics:
                    step += ", analysis"
            steps.append(step)
        lines.append("Canary (Argo Rollouts): " + " → ".join(steps) + ".")
    else:
        promotion = "automatic" if rollout.auto_promotion else "manual"
        lines.append(
            f"Blue-green (Argo Rollouts): preview first, pre-promotion analysis, then {promotion} promotion."
        )
    if rollout.rollback_window:
        lines.append(
            f"A rollback to one of the last {rollout.rollback_window} revisions skips the steps "
            "and analysis (`rollbackWindow`): it goes straight to the stable version."
        )
    metrics = policy.analysis.metrics
    if metrics:
        lines += [
            "",
            "| metric | query | success | interval | count | failure limit |",
            "|---|---|---|---|---|---|",
        ]
        for metric in metrics:
            interval = metric.interval or policy.analysis.interval
            count = metric.count or policy.analysis.count
            limit = (
                metric.failure_limit
                if metric.failure_limit is not None
                else policy.analysis.failure_limit
            )
            query = effective_query(metric, context)
            lines.append(
                f"| {code(metric.name)} | {code(query)} | {code(format_condition(metric.condition))} "
                f"| {interval} | {count} | {limit} |"
            )
    else:
        lines += ["", "No analysis metrics: the canary advances on time alone."]
    return "\n".join(lines)


def rollback_section(
    model: str, environment: str, previous_version: str | None, level: int = 3
) -> str:
    heading = "#" * level
    target = (
        f"version {code(previous_version, in_table=False)}"
        if previous_version
        else "the previous version"
    )
    return "\n".join(
        [
            f"{heading} Rolling back",
            "",
            f"After merge, comment `/rollback <reason>` here (write access needed) to open a revert "
            f"pull request back to {target}, or run "
            f"`model-bot rollback --model {model} --environment {environment}`.",
        ]
    )


def changes_section(
    previous_version: str | None,
    version: str,
    changed: Sequence[str],
    level: int = 3,
    deleted: Sequence[str] = (),
) -> str:
    heading = "#" * level
    before = (
        code(previous_version, in_table=False) if previous_version else "nothing (first promotion)"
    )
    lines = [f"{heading} Change", "", f"{before} → {code(version, in_table=False)}", ""]
    lines += [f"- {code(path, in_table=False)}" for path in changed]
    lines += [f"- {code(path, in_table=False)} (deleted)" for path in deleted]
    return "\n".join(lines)


def promotion_report(
    evidence: Evidence,
    decision: Decision,
    policy: Policy,
    context: QueryContext,
    previous_version: str | None,
    changed: Sequence[str],
    *,
    deleted: Sequence[str] = (),
) -> str:
    """The evaluation report committed at `reports/<model>/<version>.md`."""
    sections = [
        title_section(evidence, decision),
        changes_section(previous_version, evidence.model.version, changed, deleted=deleted),
        decision_section(evidence, decision),
        significance_section(decision),
        lineage_section(evidence),
        params_section(evidence),
        rollout_plan_section(policy, context),
        rollback_section(context.model, context.environment, previous_version),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def pull_request_body(report: str, meta: ProposalMeta, report_url: str | None) -> str:
    """The report plus the hidden marker, cut to GitHub's body limit with a link to the file."""
    marker = "\n\n" + meta.marker() + "\n"
    if len(report) + len(marker) <= GITHUB_BODY_LIMIT:
        return report + marker
    where = f"[the committed report]({report_url})" if report_url else "the committed report file"
    notice = f"\n\n---\n**Report truncated**: GitHub limits a PR body to {GITHUB_BODY_LIMIT:,} characters; read {where}."
    closing = "\n\n</details>"
    room = GITHUB_BODY_LIMIT - len(marker) - len(notice) - len(closing)
    cut = report[:room]
    # Do not leave half a table row or code span behind.
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    # Our own <details> start lines; untrusted text only appears inside table rows.
    if len(re.findall(r"^<details>", cut, re.M)) > len(re.findall(r"^</details>", cut, re.M)):
        cut += closing  # else the notice would hide in a collapsed section
    return cut + notice + marker


_TRAILER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def commit_message(
    subject: str, meta: ProposalMeta, extra: Mapping[str, str | None]
) -> tuple[str, dict[str, str]]:
    trailers = {
        "Model": meta.model,
        "Model-Version": meta.version,
        "Previous-Version": meta.previous_version or "none",
        "Environment": meta.environment,
        "Action": meta.action,
    }
    # Lineage (run id, code commit) is untrusted text: a trailer holds it on one line.
    for key, value in extra.items():
        text = " ".join(_TRAILER_UNSAFE.sub(" ", value or "").split())
        if text:
            trailers[key] = text
    return subject, trailers


def unified_diff(before: Mapping[str, bytes | None], after: Mapping[str, bytes | None]) -> str:
    """`git diff`-like text of the files that change (for --dry-run and local mode).

    `None` is a file that does not exist: before, it is created; after, it is deleted.
    A last line without a newline is marked as git marks it.
    """
    out: list[str] = []
    for path in sorted(after):
        old = before.get(path)
        new = after[path]
        if old == new:
            continue
        fromfile = "/dev/null" if old is None else f"a/{path}"
        tofile = "/dev/null" if new is None else f"b/{path}"
        lines = list(difflib.unified_diff(_diff_lines(old), _diff_lines(new), fromfile, tofile))
        # An empty file created or deleted has no hunk: show that it comes or goes.
        out.extend(lines or [f"--- {fromfile}\n", f"+++ {tofile}\n"])
    return "".join(line if line.endswith("\n") else _no_newline(line) for line in out)


def _diff_lines(data: bytes | None) -> list[str]:
    """Lines as git sees them: split at '\\n' only (a '\\r' or form feed is content)."""
    if not data:
        return []
    lines = data.decode("utf-8", "replace").split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _no_newline(line: str) -> str:
    return line + "\n\\ No newline at end of file\n"


__all__ = [
    "GITHUB_BODY_LIMIT",
    "ProposalMeta",
    "commit_message",
    "escape",
    "promotion_report",
    "promotion_title",
    "pull_request_body",
    "read_marker",
    "rollout_plan_section",
    "unified_diff",
]
