"""A rollback as text (bot.text.rollback) and the emergency path it states (bot.core.rollback_window)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from bot.core.marker import ProposalMeta, read_marker
from bot.core.pulls import PullRequestInfo
from bot.core.rollback_window import check_rollback_window
from bot.core.trailers import trailer_value
from bot.text.proposal import GITHUB_BODY_LIMIT
from bot.text.rollback import (
    backlink_comment,
    emergency_note,
    followup_comment,
    rollback_body,
    rollback_title,
)

HOSTILE = (
    "@everyone <img src=x onerror=alert(1)> <!-- hidden --> [click](javascript:alert(1)) "
    "`tick` ``` fence #123 *bold* | pipe\n## injected heading\r\n- item \x1b[31mred"
)
META = ProposalMeta("rollback", "fraud-detector", "production", "6", "7")
PROMOTION = PullRequestInfo(
    number=12,
    url="https://github.com/acme/env/pull/12",
    state="closed",
    title="Promote fraud-detector 7 to production",
    body="",
    head_ref="model-bot/promote/production/fraud-detector",
    head_sha="a" * 40,
    base_ref="main",
    merged=True,
    merge_commit_sha="b" * 40,
    labels=(),
)
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc)
GRAPH = "http://prometheus.monitoring.svc:9090/graph?g0.expr=sum%28x%29&g0.tab=0"


def body(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "reason": "error rate 5 %",
        "requested_by": None,
        "evidence_markdown": None,
        "promotion_pull": PROMOTION,
        "emergency": "Argo Rollouts will roll back without canary steps or analysis because …",
        "method": "revert",
        "method_commit": "c" * 40,
        "changed": ["environments/production/fraud-detector/values.yaml"],
    }
    arguments.update(overrides)
    return rollback_body(META, **arguments)  # type: ignore[arg-type]


def outside_code(text: str) -> str:
    """`text` without its code spans (literal on GitHub: no mentions, links or HTML)."""
    return re.sub(r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", text)


def assert_inert(text: str) -> None:
    """No live mention, link, HTML, injected heading or list, or control character."""
    prose = outside_code(text)
    assert re.search(r"@everyone", prose) is None
    assert "<img" not in text and "<!--" not in text.replace("<!-- model-bot:", "")
    assert re.search(r"(?<!\\)\]\(javascript:", prose) is None
    assert "\n## injected" not in text and "\n- item" not in text
    assert "\x1b" not in text and "\r" not in text
    assert re.search(r"(?<![\w&])#123\b", prose) is None


# --------------------------------------------------------------------------- PR body


def test_body_has_reason_promotion_emergency_change_and_marker() -> None:
    text = body()
    assert text.startswith("## ⏪ Roll back `fraud-detector` in `production`: `7` → `6`\n")
    assert "**Reason:** error rate 5 %" in text
    assert "**Promotion:** #12 promoted `7`; this pull request undoes it." in text
    assert "### Emergency path\n\nArgo Rollouts will roll back without canary steps" in text
    assert "`git revert` of `cccccccccccc`" in text
    assert "- `environments/production/fraud-detector/values.yaml`" in text
    assert read_marker(text) == META
    assert "Requested by" not in text


def test_body_escapes_a_hostile_reason_and_requester() -> None:
    text = body(reason=HOSTILE, requested_by="@mallory <script>")
    assert_inert(text)
    assert "**Requested by:** @\u200dmallory &lt;script&gt;" in text
    reason_line = next(line for line in text.splitlines() if line.startswith("**Reason:**"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in reason_line
    assert "\\[click\\](javascript:alert(1))" in reason_line
    assert "\\`tick\\`" in reason_line and "\\*bold\\*" in reason_line
    assert read_marker(text) == META  # the reason cannot forge the marker


def test_body_without_reason_promotion_or_with_restore() -> None:
    text = body(reason="  \n ", promotion_pull=None, method="restore")
    assert "**Reason:** _no reason given._" in text
    assert "no merged promotion pull request of `7` was found" in text
    assert "The model's folder restored exactly as it was at `cccccccccccc`" in text


def test_body_includes_the_evidence_and_stays_under_githubs_limit() -> None:
    evidence = "### ❌ Canary analysis: fail\n\n" + "- a line of evidence\n" * 5000
    text = body(evidence_markdown=evidence)
    assert "### ❌ Canary analysis: fail" in text
    assert len(text) <= GITHUB_BODY_LIMIT
    assert "Report truncated" in text and read_marker(text) == META


def test_title_comments_and_trailer() -> None:
    assert rollback_title("m", "prod", "7", "6") == "Roll back m in prod: 7 → 6"
    revert = PROMOTION.__class__(**{**PROMOTION.__dict__, "number": 13})
    assert backlink_comment(revert, "7", "6") == (
        "model-bot: a rollback of `7` to `6` is proposed in #13."
    )
    assert followup_comment("", None, None) is None
    assert followup_comment("  ", "alice", "\n") is None
    comment = followup_comment(HOSTILE, "@bob", "### Evidence\n")
    assert comment is not None
    assert comment.startswith("model-bot: the rollback was requested again by @\u200dbob.")
    assert_inert(comment)
    assert comment.endswith("### Evidence\n")
    reason = trailer_value(HOSTILE * 3)
    assert "\n" not in reason and "\x1b" not in reason and len(reason) <= 200
    assert trailer_value(" \t") == ""


# --------------------------------------------------------------------------- emergency path

ROLLOUT = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  replicas: 2
  rollbackWindow:
    revisions: 3
"""


@pytest.mark.parametrize(
    ("data", "distance", "fast", "revisions", "warning"),
    [
        (ROLLOUT, 1, True, 3, None),
        (ROLLOUT, 3, True, 3, None),
        (ROLLOUT, 4, False, 3, "4 revisions back, outside the Rollout's rollbackWindow of 3"),
        (
            ROLLOUT.replace(b"  rollbackWindow:\n    revisions: 3\n", b""),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (
            ROLLOUT.replace(b"revisions: 3", b"revisions: 0"),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (
            ROLLOUT.replace(b"revisions: 3", b"revisions: true"),
            1,
            False,
            None,
            "has no spec.rollbackWindow",
        ),
        (None, 1, False, None, "the target version has no Rollout there"),
        (b"kind: Deployment\n", 1, False, None, "it holds no Rollout"),
        (b"spec: [unclosed\n", 1, False, None, "it is not valid YAML"),
    ],
)
def test_rollback_window(
    data: bytes | None, distance: int, fast: bool, revisions: int | None, warning: str | None
) -> None:
    check = check_rollback_window(data, "environments/p/m/rollout.yaml", distance)
    assert (check.fast, check.revisions) == (fast, revisions)
    note, said = emergency_note(check, "6")
    if warning is None:
        assert said is None
        assert note.startswith("Argo Rollouts will roll back without canary steps or analysis")
        assert "`spec.rollbackWindow.revisions: 3`" in note
        assert "argoproj/argo-rollouts#2168" in note
    else:
        assert said is not None and warning in said
        assert note.startswith("⚠️ **Warning:**")
        assert "\n" not in note
