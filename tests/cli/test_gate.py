"""`model-bot gate`, `model-bot schema`, `model-bot policy check`: output, exit codes, and one
line on stderr for every bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.core.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
PASSING = REPO / "examples" / "gate-results.json"
FAILING = REPO / "examples" / "gate-results-failing.json"
DEFAULT = REPO / "policies" / "default.yaml"
PRODUCTION = REPO / "policies" / "production.yaml"
STAGING = REPO / "policies" / "staging.yaml"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    """Run `model-bot ARGS` in-process, as the console script does (bot.cli.main)."""
    environment: dict[str, str | None] = {"GITHUB_OUTPUT": None, "MLFLOW_TRACKING_URI": None}
    environment.update(env or {})
    with CliRunner().isolation(env=environment) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


def assert_usage_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result
    assert result.stderr.startswith("model-bot: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# --- gate: pass and fail ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", [DEFAULT, STAGING, PRODUCTION], ids=lambda p: p.name)
def test_passing_example_passes_every_shipped_policy(policy: Path) -> None:
    result = run("gate", "--results", PASSING, "--policy", policy)
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert result.stdout.splitlines()[0].startswith("fraud-detector 7 vs champion 6 (policy ")
    assert result.stdout.rstrip().endswith("gates passed)")
    assert "decision: PASS" in result.stdout


@pytest.mark.parametrize("policy", [DEFAULT, STAGING, PRODUCTION], ids=lambda p: p.name)
def test_failing_example_fails_every_shipped_policy(policy: Path) -> None:
    result = run("gate", "--results", FAILING, "--policy", policy)
    assert result.exit_code == 1, result
    assert result.stderr == ""
    assert "decision: FAIL" in result.stdout
    assert re.search(
        r"^safety_violations\s+== 0\s+2\s+0\s+\+2\s+FAIL\s+2, needs == 0$", result.stdout, re.M
    )


def test_text_output_has_one_row_per_gate() -> None:
    result = run(
        "gate", "--results", PASSING, "--policy", PRODUCTION, "--environment", "production"
    )
    lines = result.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("METRIC")))
    rows = lines[header + 1 : header + 7]
    assert [r.split()[0] for r in rows] == [
        "accuracy",
        "accuracy[region=eu]",
        "latency_p99_ms",
        "delta.latency_p99_ms",
        "regression_delta",
        "safety_violations",
    ]
    assert "environment production" in lines[0]


def test_json_format() -> None:
    result = run("gate", "--results", FAILING, "--policy", PRODUCTION, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "fail" and len(data["rows"]) == 6
    assert data["significance"]["verdict"] == "fail"


def test_markdown_format() -> None:
    result = run("gate", "--results", PASSING, "--policy", DEFAULT, "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("## ✅ Gates passed: `fraud-detector` version `7`")
    assert (
        "| metric | threshold | candidate | champion | delta | verdict | reason |" in result.stdout
    )


def test_metric_missing_from_evidence_fails_not_malformed(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.yaml",
        "apiVersion: model-bot/v1\nkind: PromotionPolicy\nprimary_metric: accuracy\n"
        "gates: [{metric: f1 > 0.5}]\n",
    )
    result = run("gate", "--results", PASSING, "--policy", policy)
    assert result.exit_code == 1
    assert "f1 missing from evidence" in result.stdout


def test_first_promotion_passes_regression_gates(tmp_path: Path) -> None:
    data = json.loads(PASSING.read_text())
    del data["champion"]
    results = write(tmp_path, "r.json", data)
    result = run("gate", "--results", results, "--policy", PRODUCTION)
    assert result.exit_code == 0, result
    assert "fraud-detector 7 vs no champion" in result.stdout
    assert result.stdout.count("no champion (first promotion)") == 3  # 2 gates + significance


def test_summary_file_and_github_output(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    output = tmp_path / "output"
    env = {"GITHUB_OUTPUT": str(output)}
    first = run(
        "gate", "--results", PASSING, "--policy", DEFAULT, "--summary-file", summary, env=env
    )
    second = run(
        "gate", "--results", FAILING, "--policy", DEFAULT, "--summary-file", summary, env=env
    )
    assert (first.exit_code, second.exit_code) == (0, 1)
    text = summary.read_text()
    assert text.startswith("# earlier step\n## ✅ Gates passed")
    assert "## ❌ Gates failed: `fraud-detector` version `8`" in text
    outputs = re.findall(
        r"^decision<<(ghadelimiter_[0-9a-f]{32})\n(pass|fail)\n\1\n", output.read_text(), re.M
    )
    assert [value for _, value in outputs] == ["pass", "fail"]
    assert outputs[0][0] != outputs[1][0]


def test_environment_override(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.yaml",
        "apiVersion: model-bot/v1\nkind: PromotionPolicy\nprimary_metric: accuracy\n"
        "gates: [{metric: accuracy > 0.99}]\n"
        "environments: {staging: {gates: [{metric: accuracy > 0.9}]}}\n",
    )
    assert run("gate", "--results", PASSING, "--policy", policy).exit_code == 1
    assert (
        run("gate", "--results", PASSING, "--policy", policy, "--environment", "staging").exit_code
        == 0
    )


# --- gate: bad input --------------------------------------------------------------------------

GOOD_POLICY = "apiVersion: model-bot/v1\nkind: PromotionPolicy\nprimary_metric: accuracy\ngates:\n  - metric: accuracy > 0.9\n"


@pytest.mark.parametrize(
    ("files", "args", "parts"),
    [
        (
            {},
            ["--results", "{tmp}/nope.json", "--policy", "{tmp}/p.yaml"],
            ["{tmp}/nope.json: gate results file not found (check the path)"],
        ),
        (
            {"r.json": "{"},
            ["--results", "{tmp}/r.json", "--policy", "{tmp}/p.yaml"],
            [
                "{tmp}/r.json: line 1: invalid JSON: Expecting property name enclosed in double quotes (fix the syntax)"
            ],
        ),
        (
            {"r.json": '{"model": {"name": "m", "version": "1"}, "metrics": {}, "metric": {}}'},
            ["--results", "{tmp}/r.json", "--policy", "{tmp}/p.yaml"],
            ["{tmp}/r.json: metric: unknown field (remove it or fix its spelling)"],
        ),
        (
            {"r.json": '{"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": "0.9x"}}'},
            ["--results", "{tmp}/r.json", "--policy", "{tmp}/p.yaml"],
            ['{tmp}/r.json: metrics.accuracy: expected a number, got "0.9x"'],
        ),
        (
            {"r.json": '{"model": {"name": "m"}, "metrics": []}'},
            ["--results", "{tmp}/r.json", "--policy", "{tmp}/p.yaml"],
            [
                "model.version: required field is missing (add it)",
                "metrics: expected a mapping, got []",
            ],
        ),
        (
            {"r.json": b"\xff\xfe".decode("latin-1")},
            ["--results", "{tmp}/r.json", "--policy", "{tmp}/p.yaml"],
            [],
        ),
        (
            {"p.yaml": None},
            ["--results", str(PASSING), "--policy", "{tmp}/missing.yaml"],
            ["{tmp}/missing.yaml: policy file not found (check the path)"],
        ),
        (
            {"p.yaml": GOOD_POLICY + "  - metric: latency => 10\n"},
            ["--results", str(PASSING), "--policy", "{tmp}/p.yaml"],
            ["{tmp}/p.yaml: gates[1].metric: unknown operator '=>' (use >=)"],
        ),
        (
            {"p.yaml": GOOD_POLICY + "rollout: {stepz: [1]}\n"},
            ["--results", str(PASSING), "--policy", "{tmp}/p.yaml"],
            ["{tmp}/p.yaml: rollout.stepz: unknown field (remove it or fix its spelling)"],
        ),
        (
            {"p.yaml": GOOD_POLICY + "rollout: {steps: 5}\n"},
            ["--results", str(PASSING), "--policy", "{tmp}/p.yaml"],
            ["{tmp}/p.yaml: rollout.steps: expected a list, got 5"],
        ),
        (
            {"p.yaml": "gates: [\n"},
            ["--results", str(PASSING), "--policy", "{tmp}/p.yaml"],
            ["{tmp}/p.yaml: line 2: invalid YAML"],
        ),
        ({}, ["--policy", "{tmp}/p.yaml"], ["give either --results FILE or --mlflow-model NAME"]),
        (
            {},
            ["--results", str(PASSING), "--mlflow-model", "m", "--policy", "{tmp}/p.yaml"],
            ["not both and not neither"],
        ),
        (
            {},
            ["--results", str(PASSING), "--mlflow-version", "3", "--policy", "{tmp}/p.yaml"],
            ["--mlflow-version goes with --mlflow-model"],
        ),
        (
            {},
            ["--results", str(PASSING), "--policy", "{tmp}/p.yaml", "--environment", "Prod"],
            ["--environment: bad environment name 'Prod'"],
        ),
        (
            {},
            [
                "--mlflow-model",
                "m",
                "--policy",
                "{tmp}/p.yaml",
                "--tracking-uri",
                "http://127.0.0.1:9",
            ],
            ["--mlflow-version: missing for model 'm' (or pass models:/m/N)"],
        ),
        (
            {},
            [
                "--mlflow-model",
                "models:/m",
                "--policy",
                "{tmp}/p.yaml",
                "--tracking-uri",
                "http://127.0.0.1:9",
            ],
            [
                "--mlflow-model: bad model URI 'models:/m' (use models:/NAME/VERSION or models:/NAME@ALIAS)"
            ],
        ),
        (
            {},
            [
                "--mlflow-model",
                "models:/m/3",
                "--mlflow-version",
                "4",
                "--policy",
                "{tmp}/p.yaml",
                "--tracking-uri",
                "http://127.0.0.1:9",
            ],
            ["--mlflow-version: conflicts with models:/m/3"],
        ),
        (
            {},
            [
                "--mlflow-model",
                "models:/m/3",
                "--policy",
                "{tmp}/p.yaml",
                "--tracking-uri",
                "sqlite:///x.db",
            ],
            ["--tracking-uri: unsupported MLflow tracking URI 'sqlite:///x.db'"],
        ),
        (
            {},
            ["--mlflow-model", "models:/m/3", "--policy", "{tmp}/p.yaml"],
            [
                "--tracking-uri: no MLflow tracking URI (pass --tracking-uri or set MLFLOW_TRACKING_URI)"
            ],
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, str | None], args: list[str], parts: list[str]
) -> None:
    write(tmp_path, "p.yaml", GOOD_POLICY)
    for name, text in files.items():
        if text is not None:
            (tmp_path / name).write_text(text, encoding="latin-1" if "\xff" in text else "utf-8")
    result = run("gate", *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert_usage_error(result, *[p.replace("{tmp}", str(tmp_path)) for p in parts])


def test_problems_of_both_files_at_once(tmp_path: Path) -> None:
    policy = write(tmp_path, "p.yaml", GOOD_POLICY + "  - metric: a => 1\n")
    results = write(tmp_path, "r.json", {"model": {"name": "m"}, "metrics": {}})
    result = run("gate", "--results", results, "--policy", policy)
    assert_usage_error(
        result,
        f"{policy}: gates[1].metric: unknown operator '=>' (use >=); "
        f"{results}: model.version: required field is missing (add it)",
    )


def test_score_length_mismatch_names_the_field(tmp_path: Path) -> None:
    data = json.loads(PASSING.read_text())
    data["champion"]["scores"]["accuracy"] = data["champion"]["scores"]["accuracy"][:-1]
    results = write(tmp_path, "r.json", data)
    result = run("gate", "--results", results, "--policy", PRODUCTION)
    assert_usage_error(
        result, f"{results}: champion.scores.accuracy: has 1999 scores but scores.accuracy has 2000"
    )


@pytest.mark.parametrize(
    "args",
    [["--format", "xml"], ["--bogus"], []],
)
def test_click_usage_errors_exit_2(args: list[str]) -> None:
    base = ["gate", "--results", str(PASSING)] + (["--policy", str(DEFAULT)] if args else [])
    result = run(*base, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


# --- random input never crashes -------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.floats()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_metrics = st.dictionaries(
    st.sampled_from(["accuracy", "latency_p99_ms", "safety_violations", "x"]), _json, max_size=4
)
_results = st.one_of(
    _json,
    st.fixed_dictionaries(
        {
            "model": st.one_of(_json, st.fixed_dictionaries({"name": _json, "version": _json})),
            "metrics": st.one_of(_json, _metrics),
        },
        optional={
            "champion": st.one_of(
                _json,
                st.fixed_dictionaries(
                    {
                        "version": st.just("1"),
                        "metrics": _metrics,
                        "scores": st.dictionaries(
                            st.just("accuracy"), st.lists(st.floats(), max_size=5)
                        ),
                    }
                ),
            ),
            "slices": st.dictionaries(
                st.sampled_from(["region=eu", "x"]), st.one_of(_json, _metrics)
            ),
            "scores": st.dictionaries(
                st.just("accuracy"), st.one_of(_json, st.lists(st.floats(), max_size=5))
            ),
            "lineage": _json,
        },
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_results,
    policy=st.sampled_from([DEFAULT, PRODUCTION]),
    fmt=st.sampled_from(["text", "json", "markdown"]),
)
def test_random_results_never_crash(data: Any, policy: Path, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        result = run("gate", "--results", path, "--policy", policy, "--format", fmt)
    assert result.exit_code in (0, 1, 2), result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("model-bot: error: ") and result.stderr.count("\n") == 1
    else:
        assert result.stderr == ""


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        path.write_bytes(blob)
        result = run("gate", "--results", path, "--policy", DEFAULT)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result


# --- schema and policy check ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gate-results", "policy", "config"])
def test_schema_commands_print_json_schema(name: str) -> None:
    result = run("schema", name)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_gate_results_schema_accepts_the_examples() -> None:
    schema = json.loads(run("schema", "gate-results").stdout)
    for path in (PASSING, FAILING):
        jsonschema.validate(json.loads(path.read_text()), schema)


def test_policy_check_ok() -> None:
    paths = sorted((REPO / "policies").glob("*.yaml"))
    result = run("policy", "check", *paths)
    assert result.exit_code == 0, result
    assert result.stdout.splitlines() == [
        f"{p}: ok ({len(load_policy(p).gates)} gates)" for p in paths
    ]


def test_policy_check_reports_every_problem_of_every_file(tmp_path: Path) -> None:
    bad1 = write(
        tmp_path, "bad1.yaml", GOOD_POLICY + "  - metric: a => 1\nrollout: {pause: soon}\n"
    )
    bad2 = write(tmp_path, "bad2.yaml", "kind: PromotionPolicy\n")
    one = write(tmp_path, "one.yaml", GOOD_POLICY)
    result = run("policy", "check", one, bad1, bad2)
    assert result.stdout == f"{one}: ok (1 gate)\n"
    assert_usage_error(
        result,
        f"{bad1}: gates[1].metric: unknown operator '=>' (use >=)",
        f"{bad1}: rollout.pause: bad duration 'soon'",
        f"{bad2}: apiVersion: required field is missing (add it)",
        f"{bad2}: primary_metric: required field is missing (add it)",
    )


def test_policy_check_needs_a_file() -> None:
    assert run("policy", "check").exit_code == 2


# --- the installed console script ------------------------------------------------------------


def test_console_script_exit_codes() -> None:
    script = Path(sys.executable).parent / "model-bot"
    base = [str(script), "gate", "--policy", str(DEFAULT), "--results"]
    passed = subprocess.run([*base, str(PASSING)], capture_output=True, text=True, timeout=60)
    failed = subprocess.run([*base, str(FAILING)], capture_output=True, text=True, timeout=60)
    bad = subprocess.run([*base, "/nonexistent.json"], capture_output=True, text=True, timeout=60)
    assert (passed.returncode, failed.returncode, bad.returncode) == (0, 1, 2)
    assert (
        bad.stderr
        == "model-bot: error: /nonexistent.json: gate results file not found (check the path)\n"
    )


# --- GitHub Actions outputs -------------------------------------------------------------------


def test_outputs_use_a_fresh_delimiter_that_is_not_in_the_value(tmp_path: Path) -> None:
    from bot.cli.outputs import append_summary, format_outputs, write_github_outputs

    path = tmp_path / "out"
    hostile = "line1\nghadelimiter_x\nother=injected"
    write_github_outputs(path, {"decision": "pass", "report": hostile})
    text = path.read_text()
    match = re.fullmatch(r"decision<<(\S+)\npass\n\1\nreport<<(\S+)\n(.*)\n\2\n", text, re.S)
    assert match and match.group(3) == hostile
    assert match.group(1) != match.group(2) and match.group(2) not in hostile
    assert format_outputs({}) == ""
    append_summary(tmp_path / "summary", "# a")
    append_summary(tmp_path / "summary", "b\n")
    assert (tmp_path / "summary").read_text() == "# a\n\nb\n\n"


@pytest.mark.parametrize("name", ["", "a b", "x\ny", "1<<EOF"])
def test_bad_output_names(name: str, tmp_path: Path) -> None:
    from bot.cli.outputs import write_github_outputs
    from bot.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="bad output name"):
        write_github_outputs(tmp_path / "out", {name: "x"})


def test_unwritable_outputs_are_external_errors(tmp_path: Path) -> None:
    result = run(
        "gate",
        "--results",
        PASSING,
        "--policy",
        DEFAULT,
        "--summary-file",
        tmp_path / "no" / "dir.md",
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"model-bot: error: cannot write summary file {tmp_path}/no/dir.md: "
    )


# --- a policy without gates is refused ----------------------------------------------------

NO_GATES = "gates: the policy has no gates: add at least one (e.g. - metric: accuracy > 0.9)"
HEAD = "apiVersion: model-bot/v1\nkind: PromotionPolicy\nprimary_metric: accuracy\n"


@pytest.mark.parametrize("body", [HEAD, HEAD + "gates: []\n"], ids=["absent", "empty"])
def test_policy_check_refuses_a_policy_without_gates(tmp_path: Path, body: str) -> None:
    policy = write(tmp_path, "p.yaml", body)
    result = run("policy", "check", policy)
    assert result.stdout == ""  # was: `p.yaml: ok (0 gates)`
    assert_usage_error(result, f"{policy}: {NO_GATES}")


def test_policy_check_refuses_an_override_without_gates(tmp_path: Path) -> None:
    policy = write(tmp_path, "p.yaml", GOOD_POLICY + "environments: {staging: {gates: []}}\n")
    assert_usage_error(
        run("policy", "check", policy),
        f"{policy}: environments.staging.gates: the override has no gates: add at least one",
    )


@pytest.mark.parametrize(
    "body",
    [HEAD, GOOD_POLICY + "environments: {staging: {gates: []}}\n"],
    ids=["policy", "override"],
)
@pytest.mark.parametrize("environment", [[], ["--environment", "staging"]], ids=["", "staging"])
def test_gate_refuses_a_policy_without_gates(
    tmp_path: Path, body: str, environment: list[str]
) -> None:
    policy = write(tmp_path, "p.yaml", body)
    result = run("gate", "--results", PASSING, "--policy", policy, *environment)
    assert "PASS" not in result.stdout  # was: `decision: PASS (0/0 gates passed)`
    assert_usage_error(result, f"{policy}: ", "has no gates: add at least one")


def test_promote_refuses_a_policy_without_gates(tmp_path: Path) -> None:
    from tests.envfixtures import local_env_repo

    bare = local_env_repo(tmp_path / "env.git")
    policy = write(tmp_path, "p.yaml", HEAD + "gates: []\n")
    before = subprocess.run(
        ["git", f"--git-dir={bare}", "for-each-ref"], capture_output=True, check=True
    ).stdout
    result = run(
        "promote",
        "--results",
        PASSING,
        "--policy",
        policy,
        "--environment",
        "production",
        "--env-repo",
        bare,
    )
    assert_usage_error(result, f"{policy}: {NO_GATES}")
    after = subprocess.run(
        ["git", f"--git-dir={bare}", "for-each-ref"], capture_output=True, check=True
    ).stdout
    assert after == before  # nothing pushed


# --- the report names the policy relative to the workspace ---------------------------------


def workspace_policy(tmp_path: Path) -> Path:
    (tmp_path / "ws" / "policies").mkdir(parents=True)
    return write(tmp_path / "ws" / "policies", "prod.yaml", DEFAULT.read_text())


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_gate_shows_the_policy_relative_to_github_workspace(tmp_path: Path, fmt: str) -> None:
    policy = workspace_policy(tmp_path)
    summary = tmp_path / "summary.md"
    result = run(
        "gate",
        "--results",
        PASSING,
        "--policy",
        policy,  # absolute, as a runner has it: /home/runner/work/x/x/policies/prod.yaml
        "--format",
        fmt,
        "--summary-file",
        summary,
        env={"GITHUB_WORKSPACE": str(tmp_path / "ws")},
    )
    assert result.exit_code == 0, result
    shown = {
        "text": "(policy policies/prod.yaml)",
        "markdown": "policy `policies/prod.yaml`",
        "json": '"policy": "policies/prod.yaml"',
    }[fmt]
    assert shown in result.stdout
    assert "policy `policies/prod.yaml`" in summary.read_text()
    assert str(tmp_path) not in result.stdout + summary.read_text()


def test_gate_shows_the_policy_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = workspace_policy(tmp_path)
    monkeypatch.chdir(tmp_path / "ws")
    for written in (str(policy), "policies/prod.yaml", "./policies/../policies/prod.yaml"):
        result = run(
            "gate", "--results", PASSING, "--policy", written, env={"GITHUB_WORKSPACE": None}
        )
        assert result.exit_code == 0, result
        assert result.stdout.splitlines()[0].endswith("(policy policies/prod.yaml)"), written


def test_a_policy_outside_the_workspace_is_shown_by_its_file_name(tmp_path: Path) -> None:
    policy = workspace_policy(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    result = run(
        "gate",
        "--results",
        PASSING,
        "--policy",
        policy,
        "--format",
        "markdown",
        env={"GITHUB_WORKSPACE": str(tmp_path / "elsewhere")},
    )
    assert result.exit_code == 0, result
    assert "policy `prod.yaml`" in result.stdout
    assert str(tmp_path) not in result.stdout


def test_promote_shows_the_policy_relative_to_the_workspace(tmp_path: Path) -> None:
    from tests.envfixtures import local_env_repo

    bare = local_env_repo(tmp_path / "env.git")
    policy = workspace_policy(tmp_path)
    result = run(
        "promote",
        "--results",
        PASSING,
        "--policy",
        policy,
        "--environment",
        "production",
        "--env-repo",
        bare,
        "--dry-run",
        env={"GITHUB_WORKSPACE": str(tmp_path / "ws")},
    )
    assert result.exit_code == 0, result
    assert "policy `policies/prod.yaml`" in result.stdout  # the PR body it would open
    assert "(policy policies/prod.yaml" in result.stdout  # the decision printed first
    assert str(tmp_path / "ws") not in result.stdout


# --- untrusted input limits ---------------------------------------------------------------

MINIMAL_RESULTS = '{"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": %s}}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # was: `internal error: ValueError` (Python's int-string conversion limit)
        ("1" * 5000, "metrics.accuracy: number with 5000 digits is too long (at most 100 digits"),
        ("1e400", "metrics.accuracy: number 1e400 is too large for a float"),
        # were: accepted as numbers
        (
            '"0.95"',
            'metrics.accuracy: expected a number, got "0.95" (write the number without quotes)',
        ),
        ("true", "metrics.accuracy: expected a number, got true (true and false are not numbers"),
    ],
    ids=["5000-digits", "overflow", "string", "boolean"],
)
def test_gate_refuses_what_is_not_a_number(tmp_path: Path, value: str, message: str) -> None:
    results = write(tmp_path, "r.json", MINIMAL_RESULTS % value)
    result = run("gate", "--results", results, "--policy", DEFAULT)
    assert_usage_error(result, f"{results}: {message}")


def test_gate_refuses_a_huge_policy_quickly(tmp_path: Path) -> None:
    import time

    policy = write(tmp_path, "p.yaml", GOOD_POLICY + "  - metric: accuracy > 0.9\n" * 300_000)
    started = time.monotonic()
    result = run("gate", "--results", PASSING, "--policy", policy)
    assert time.monotonic() - started < 5
    assert_usage_error(result, f"{policy}: policy file is ", "over the 1 MiB limit")


def test_policy_check_refuses_billion_laughs_quickly(tmp_path: Path) -> None:
    import time

    laughs = '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, 10):
        laughs += f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]\n"
    policy = write(tmp_path, "p.yaml", GOOD_POLICY + "x:\n" + laughs + "rollout: {steps: *l9}\n")
    started = time.monotonic()
    result = run("policy", "check", policy)
    assert time.monotonic() - started < 5
    assert_usage_error(result, f"{policy}: line ", "too large: more than 20000 YAML values")
