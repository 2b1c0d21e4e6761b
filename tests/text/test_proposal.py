"""The promotion proposal as text (pure): report, PR body and its limit, marker, diff, commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.evidence import Evidence, load_evidence
from bot.core.gate import evaluate
from bot.core.marker import ProposalMeta, read_marker
from bot.core.plan import rollout_plan
from bot.core.policy import Policy, load_policy
from bot.core.queries import QueryContext
from bot.text.diff import unified_diff
from bot.text.markdown import ZWJ
from bot.text.proposal import GITHUB_BODY_LIMIT, promotion_report, pull_request_body

REPO = Path(__file__).resolve().parents[2]
DEFAULT = load_policy(REPO / "policies" / "default.yaml")
CONTEXT = QueryContext(model="fraud-detector", environment="production", namespace="ml-production")
META = ProposalMeta("promote", "fraud-detector", "production", "7", "6")
REPORT_URL = "https://github.com/acme/env/blob/0123abc/reports/fraud-detector/7.md"
CHANGED = ["environments/production/fraud-detector/values.yaml"]
ALLOWED_TAGS = {"<details>", "<summary>", "</summary>", "</details>"}


def report_for(evidence: Evidence, policy: Policy = DEFAULT) -> str:
    decision = evaluate(policy, evidence, "production", policy_source="policies/default.yaml")
    plan = rollout_plan(policy.for_environment("production"), CONTEXT)
    return promotion_report(evidence, decision, plan, META, CHANGED)


def example(**changes: object) -> Evidence:
    evidence = load_evidence(REPO / "examples" / "gate-results.json")
    data = evidence.model_dump()
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
    return Evidence.model_validate(data)


def outside_code(markdown: str) -> str:
    """The markdown with code spans (any fence length) removed."""
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def assert_tables_intact(markdown: str) -> None:
    """Every table row has as many cells as its header, and no row is cut or split."""
    header: int | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        assert line.endswith("|"), line
        if header is None:
            header = unescaped_pipes(line)
        assert unescaped_pipes(line) == header, line


def assert_inert(markdown: str) -> None:
    """No raw HTML but our own folding tags and the marker; no @-mentions or #-references."""
    text = outside_code(markdown)
    text = re.sub(r"<!-- model-bot: \{[^\n]*\} -->", "", text)
    assert set(re.findall(r"</?[A-Za-z!][^>\s]*>?", text)) <= ALLOWED_TAGS
    assert not re.search(r"@[A-Za-z0-9]", text)
    assert not re.search(r"#[0-9]", text)


# --- the report and the body ------------------------------------------------------------------


def test_body_is_the_report_plus_the_marker() -> None:
    report = report_for(example())
    body = pull_request_body(report, META, REPORT_URL)
    assert body == report + "\n\n" + META.marker() + "\n"
    for section in ("### Change", "### Gates", "### Lineage", "### Rollout plan"):
        assert section in report
    assert "| `accuracy` | `> 0.94` | 0.951 | 0.948 | +0.003 | ✅ pass |" in report
    assert "`6` → `7`" in report
    assert "comment `/rollback <reason>` here" in report and "back to version `6`" in report
    assert_tables_intact(body)
    assert_inert(body)


@pytest.mark.parametrize(
    "meta",
    [
        META,
        ProposalMeta("promote", "m", "staging", "1", None),
        ProposalMeta("rollback", "fraud-detector", "production", "6", "7"),
        ProposalMeta("promote", "a-b", "prod-eu", "1.2.3-rc.1+build.5", "1.2.2"),
    ],
)
def test_marker_round_trip(meta: ProposalMeta) -> None:
    assert read_marker(pull_request_body("# report\n", meta, None)) == meta
    assert read_marker("text before\n" + meta.marker() + "\ntext after") == meta


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no marker here",
        "<!-- model-bot: not json -->",
        '<!-- model-bot: {"action": "promote"} -->',
        '<!-- model-bot: {"action": "promote", "model": "m"',
        "<!-- model-bot: [1, 2] -->",
    ],
)
def test_marker_absent_or_broken_reads_as_none(body: str) -> None:
    assert read_marker(body) is None


def test_the_real_marker_wins_over_one_in_untrusted_text() -> None:
    forged = ProposalMeta("rollback", "fraud-detector", "production", "666", "1").marker()
    evidence = example(**{"lineage.params": {"note": forged}, "lineage.run_id": forged})
    body = pull_request_body(report_for(evidence), META, REPORT_URL)
    assert read_marker(body) == META


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</details><script>alert(1)</script>",
    "@octocat please merge",
    "@acme/security-team",
    "fixes #12",
    "a | b | c",
    "line one\nline two\r\n| x | y |",
    "`code` ``more``",
    "[click](https://evil.example)",
    "<!-- model-bot: {} -->",
    "\x1b[31mred\x1b[0m",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_untrusted_text_stays_inert(text: str) -> None:
    evidence = example(
        **{
            "model.image": text,
            "model.tag": text,
            "model.uri": text,
            "champion.version": text,
            "lineage.code_commit": text,
            "lineage.dataset_version": text,
            "lineage.datasets": [text, "ok"],
            "lineage.run_id": text,
            "lineage.run_url": text,
            "lineage.experiment_id": text,
            "lineage.params": {text: text, "plain": "1"},
            "metrics": {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0, text: 1},
        }
    )
    policy = Policy.model_validate(
        {
            **DEFAULT.model_dump(by_alias=True),
            "gates": [
                {"metric": "accuracy > 0.94"},
                {"metric": "acc/odd-name:x[region=eu west/1] > 0.5"},
            ],
        }
    )
    body = pull_request_body(report_for(evidence, policy), META, REPORT_URL)
    assert_tables_intact(body)
    assert_inert(body)
    assert read_marker(body) == META
    assert "\x1b" not in body


