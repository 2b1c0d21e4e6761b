"""The evaluation report, as GitHub markdown, plain text and JSON. Pure: values in, text out.

`gate_report_markdown` is the whole report (job summary, the committed
`reports/<environment>/<model>/<version>.md`).
The section builders (`title_section`, `decision_section`, `significance_section`,
`lineage_section`, `params_section`) are public so the promotion PR body can compose them
with its own sections (rollout plan, ...).

Everything that comes from outside (metric and slice names, versions, params, tags, URLs)
passes through `escape`, `code` or `link`, which make it inert markdown: no raw HTML, no
@-mentions or #-references, no broken tables, no backtick breakout.
"""

from __future__ import annotations

import json

from bot.core.evidence import Evidence
from bot.core.gate import Decision, GateRow, SignificanceResult, fmt
from bot.core.untrusted import printable
from bot.text.markdown import code, escape, link, table

PARAMS_LIMIT = 100


def _verdict(passed: bool) -> str:
    return "✅ pass" if passed else "❌ fail"


def _model(decision: Decision) -> str:
    return (
        f"{code(decision.model, in_table=False)} version {code(decision.version, in_table=False)}"
    )


def title_section(evidence: Evidence, decision: Decision, level: int = 2) -> str:
    """`## ✅ Gates passed: `fraud-detector` version `7``"""
    mark = "✅ Gates passed" if decision.passed else "❌ Gates failed"
    return f"{'#' * level} {mark}: {_model(decision)}"


def _policy_line(decision: Decision) -> str:
    parts = []
    if decision.policy:
        parts.append(f"policy {code(decision.policy, in_table=False)}")
    if decision.environment:
        env = f"environment {code(decision.environment, in_table=False)}"
        if decision.policy and not decision.environment_override:
            env += " (no override in the policy)"
        parts.append(env)
    return ", ".join(parts)


DERIVED_NOTE = (
    "Plain gates compare the candidate column with the threshold; derived gates "
    "(`delta.*`, `regression_delta`) compare the delta column, computed as their reason says."
)
DERIVED_NOTE_TEXT = (
    "(plain gates compare CANDIDATE with the threshold, derived gates DELTA: "
    "REASON says how it was computed)"
)


def _has_derived(decision: Decision) -> bool:
    return any(row.derivation is not None for row in decision.rows)


def gate_table(decision: Decision) -> str:
    """The gate table: one row per gate. A row's delta is candidate − champion, except that
    a derived gate's (`delta.*`, `regression_delta`) is the value it compared; its reason
    says how that was computed (`champion − candidate accuracy: 0.948 − 0.951`)."""
    if not decision.rows:
        return "_The policy has no gates._"
    header = ["metric", "threshold", "candidate", "champion", "delta", "verdict", "reason"]
    described = any(row.description for row in decision.rows)
    return table(
        [*header, "description"] if described else header,
        (
            [*_gate_cells(row), escape(row.description or "")] if described else _gate_cells(row)
            for row in decision.rows
        ),
    )


def _gate_cells(row: GateRow) -> list[str]:
    return [
        code(row.metric),
        code(f"{row.op} {fmt(row.threshold)}"),
        fmt(row.candidate),
        fmt(row.champion),
        fmt(row.delta, signed=True),
        _verdict(row.passed),
        escape(row.reason),
    ]


def decision_section(evidence: Evidence, decision: Decision, level: int = 3) -> str:
    """A one-line verdict (which candidate, against which champion, under which policy)
    followed by the gate table."""
    passed = sum(row.passed for row in decision.rows)
    champion = (
        f"champion version {code(decision.champion_version, in_table=False)}"
        if decision.champion_version is not None
        else "no champion yet (first promotion)"
    )
    summary = f"**Decision: {decision.verdict}** — {passed} of {len(decision.rows)} gates passed"
    if decision.significance is not None:
        summary += f", significance {decision.significance.verdict}"
    context = _policy_line(decision)
    lines = [
        f"{'#' * level} Gates",
        "",
        f"{summary}. Candidate {_model(decision)} against {champion}"
        + (f"; {context}." if context else "."),
        "",
        gate_table(decision),
    ]
    if _has_derived(decision):
        lines += ["", DERIVED_NOTE]
    if not decision.passed:
        lines += ["", f"On failure the policy says: {code(decision.on_fail, in_table=False)}."]
    return "\n".join(lines)


def significance_section(decision: Decision, level: int = 3) -> str:
    """The paired bootstrap's result; empty when the policy has no significance test."""
    result = decision.significance
    if result is None:
        return ""
    return "\n".join(
        [
            f"{'#' * level} Significance",
            "",
            table(
                ["metric", "examples", "improvement", "interval", "verdict", "reason"],
                [_significance_cells(result)],
            ),
            "",
            f"Paired bootstrap of the mean per-example improvement ({result.goal} "
            f"{code(result.metric, in_table=False)}), {result.resamples} resamples, seed "
            f"{result.seed}; {'required' if result.required else 'advisory'}.",
        ]
    )


