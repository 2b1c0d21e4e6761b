"""A canary analysis as text: the PR section with the evidence, the terminal report, the
comment for `on_regression: notify`, and the JSON result. Pure.

The Prometheus URL and the graph links are shown redacted (`bot.text.redact.redact_url`):
a URL given on the command line or in `.model-bot.yaml` may hold credentials."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot.core.analysis import Measurement, Verdict
from bot.core.canary import AnalyzeResult, Canary
from bot.core.expressions import format_number, nonfinite_text
from bot.core.untrusted import printable
from bot.text.markdown import code, escape, link
from bot.text.redact import redact_url

_MARK = {"pass": "✅", "fail": "❌", "inconclusive": "❔"}


def number_text(value: float | None) -> str:
    if value is None:
        return "—"
    special = nonfinite_text(value)
    if special is not None:
        return special
    return format_number(value) if value.is_integer() else f"{value:.4g}"


def _url(url: str | None) -> str | None:
    return None if url is None else redact_url(url)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _values(m: Measurement) -> str:
    return ", ".join(number_text(v) for v in m.values) or "none"


def _tally(m: Measurement) -> str:
    return (
        f"{m.count} measurements {_duration(m.interval)} apart: {m.passed} passed, "
        f"{m.failed} failed, {m.errors} unusable (failure limit {m.failure_limit})"
    )


def _thresholds(m: Measurement) -> str:
    return ", ".join(number_text(t) for t in m.thresholds)


def _basis(verdict: Verdict) -> str:
    if verdict.source == "template":
        return "the committed AnalysisTemplate " + ", ".join(verdict.templates)
    return "the policy's analysis metrics"


def evidence_markdown(verdict: Verdict, canary: Canary, level: int = 3) -> str:
    """The analysis as a markdown section: for every metric its query (a code span), values,
    condition and threshold, phase, reason and a link to the Prometheus graph."""
    heading = "#" * level
    previous = f" (stable {code(canary.previous, in_table=False)})" if canary.previous else ""
    lines = [
        f"{heading} {_MARK[verdict.phase]} Canary analysis: {verdict.phase}",
        "",
        f"{code(canary.model, in_table=False)} {code(canary.version, in_table=False)} in "
        f"{code(canary.environment, in_table=False)}{previous}, judged at "
        f"{_moment(verdict.evaluated_at)} against {link('Prometheus', _url(canary.prometheus_url))}.",
        "",
        f"**Verdict:** {escape(verdict.summary)}",
        "",
        f"Judged with {escape(_basis(verdict))}.",
    ]
    if verdict.differences:
        lines += ["", "**Differences from the policy:**", ""]
        lines += [f"- {escape(line)}" for line in verdict.differences]
    for m in verdict.measurements:
        relative = " (canary ÷ stable)" if m.relative else ""
        lines += [
            "",
            f"{'#' * (level + 1)} {_MARK[m.phase]} {code(m.metric, in_table=False)}: {m.phase}",
            "",
            f"- query: {code(m.query, in_table=False)}",
            f"- condition: {code(m.condition, in_table=False)}{relative}, threshold "
            f"{_thresholds(m)}",
            f"- values: {escape(_values(m))} (latest {number_text(m.latest)})",
            f"- measurements: {_tally(m)}",
            f"- reason: {escape(m.reason)}",
            f"- graph: {link('Prometheus graph', _url(m.graph_url))}",
        ]
    return "\n".join(lines) + "\n"


def notify_comment(canary: Canary, evidence: str) -> str:
    return (
        f"model-bot: the canary of {code(canary.model, in_table=False)} "
        f"{code(canary.version, in_table=False)} in {code(canary.environment, in_table=False)} "
        "failed its analysis. The policy says `on_regression: notify`, so nothing was "
        "reverted: comment `/rollback <reason>` to open a revert pull request.\n\n" + evidence
    )


def verdict_text(verdict: Verdict, canary: Canary) -> str:
    """The analysis for a terminal: one block per metric, then the verdict."""
    previous = f" (stable {printable(canary.previous)})" if canary.previous else ""
    lines = [
        f"canary: {printable(canary.model)} {printable(canary.version)} in "
        f"{printable(canary.environment)}{previous}",
        f"prometheus: {printable(redact_url(canary.prometheus_url))} at {_moment(verdict.evaluated_at)}",
        f"judged with: {printable(_basis(verdict))}",
    ]
    lines += [f"difference: {printable(line)}" for line in verdict.differences]
    for m in verdict.measurements:
        relative = " (canary / stable)" if m.relative else ""
        lines += [
            "",
            f"{printable(m.metric)}: {m.phase.upper()}: {printable(m.reason)}",
            f"  query:     {printable(m.query)}",
            f"  condition: {printable(m.condition)}{relative} (threshold {_thresholds(m)})",
            f"  values:    {_values(m)} (latest {number_text(m.latest)})",
            f"  measured:  {_tally(m)}",
            f"  graph:     {printable(_url(m.graph_url) or '—')}",
        ]
    lines += ["", f"verdict: {verdict.phase.upper()}: {printable(verdict.summary)}"]
    return "\n".join(lines) + "\n"


def result_json(result: AnalyzeResult) -> str:
    """The analysis and what came of it, as JSON (non-finite numbers as null)."""
    pr = result.pull_request
    canary = result.canary
    verdict = result.verdict.to_dict()
    for measurement in verdict.get("measurements", ()):
        measurement["graph_url"] = _url(measurement.get("graph_url"))
    data: dict[str, Any] = {
        "model": canary.model,
        "environment": canary.environment,
        "version": canary.version,
        "previous_version": canary.previous,
        "prometheus_url": redact_url(canary.prometheus_url),
        "verdict": verdict,
        "action": result.action,
        "outcome": result.outcome,
        "reason": result.reason,
        "pull_request": {"number": pr.number, "url": pr.url} if pr else None,
        "rollback": None,
        "warnings": list(result.warnings),
    }
    if result.rollback is not None:
        data["rollback"] = {
            "outcome": result.rollback.outcome,
            "method": result.rollback.method,
            "from_version": result.rollback.from_version,
            "to_version": result.rollback.to_version,
            "branch": result.rollback.branch,
            "commit": result.rollback.commit,
            "merged": result.rollback.merged,
        }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


__all__ = ["evidence_markdown", "notify_comment", "number_text", "result_json", "verdict_text"]