# --- GitHub's body limit ------------------------------------------------------------------------


def test_body_at_the_limit_is_whole_and_one_over_is_cut() -> None:
    marker = "\n\n" + META.marker() + "\n"
    fits = "x" * (GITHUB_BODY_LIMIT - len(marker) - 1) + "\n"
    assert pull_request_body(fits, META, REPORT_URL) == fits + marker
    over = "y\n" + fits
    body = pull_request_body(over, META, REPORT_URL)
    assert len(body) <= GITHUB_BODY_LIMIT
    assert "**Report truncated**" in body and read_marker(body) == META


def test_thousands_of_long_params_are_cut_with_a_link_to_the_committed_report() -> None:
    params = {f"param_{i:05d}": f"value {i} " + "v" * 2_000 for i in range(3_000)}
    evidence = example(**{"lineage.params": params})
    report = report_for(evidence)
    assert len(report) > 3 * GITHUB_BODY_LIMIT

    body = pull_request_body(report, META, REPORT_URL)

    assert len(body) <= GITHUB_BODY_LIMIT
    assert body.endswith("\n\n" + META.marker() + "\n")
    assert read_marker(body) == META
    assert f"read [the committed report]({REPORT_URL})." in body
    head, _notice = body.split("\n\n---\n**Report truncated**", 1)
    assert report.startswith(head.removesuffix("\n\n</details>"))
    # The cut falls inside the folded parameters: they are closed, so the notice shows.
    assert head.endswith("\n\n</details>")
    assert head.count("<details>") == head.count("</details>") == 1
    assert_tables_intact(body)
    assert_inert(body)


def test_long_gate_table_is_cut_between_rows() -> None:
    names = [f"metric_{i:04d}_" + "n" * 230 for i in range(400)]
    policy = Policy.model_validate(
        {**DEFAULT.model_dump(by_alias=True), "gates": [{"metric": f"{n} > 0"} for n in names]}
    )
    report = report_for(example(), policy)
    assert len(report) > GITHUB_BODY_LIMIT

    body = pull_request_body(report, META, None)

    assert len(body) <= GITHUB_BODY_LIMIT
    assert "read the committed report file." in body
    head = body.split("\n\n---\n**Report truncated**", 1)[0]
    assert head.splitlines()[-1].startswith(f"| `{names[0][:8]}")
    assert report.startswith(head)
    assert "</details>" not in head  # nothing folded was open: nothing to close
    assert_tables_intact(body)


# --- commit message and diff ----------------------------------------------------------------------


def test_unified_diff_modify_create_delete_and_skip() -> None:
    before: dict[str, bytes | None] = {
        "a/values.yaml": b'image:\n  tag: "6"\nmodel:\n  version: "6"\n',
        "b/gone.yaml": b"kind: AnalysisTemplate\n",
        "c/same.yaml": b"same\n",
    }
    after: dict[str, bytes | None] = {
        "a/values.yaml": b'image:\n  tag: "7"\nmodel:\n  version: "7"\n',
        "b/gone.yaml": None,
        "c/same.yaml": b"same\n",
        "d/new.md": b"# report\n",
    }
    assert unified_diff(before, after) == (
        "--- a/a/values.yaml\n"
        "+++ b/a/values.yaml\n"
        "@@ -1,4 +1,4 @@\n"
        " image:\n"
        '-  tag: "6"\n'
        '+  tag: "7"\n'
        " model:\n"
        '-  version: "6"\n'
        '+  version: "7"\n'
        "--- a/b/gone.yaml\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-kind: AnalysisTemplate\n"
        "--- /dev/null\n"
        "+++ b/d/new.md\n"
        "@@ -0,0 +1 @@\n"
        "+# report\n"
    )


def test_unified_diff_without_final_newline_keeps_lines_apart() -> None:
    diff = unified_diff({"f": b"a\nold"}, {"f": b"a\nnew"})
    assert diff.endswith("-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n")


def test_unified_diff_splits_lines_like_git() -> None:
    """Only '\\n' ends a line: a carriage return or form feed is content, CRLF is kept."""
    diff = unified_diff({"f": b"x\ry\r\n"}, {"f": b"x\ry\r\nz\x0c\n"})
    assert diff == "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n x\ry\r\n+z\x0c\n"
    assert unified_diff({"f": b"same"}, {"f": b"same"}) == ""
    assert unified_diff({}, {"f": b""}) == "--- /dev/null\n+++ b/f\n"


def test_a_mention_in_a_link_label_is_broken_by_a_zero_width_joiner() -> None:
    body = pull_request_body(report_for(example(**{"lineage.run_id": "@bob"})), META, None)
    run_url = "https://mlflow.example.com/#/experiments/12/runs/8f14e45fceea167a5a36dedd4bea2543"
    assert f"| MLflow run | [@{ZWJ}bob]({run_url}) |" in body