def _significance_cells(result: SignificanceResult) -> list[str]:
    interval = (
        f"{result.confidence * 100:g}% [{fmt(result.interval[0], signed=True)}, "
        f"{fmt(result.interval[1], signed=True)}]"
        if result.interval is not None
        else "—"
    )
    return [
        code(result.metric),
        str(result.n) if result.n else "—",
        fmt(result.estimate, signed=True),
        interval,
        _verdict(result.verdict == "pass"),
        escape(result.reason),
    ]


def lineage_section(evidence: Evidence, level: int = 3) -> str:
    """Where the candidate came from: image, code commit, data, MLflow run."""
    lineage = evidence.lineage
    model = evidence.model
    rows: list[tuple[str, str]] = [
        ("model", f"{code(model.name)} version {code(model.version)}"),
    ]
    if model.image:
        rows.append(("image", code(f"{model.image}:{evidence.image_tag}")))
    if model.uri:
        rows.append(("model URI", code(model.uri)))
    if evidence.champion is not None:
        version = code(evidence.champion.version)
        rows.append(
            (
                "champion",
                f"the deployed version {version} (no registry alias)"
                if evidence.champion.deployed
                else f"version {version}",
            )
        )
    if lineage.code_commit:
        rows.append(("code commit", code(lineage.code_commit)))
    if lineage.dataset_version:
        rows.append(("dataset version", code(lineage.dataset_version)))
    if lineage.datasets:
        rows.append(("datasets", ", ".join(code(d) for d in lineage.datasets)))
    if lineage.run_id or lineage.run_url:
        label = lineage.run_id or "run"
        rows.append(("MLflow run", link(label, lineage.run_url)))
    if lineage.experiment_id:
        rows.append(("MLflow experiment", code(lineage.experiment_id)))
    return "\n".join([f"{'#' * level} Lineage", "", table(["", ""], rows)])


def params_section(evidence: Evidence, limit: int = PARAMS_LIMIT) -> str:
    """The run's parameters, folded; empty when there are none."""
    params = sorted(evidence.lineage.params.items())
    if not params:
        return ""
    shown = params[:limit]
    lines = [
        f"<details><summary>Parameters ({len(params)})</summary>",
        "",
        table(["parameter", "value"], ((code(k), code(v)) for k, v in shown)),
    ]
    if len(params) > limit:
        lines += ["", f"_{len(params) - limit} more not shown._"]
    lines += ["", "</details>"]
    return "\n".join(lines)


def gate_report_markdown(evidence: Evidence, decision: Decision) -> str:
    """The whole evaluation report."""
    sections = [
        title_section(evidence, decision),
        decision_section(evidence, decision),
        significance_section(decision),
        lineage_section(evidence),
        params_section(evidence),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


# --- text and JSON -----------------------------------------------------------------------------


def decision_text(decision: Decision) -> str:
    """The decision for a terminal: a header, one aligned row per gate, the verdict."""
    champion = (
        f"champion {printable(decision.champion_version)}"
        if decision.champion_version is not None
        else "no champion"
    )
    header = f"{printable(decision.model)} {printable(decision.version)} vs {champion}"
    context = []
    if decision.policy:
        context.append(f"policy {printable(decision.policy)}")
    if decision.environment:
        context.append(f"environment {printable(decision.environment)}")
    if context:
        header += f" ({', '.join(context)})"
    described = any(row.description for row in decision.rows)
    rows = [["METRIC", "THRESHOLD", "CANDIDATE", "CHAMPION", "DELTA", "VERDICT", "REASON"]]
    if described:
        rows[0].append("DESCRIPTION")
    for row in decision.rows:
        cells = [
            printable(row.metric),
            f"{row.op} {fmt(row.threshold)}",
            fmt(row.candidate),
            fmt(row.champion),
            fmt(row.delta, signed=True),
            row.verdict.upper(),
            printable(row.reason),
        ]
        rows.append([*cells, printable(row.description or "")] if described else cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [header, ""] if decision.rows else [header, "", "(the policy has no gates)"]
    if decision.rows:
        lines += [
            "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
            for r in rows
        ]
    if _has_derived(decision):
        lines.append(DERIVED_NOTE_TEXT)
    result = decision.significance
    if result is not None:
        lines += [
            "",
            f"significance ({printable(result.metric)}): {result.verdict.upper()}: "
            f"{printable(result.reason)}",
        ]
    passed = sum(row.passed for row in decision.rows)
    lines += [
        "",
        f"decision: {decision.verdict.upper()} ({passed}/{len(decision.rows)} gates passed)",
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def decision_json(decision: Decision) -> str:
    """The decision as JSON (ASCII only; non-finite numbers as strings)."""
    return json.dumps(decision.to_dict(), indent=2, allow_nan=False) + "\n"


__all__ = [
    "decision_json",
    "decision_section",
    "decision_text",
    "gate_report_markdown",
    "gate_table",
    "lineage_section",
    "params_section",
    "significance_section",
    "title_section",
]
