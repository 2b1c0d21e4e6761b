"""What `model-bot monitor` says: the verdicts as text and JSON, and the drift issue's body and
comments (every signal's values and graph link). Pure."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.core.drift import DriftMarker
from bot.core.monitor import MonitorVerdict, SignalResult
from bot.text.analysis import number_text
from bot.text.markdown import code, escape, link, table
from bot.text.redact import redact_url

_MARK = {"ok": "✅", "breached": "❌", "no-data": "❔", "error": "❔"}
MAX_VALUES_SHOWN = 24  # values of a signal listed in the issue (the newest)


def _moment(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _since(verdict: MonitorVerdict) -> str:
    return "unknown" if verdict.since is None else f"{verdict.since:%Y-%m-%d %H:%M} UTC"


def _age(verdict: MonitorVerdict) -> str:
    if verdict.age_days is None:
        return "unknown"
    limit = f" (max {verdict.max_age_days})" if verdict.max_age_days is not None else ""
    return f"{verdict.age_days:.1f} days{limit}"


def _values(signal: SignalResult) -> str:
    shown = [p for p in signal.points if p.values][-MAX_VALUES_SHOWN:]
    if not shown:
        return "none"
    return ", ".join(number_text(p.values[0]) for p in shown)


def signal_json(signal: SignalResult) -> dict[str, Any]:
    return {
        "name": signal.name,
        "phase": signal.phase,
        "reason": signal.reason,
        "query": signal.query,
        "condition": signal.condition,
        "window_start": signal.start,
        "window_end": signal.end,
        "baseline": signal.baseline,
        "latest": signal.latest,
        "failed": signal.failed,
        "usable": signal.usable,
        "samples": [
            {
                "time": p.time,
                "outcome": p.outcome,
                "value": p.values[0] if p.values else None,
                "reason": p.reason,
            }
            for p in signal.points
        ],
        "graph_url": None if signal.graph_url is None else redact_url(signal.graph_url),
    }


def verdict_json(verdict: MonitorVerdict) -> dict[str, Any]:
    return {
        "model": verdict.model,
        "environment": verdict.environment,
        "version": verdict.version,
        "since": None if verdict.since is None else verdict.since.isoformat(),
        "health": verdict.health,
        "summary": verdict.summary,
        "reasons": list(verdict.reasons),
        "age_days": verdict.age_days,
        "max_age_days": verdict.max_age_days,
        "evaluated_at": verdict.evaluated_at,
        "signals": [signal_json(s) for s in verdict.signals],
    }


def verdict_text(verdict: MonitorVerdict) -> str:
    lines = [
        f"{verdict.model} {verdict.version or '(nothing deployed)'} in {verdict.environment}: "
        f"{verdict.health.upper()}",
        f"  deployed {_since(verdict)}, age {_age(verdict)}",
    ]
    for signal in verdict.signals:
        lines.append(f"  {_MARK[signal.phase]} {signal.name}: {signal.phase}: {signal.reason}")
    lines.append(f"  {verdict.summary}")
    return "\n".join(lines) + "\n"


def evidence_markdown(verdict: MonitorVerdict) -> str:
    """The evidence of one judgement: each signal's window, values and graph link."""
    rows = [
        [
            f"{_MARK[s.phase]} {escape(s.name)}",
            code(s.condition),
            f"{_moment(s.start)} → {_moment(s.end)}",
            escape(_values(s)),
            escape(s.reason),
            link("graph", None if s.graph_url is None else redact_url(s.graph_url)),
        ]
        for s in verdict.signals
    ]
    parts = [
        f"**{escape(verdict.summary)}**",
        "",
        f"Deployed version {code(verdict.version or 'none')} since {_since(verdict)}; "
        f"age {_age(verdict)}; judged at {_moment(verdict.evaluated_at)}. Only samples "
        "since the deployment count.",
    ]
    if rows:
        parts += [
            "",
            table(
                ["signal", "healthy when", "window", "values (oldest first)", "why", "graph"], rows
            ),
        ]
    return "\n".join(parts).rstrip() + "\n"


def issue_body(verdict: MonitorVerdict, evidence: str, marker: DriftMarker, target: str) -> str:
    """The tracking issue: what drifted, what was started, the first evidence, the marker."""
    return (
        f"## Drift: {code(verdict.model)} in {code(verdict.environment)}\n\n"
        f"{evidence}\n"
        f"Retraining: {target}.\n\n"
        "Later breaches add their evidence here as comments; within the cooldown they start "
        "no second retraining. The promotion of the retrained version closes this issue when "
        "it merges (`model-bot promote --drift-issue N`).\n\n"
        f"{marker.text()}\n"
    )


def evidence_comment(evidence: str, dispatched: str | None, cooldown: str) -> str:
    """A later breach's comment: `dispatched` names what was started again (or that no
    target is configured); None: within the cooldown, nothing was started."""
    if dispatched is not None:
        head = f"Still drifting; retraining: {dispatched}."
    else:
        head = f"Still drifting; retraining was started less than {code(cooldown)} ago: not again."
    return f"{head}\n\n{evidence}"


def closing_comment(model: str, environment: str, version: str, pull: str | None) -> str:
    where = f" ({pull})" if pull else ""
    return (
        f"The retrained {code(model)} {code(version)} was promoted to {code(environment)}"
        f"{where}: closing this drift issue."
    )


def drift_answer_note(issue: int) -> str:
    """The promotion pull request's paragraph naming the drift it answers (`#N` is a
    number: GitHub links it)."""
    return (
        f"**Answers drift #{issue}:** this version was retrained because `model-bot monitor` "
        f"found the deployed one drifted; merging this promotion closes #{issue}."
    )


__all__ = [
    "closing_comment",
    "drift_answer_note",
    "evidence_comment",
    "evidence_markdown",
    "issue_body",
    "signal_json",
    "verdict_json",
    "verdict_text",
]
