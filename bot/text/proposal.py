"""The promotion proposal as text: PR title and body. Pure.

The PR body *is* the evaluation report (decision, gates, significance, lineage) plus the
rollout plan and how to roll back; the same report is committed beside the change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.evidence import Evidence
from bot.core.expressions import format_condition
from bot.core.gate import Decision
from bot.core.marker import ProposalMeta
from bot.core.plan import RolloutPlan
from bot.text.markdown import code
from bot.text.report import (
    decision_section,
    lineage_section,
    params_section,
    significance_section,
    title_section,
)

GITHUB_BODY_LIMIT = 65_536


def promotion_title(model: str, version: str, environment: str) -> str:
    return f"Promote {model} {version} to {environment}"


def rollout_plan_section(plan: RolloutPlan, level: int = 3) -> str:
    """The canary (or blue-green) steps and the analysis metrics the cluster will judge."""
    heading = "#" * level
    lines = [f"{heading} Rollout plan", ""]
    if plan.strategy == "canary":
        steps = []
        for step in plan.steps:
            text = f"{step.weight}%"
            if step.pause is not None:
                text += f", pause {step.pause}"
            if step.analysis:
                text += ", analysis"
            steps.append(text)
        lines.append("Canary (Argo Rollouts): " + " → ".join(steps) + ".")
    else:
        promotion = "automatic" if plan.auto_promotion else "manual"
        lines.append(
            f"Blue-green (Argo Rollouts): preview first, pre-promotion analysis, then {promotion} promotion."
        )
    if plan.rollback_window:
        lines.append(
            f"A rollback to one of the last {plan.rollback_window} revisions skips the steps "
            "and analysis (`rollbackWindow`): it goes straight to the stable version."
        )
    if plan.metrics:
        lines += [
            "",
            "| metric | query | success | interval | count | failure limit |",
            "|---|---|---|---|---|---|",
        ]
        for metric in plan.metrics:
            lines.append(
                f"| {code(metric.name)} | {code(metric.query)} | "
                f"{code(format_condition(metric.condition))} "
                f"| {metric.interval} | {metric.count} | {metric.failure_limit} |"
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
    plan: RolloutPlan,
    meta: ProposalMeta,
    changed: Sequence[str],
    *,
    deleted: Sequence[str] = (),
) -> str:
    """The evaluation report committed at `reports/<model>/<version>.md`."""
    sections = [
        title_section(evidence, decision),
        changes_section(meta.previous_version, meta.version, changed, deleted=deleted),
        decision_section(evidence, decision),
        significance_section(decision),
        lineage_section(evidence),
        params_section(evidence),
        rollout_plan_section(plan),
        rollback_section(meta.model, meta.environment, meta.previous_version),
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


__all__ = [
    "GITHUB_BODY_LIMIT",
    "changes_section",
    "promotion_report",
    "promotion_title",
    "pull_request_body",
    "rollback_section",
    "rollout_plan_section",
]
