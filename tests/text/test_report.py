"""The report: markdown sections, escaping of untrusted text, text and JSON renderings."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.evidence import Evidence, load_evidence
from bot.core.gate import Decision, evaluate
from bot.core.policy import Policy, load_policy
from bot.core.untrusted import printable
from bot.text.markdown import ZWJ, code, escape, link
from bot.text.report import (
    decision_json,
    decision_section,
    decision_text,
    gate_report_markdown,
    gate_table,
    lineage_section,
    params_section,
    significance_section,
    title_section,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example() -> tuple[Evidence, Decision]:
    evidence = load_evidence(REPO / "examples" / "gate-results.json")
    policy = load_policy(REPO / "policies" / "production.yaml")
    return evidence, evaluate(
        policy, evidence, "production", policy_source="policies/production.yaml"
    )


def hostile_evidence(text: str) -> Evidence:
    return Evidence.model_validate(
        {
            "model": {"name": text, "version": text, "image": text, "tag": text},
            "metrics": {text: 1.0, "accuracy": 0.5},
            "champion": {"version": text, "metrics": {"accuracy": 0.4}},
            "lineage": {
                "code_commit": text,
                "dataset_version": text,
                "datasets": [text],
                "run_id": text,
                "run_url": text,
                "experiment_id": text,
                "params": {text: text},
            },
        }
    )


def policy(*gates: str) -> Policy:
    return Policy.model_validate(
        {
            "apiVersion": "model-bot/v1",
            "kind": "PromotionPolicy",
            "primary_metric": "accuracy",
            "gates": [{"metric": g} for g in gates],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("@octocat", f"@{ZWJ}octocat"),
        ("@acme/security-team", f"@{ZWJ}acme/security-team"),
        ("fixes #12", f"fixes #{ZWJ}12"),
        ("a | b", "a \\| b"),
        ("line1\nline2\r\n", "line1 line2  "),
        ("`code`", "\\`code\\`"),
        ("**bold** _it_ ~x~", "\\*\\*bold\\*\\* \\_it\\_ \\~x\\~"),
        ("[click](https://evil)", "\\[click\\](https://evil)"),
        ("back\\slash", "back\\\\slash"),
        ("<!-- hidden -->", "&lt;!-- hidden --&gt;"),
        ("\x1b[31mred", " [31mred".replace("[", "\\[")),
        ("\ud800", "\ufffd"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@pytest.mark.parametrize(
    ("text", "in_table", "expected"),
    [
        ("3f2a1c9", True, "`3f2a1c9`"),
        ("a`b", True, "``a`b``"),
        ("``x``", True, "``` ``x`` ```"),
        ("a|b", True, "`a\\|b`"),
        ("a|b", False, "`a|b`"),
        ("@user <b>", True, "`@user <b>`"),
        ("two\nlines", True, "`two lines`"),
        ("", True, "—"),
    ],
)
def test_code(text: str, in_table: bool, expected: str) -> None:
    assert code(text, in_table=in_table) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://mlflow.example.com/#/experiments/1/runs/abc",
            "[run](https://mlflow.example.com/#/experiments/1/runs/abc)",
        ),
        ("javascript:alert(1)", "run (`javascript:alert(1)`)"),
        ("https://x.example/a) [b](https://evil", "run (`https://x.example/a) [b](https://evil`)"),
        ("https://x.example/<img>", "run (`https://x.example/<img>`)"),
        (None, "run"),
    ],
)
def test_link(url: str | None, expected: str) -> None:
    assert link("run", url) == expected


HOSTILE = [
    "@octocat <img src=x onerror=alert(1)> | ` ``` \n# heading\n[x](javascript:alert(1)) #1 &amp;",
    "|||",
    "`",
    "<details>",
    "a\u2028b\x00c",
]


def strip_code_spans(markdown: str) -> str:
    """Markdown with its code spans (CommonMark: a backtick run closed by one of equal
    length, not after a backslash) replaced by `CODE`."""
    out, i = [], 0
    while i < len(markdown):
        ch = markdown[i]
        if ch == "\\":
            out.append(markdown[i : i + 2])
            i += 2
            continue
        if ch != "`":
            out.append(ch)
            i += 1
            continue
        run = re.compile(r"`+").match(markdown, i)
        assert run is not None
        close = next(
            (
                m
                for m in re.finditer(r"`+", markdown[run.end() :])
                if len(m.group()) == len(run.group())
            ),
            None,
        )
        if close is None:
            out.append(run.group())
            i = run.end()
        else:
            out.append("CODE")
            i = run.end() + close.end()
    return "".join(out)


def _rendered_markdown_is_inert(markdown: str, hostile: str) -> None:
    outside_code = strip_code_spans(markdown)
    # No raw HTML from the input: every < outside code that we did not write is escaped.
    ours = ("<details>", "<summary>", "</summary>", "</details>")
    for tag in re.findall(r"<[^>\n]*>?", outside_code):
        assert any(tag.startswith(o) for o in ours), tag
    # No @mention or #reference: each is broken by a zero-width joiner or inside code.
    assert not re.search(r"@(?!\u200d)\w", outside_code)
    assert not re.search(r"#(?!\u200d)\d", outside_code)
    # No link or image from the input.
    assert not re.search(r"(?<!\\)\]\((?!https://)", outside_code)
    # Tables keep their shape: every row of a table has as many cells as its header.
    for block in markdown.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if lines:
            counts = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
            assert len(counts) == 1, block


@pytest.mark.parametrize("hostile", HOSTILE)
def test_untrusted_text_cannot_break_the_report(hostile: str) -> None:
    evidence = hostile_evidence(hostile)
    decision = evaluate(
        policy("accuracy > 0.4", "regression_delta < 1"), evidence, policy_source=hostile
    )
    markdown = gate_report_markdown(evidence, decision)
    _rendered_markdown_is_inert(markdown, hostile)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_untrusted_text_stays_inert(hostile: str) -> None:
    evidence = hostile_evidence(hostile)
    decision = evaluate(policy("accuracy > 0.4"), evidence, policy_source=hostile)
    _rendered_markdown_is_inert(gate_report_markdown(evidence, decision), hostile)
    assert "\x1b" not in decision_text(decision)


def test_gate_report_has_every_section(example: tuple[Evidence, Decision]) -> None:
    evidence, decision = example
    markdown = gate_report_markdown(evidence, decision)
    assert markdown.startswith("## ✅ Gates passed: `fraud-detector` version `7`\n")
    for part in [
        title_section(evidence, decision),
        decision_section(evidence, decision),
        significance_section(decision),
        lineage_section(evidence),
        params_section(evidence),
    ]:
        assert part and part in markdown
    assert "| metric | threshold | candidate | champion | delta | verdict | reason |" in markdown
    assert (
        "| `accuracy[region=eu]` | `>= 0.93` | 0.947 | 0.944 | +0.003 | ✅ pass | 0.947 &gt;= 0.93 |"
        in markdown
    )
    # The regression row's delta is the regression gated (champion − candidate, -0.003), said
    # so in the reason; it used to show candidate − champion (+0.003), the opposite sign.
    assert (
        "| `regression_delta` | `< 0.005` | 0.951 | 0.948 | -0.003 | ✅ pass | "
        "regression\\_delta = -0.003 &lt; 0.005 (champion − candidate accuracy: 0.948 − 0.951) |"
        in markdown
    )
    assert (
        "| `delta.latency_p99_ms` | `<= 1` | 8.1 | 8.4 | -0.3 | ✅ pass | "
        "delta.latency\\_p99\\_ms = -0.3 &lt;= 1 "
        "(candidate − champion latency\\_p99\\_ms: 8.1 − 8.4) |" in markdown
    )
    assert "**Decision: pass** — 6 of 6 gates passed, significance pass" in markdown
    assert (
        "policy `policies/production.yaml`, environment `production` (no override in the policy)"
        in markdown
    )
    assert "| code commit | `3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39` |" in markdown
    assert "| dataset version | `fraud-eval@2026-11-01` |" in markdown
    assert (
        "[8f14e45fceea167a5a36dedd4bea2543](https://mlflow.example.com/#/experiments/12/runs/8f14e45fceea167a5a36dedd4bea2543)"
        in markdown
    )
    assert "| `learning_rate` | `0.05` |" in markdown
    assert "95% [+0.0005, +0.006]" in markdown
    assert markdown.endswith("</details>\n")


def test_failing_report_says_what_happens_next() -> None:
    evidence = load_evidence(REPO / "examples" / "gate-results-failing.json")
    decision = evaluate(load_policy(REPO / "policies" / "production.yaml"), evidence)
    markdown = gate_report_markdown(evidence, decision)
    assert markdown.startswith("## ❌ Gates failed:")
    assert "On failure the policy says: `block_and_notify`." in markdown
    assert "| `safety_violations` | `== 0` | 2 | 0 | +2 | ❌ fail | 2, needs == 0 |" in markdown


def test_sections_compose_at_other_heading_levels(example: tuple[Evidence, Decision]) -> None:
    evidence, decision = example
    assert decision_section(evidence, decision, level=2).startswith("## Gates\n")
    assert lineage_section(evidence, level=4).startswith("#### Lineage\n")
    assert title_section(evidence, decision, level=1).startswith("# ")


def test_no_significance_no_params_no_champion() -> None:
    evidence = Evidence.model_validate(
        {"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": 0.9}}
    )
    decision = evaluate(policy("regression_delta < 0.01"), evidence)
    assert significance_section(decision) == "" and params_section(evidence) == ""
    markdown = gate_report_markdown(evidence, decision)
    assert "against no champion yet (first promotion)" in markdown
    assert "no champion (first promotion)" in markdown
    assert "<details>" not in markdown


def test_no_gates() -> None:
    evidence = Evidence.model_validate({"model": {"name": "m", "version": "1"}, "metrics": {}})
    decision = evaluate(policy(), evidence)
    assert "_The policy has no gates._" in gate_report_markdown(evidence, decision)
    assert "(the policy has no gates)" in decision_text(decision)


def test_params_are_capped() -> None:
    evidence = Evidence.model_validate(
        {
            "model": {"name": "m", "version": "1"},
            "metrics": {},
            "lineage": {"params": {f"p{i:03}": i for i in range(120)}},
        }
    )
    section = params_section(evidence, limit=100)
    assert "Parameters (120)" in section and "_20 more not shown._" in section
    assert "`p099`" in section and "`p100`" not in section


def test_text_rendering(example: tuple[Evidence, Decision]) -> None:
    _, decision = example
    text = decision_text(decision)
    lines = text.splitlines()
    assert (
        lines[0]
        == "fraud-detector 7 vs champion 6 (policy policies/production.yaml, environment production)"
    )
    assert lines[2].split() == [
        "METRIC",
        "THRESHOLD",
        "CANDIDATE",
        "CHAMPION",
        "DELTA",
        "VERDICT",
        "REASON",
    ]
    assert lines[3].split()[:6] == ["accuracy", ">", "0.94", "0.951", "0.948", "+0.003"]
    assert "PASS" in lines[3]
    assert lines[-1] == "decision: PASS (6/6 gates passed)"
    assert any(
        line.startswith("significance (accuracy): PASS: improvement +0.003") for line in lines
    )
    # the reason column starts at the same place on every row
    starts = {
        line.rindex(word)
        for line, word in zip(
            lines[3:9], ["0.951", "0.947", "8.1", "delta", "regression", "0 =="], strict=True
        )
    }
    assert len(starts) == 1


def test_text_strips_terminal_escapes() -> None:
    evidence = hostile_evidence("\x1b]0;pwned\x07x")
    text = decision_text(evaluate(policy("accuracy > 0"), evidence))
    assert "\x1b" not in text and "\x07" not in text
    assert printable("a\nb\tc") == "a b c"


def test_json_rendering(example: tuple[Evidence, Decision]) -> None:
    _, decision = example
    data = json.loads(decision_json(decision))
    assert data["passed"] is True and data["verdict"] == "pass"
    assert data["environment"] == "production" and data["policy"] == "policies/production.yaml"
    assert data["rows"][0] == {
        "expression": "accuracy > 0.94",
        "metric": "accuracy",
        "op": ">",
        "threshold": 0.94,
        "candidate": 0.951,
        "champion": 0.948,
        "delta": 0.003,
        "value": 0.951,
        "derivation": None,
        "verdict": "pass",
        "reason": "0.951 > 0.94",
        "description": None,
    }
    sig: dict[str, Any] = data["significance"]
    assert sig["verdict"] == "pass" and sig["confidence"] == 0.95 and len(sig["interval"]) == 2


def test_json_handles_non_finite() -> None:
    evidence = Evidence.model_validate(
        {"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": math.inf}}
    )
    data = json.loads(decision_json(evaluate(policy("accuracy > 0"), evidence)))
    assert data["rows"][0]["candidate"] == "Infinity"


def test_gate_descriptions_get_a_column_only_when_the_policy_has_them() -> None:
    evidence = Evidence.model_validate(
        {"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": 0.9, "latency": 5}}
    )
    plain = evaluate(policy("accuracy > 0.8", "latency < 10"), evidence)
    assert "description" not in gate_table(plain) and "DESCRIPTION" not in decision_text(plain)

    described = Policy.model_validate(
        {
            **policy().model_dump(by_alias=True),
            "gates": [
                {"metric": "accuracy > 0.8", "description": "<b>@ml-team</b> | bar for v2"},
                {"metric": "latency < 10"},
            ],
        }
    )
    decision = evaluate(described, evidence)
    assert decision.rows[0].description == "<b>@ml-team</b> | bar for v2"
    assert json.loads(decision_json(decision))["rows"][1]["description"] is None
    table = gate_table(decision).splitlines()
    assert table[0].endswith("| reason | description |")
    assert table[2].count(" | ") == table[3].count(" | ") == 7  # the pipe is escaped
    assert "<b>" not in table[2] and "@ml-team" not in table[2]
    text = decision_text(decision).splitlines()
    assert text[2].endswith("REASON     DESCRIPTION")
    assert text[3].endswith("0.9 > 0.8  <b>@ml-team</b> | bar for v2")
    assert text[4].endswith("PASS     5 < 10")


def worse_candidate() -> Decision:
    """The report a new user could not read: a candidate 0.02 worse than the champion."""
    evidence = Evidence.model_validate(
        {
            "model": {"name": "m", "version": "2"},
            "metrics": {"accuracy": 0.93},
            "champion": {"version": "1", "metrics": {"accuracy": 0.95}},
        }
    )
    return evaluate(policy("regression_delta < 0.01", "accuracy > 0.9"), evidence)


def test_regression_row_shows_the_value_gated_in_text() -> None:
    lines = decision_text(worse_candidate()).splitlines()
    assert lines[2].split() == [
        "METRIC",
        "THRESHOLD",
        "CANDIDATE",
        "CHAMPION",
        "DELTA",
        "VERDICT",
        "REASON",
    ]
    # was: `regression_delta  < 0.01  0.93  0.95  -0.02  FAIL  regression_delta = 0.02, ...`
    assert lines[3].split()[:7] == [
        "regression_delta",
        "<",
        "0.01",
        "0.93",
        "0.95",
        "+0.02",
        "FAIL",
    ]
    assert lines[3].endswith(
        "regression_delta = 0.02, needs < 0.01 (champion − candidate accuracy: 0.95 − 0.93)"
    )
    assert lines[4].split()[:7] == ["accuracy", ">", "0.9", "0.93", "0.95", "-0.02", "PASS"]


def test_regression_row_shows_the_value_gated_in_markdown() -> None:
    table = gate_table(worse_candidate())
    assert (
        "| `regression_delta` | `< 0.01` | 0.93 | 0.95 | +0.02 | ❌ fail | regression\\_delta = "
        "0.02, needs &lt; 0.01 (champion − candidate accuracy: 0.95 − 0.93) |" in table
    )


def test_regression_row_shows_the_value_gated_in_json() -> None:
    row = json.loads(decision_json(worse_candidate()))["rows"][0]
    assert {k: row[k] for k in ("candidate", "champion", "delta", "value", "derivation")} == {
        "candidate": 0.93,
        "champion": 0.95,
        "delta": 0.02,
        "value": 0.02,
        "derivation": "champion − candidate accuracy: 0.95 − 0.93",
    }


def test_a_table_with_derived_rows_says_which_column_was_compared() -> None:
    decision = worse_candidate()
    note = (
        "Plain gates compare the candidate column with the threshold; derived gates "
        "(`delta.*`, `regression_delta`) compare the delta column, computed as their reason says."
    )
    evidence = Evidence.model_validate({"model": {"name": "m", "version": "2"}, "metrics": {}})
    assert note in decision_section(evidence, decision)
    text = decision_text(decision)
    assert (
        "(plain gates compare CANDIDATE with the threshold, derived gates DELTA: "
        "REASON says how it was computed)" in text
    )
    plain = evaluate(policy("accuracy > 0.9"), evidence)
    assert "derived gates" not in decision_section(evidence, plain)
    assert "derived gates" not in decision_text(plain)
