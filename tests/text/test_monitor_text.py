"""What `monitor` writes for people: the evidence is inert markdown, links carry no secret."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.core.analysis import Point
from bot.core.drift import DriftMarker, read_drift_marker
from bot.core.monitor import MonitorVerdict, SignalResult
from bot.text.monitor import (
    drift_answer_note,
    evidence_comment,
    evidence_markdown,
    issue_body,
    verdict_json,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def verdict(reason: str, url: str | None) -> MonitorVerdict:
    signal = SignalResult(
        name="feature-psi",
        query="max(psi)",
        condition="result < 0.2",
        phase="breached",
        reason=reason,
        points=(Point(1.0, "fail", (0.4,), "result < 0.2 does not hold"),),
        start=0.0,
        end=1.0,
        graph_url=url,
    )
    return MonitorVerdict(
        "fraud", "production", "7", NOW, "drifted", (signal,), 3.0, 30, "drifted: x", 1.0
    )


def test_untrusted_reasons_are_inert_and_links_are_redacted() -> None:
    text = evidence_markdown(
        verdict(
            "Prometheus said <script>@team #12 `x`|y",
            "https://user:s3cret@prom.example/graph?g0.expr=up&token=abc",
        )
    )
    assert "<script>" not in text and "s3cret" not in text and "token=abc" not in text
    assert "@\u200dteam" in text and "#\u200d12" in text
    assert "0.4" in text and "graph" in text


def test_the_issue_body_ends_with_a_marker_that_reads_back() -> None:
    marker = DriftMarker("fraud", "production", "7", None)
    body = issue_body(verdict("r", None), "evidence\n", marker, "workflow train.yml of a/b")
    assert read_drift_marker(body) == marker
    assert "workflow train.yml of a/b" in body


def test_comments_say_whether_retraining_started() -> None:
    assert "not again" in evidence_comment("e", None, "24h")
    assert "retraining: workflow t.yml" in evidence_comment("e", "workflow t.yml", "24h")


def test_the_promotion_note_links_the_issue() -> None:
    assert drift_answer_note(12).startswith("**Answers drift #12:**")


def test_json_redacts_graph_links() -> None:
    data = verdict_json(verdict("r", "https://u:p@prom/graph?g0.expr=up"))
    assert "u:p@" not in str(data) and data["signals"][0]["samples"][0]["value"] == 0.4
