"""The GitHub Action: its error annotations, its argument mapping and whole runs of action.yml.

Whole runs go through `tests.actionrunner`, which runs the `run:` steps of action.yml with
bash as a runner would; the venv is built once per session (`action_runner`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.cli.actionio import (
    FLAG_INPUTS,
    error_annotation,
    escape_data,
    escape_property,
    flag_values,
    in_github_actions,
    name_input,
    with_input_names,
)
from bot.cli.outputs import format_outputs
from bot.text.markdown import escape
from tests import envfixtures, webhooks
from tests.actionrunner import (
    REPO,
    ActionRun,
    ActionRunner,
    load_action,
    parse_github_output,
    resolve,
    shared_runner_temp,
)
from tests.fakegithub import FakeGitHub

RUN_SCRIPT = REPO / "scripts" / "action-run.sh"
TOKEN = "ghs_s3cr3tT0ken_for_tests_0123456789"

PASSING = {
    "model": {"name": "fraud-detector", "version": "7", "image": "ghcr.io/acme/fraud-detector"},
    "metrics": {"accuracy": 0.962, "latency_p99_ms": 7.9, "safety_violations": 0},
    "champion": {"version": "6", "metrics": {"accuracy": 0.955}},
}
FAILING = {
    "model": {"name": "fraud-detector", "version": "8"},
    "metrics": {"accuracy": 0.90, "latency_p99_ms": 12.5, "safety_violations": 0},
    "champion": {"version": "6", "metrics": {"accuracy": 0.955}},
}


# --- bot.cli.actionio: pure helpers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("--env-repo: not OWNER/NAME", "env-repo: not OWNER/NAME"),
        ("--base 'x' does not exist", "base-branch 'x' does not exist"),
        ("--environment: bad name", "environment: bad name"),
        ("--model is required", "model is required"),
        ("--version must be a number", "version must be a number"),
        ("--to must be an earlier version", "version must be an earlier version"),
        (
            "give either --results FILE or --mlflow-model NAME (with --mlflow-version N)",
            "give either gate-results FILE or model NAME (with version N)",
        ),
        ("--tracking-uri unreachable", "mlflow-tracking-uri unreachable"),
        ("--policy: missing", "policy: missing"),
        ("--prometheus-url refused", "prometheus-url refused"),
        ("--github-api-url: 404", "github-api-url: 404"),
        ("set GITHUB_TOKEN to a token", "set github-token to a token"),
        # not flags: longer words that contain a flag, and a flag inside a path
        ("--models and --policy-file", "--models and --policy-file"),
        ("MY_GITHUB_TOKEN is not read", "MY_GITHUB_TOKEN is not read"),
        ("nothing to map", "nothing to map"),
    ],
)
def test_with_input_names(message: str, expected: str) -> None:
    assert with_input_names(message) == expected


def test_every_flag_maps_to_an_input_of_action_yml() -> None:
    inputs = set(load_action()["inputs"])
    assert set(FLAG_INPUTS.values()) <= inputs


def test_flag_values_reads_both_forms_and_keeps_the_last() -> None:
    argv = ["gate", "--policy", "a.yaml", "--results=r.json", "--policy=b.yaml", "--to"]
    assert flag_values(argv) == {"--policy": "b.yaml", "--results": "r.json"}


@pytest.mark.parametrize(
    ("message", "argv", "expected"),
    [
        (
            "p.yaml: policy file not found (check the path)",
            ["gate", "--policy=p.yaml"],
            "input policy: p.yaml: policy file not found (check the path)",
        ),
        (
            "r.json: metrics.accuracy: expected a number",
            ["gate", "--results", "r.json", "--policy", "p.yaml"],
            "input gate-results: r.json: metrics.accuracy: expected a number",
        ),
        ("p.yaml is odd", ["gate", "--policy=p.yaml"], "p.yaml is odd"),
        ("anything: else", [], "anything: else"),
    ],
)
def test_name_input_names_the_input_that_held_the_path(
    message: str, argv: list[str], expected: str
) -> None:
    assert name_input(message, argv) == expected


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_error_annotation_is_one_line_in_input_names() -> None:
    line = error_annotation("--policy: bad\n::warning::injected 50%", ["gate"])
    assert line == "::error title=model-bot::policy: bad%0A::warning::injected 50%25"
    assert "\n" not in line


def test_in_github_actions() -> None:
    assert in_github_actions({"GITHUB_ACTIONS": "true"})
    assert not in_github_actions({"GITHUB_ACTIONS": "false"})
    assert not in_github_actions({})


# --- bot.cli.main: the annotation ---------------------------------------------------------


def test_main_annotates_errors_in_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(SystemExit) as exit_info:
        main(["gate", "--results", "r.json", "--policy", missing])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"model-bot: error: {missing}: ")
    assert captured.out.startswith(f"::error title=model-bot::input policy: {missing}: ")


def test_main_prints_no_annotation_outside_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    with pytest.raises(SystemExit):
        main(["gate", "--results", "r.json", "--policy", str(tmp_path / "nope.yaml")])
    assert "::error" not in capsys.readouterr().out


# --- the test runner's own parts ----------------------------------------------------------


def test_parse_github_output_reads_what_the_bot_writes() -> None:
    values = {"decision": "pass", "body": "line 1\nline 2\n\nx=y", "empty": ""}
    text = "plain=value=with=equals\n" + format_outputs(values)
    assert parse_github_output(text) == {"plain": "value=with=equals", **values}


def test_parse_github_output_rejects_an_unclosed_block() -> None:
    with pytest.raises(ValueError, match="never closes"):
        parse_github_output("name<<EOF\nvalue\n")


def test_resolve_supports_only_lookups() -> None:
    context = {"inputs": {"dry-run": "true"}, "steps": {"a": {"outputs": {}}}}
    assert resolve("x ${{ inputs.dry-run }} y", context) == "x true y"
    assert resolve("${{ steps.a.outputs.missing }}", context) == ""
    with pytest.raises(ValueError, match="not supported"):
        resolve("${{ inputs.a || 'b' }}", context)
    with pytest.raises(KeyError):
        resolve("${{ inputs.nope }}", context)


# --- scripts/action-run.sh: inputs to arguments (with a stand-in model-bot) ------------------

FAKE_BOT = """#!{python}
import json, os, sys
with open(os.environ["FAKE_BOT_ARGS"], "w") as handle:
    json.dump(sys.argv[1:], handle)
sys.exit(int(os.environ.get("FAKE_BOT_EXIT", "0")))
"""


@pytest.fixture
def fake_run(tmp_path: Path) -> Callable[..., tuple[int, list[str] | None, str]]:
    """Run action-run.sh with INPUT_* variables and a model-bot that records its argv."""
    bot = tmp_path / "model-bot"
    bot.write_text(FAKE_BOT.format(python=sys.executable), encoding="utf-8")
    bot.chmod(0o755)
    args_file = tmp_path / "argv.json"

    def run(
        inputs: Mapping[str, str], exit_code: int = 0, extra: Mapping[str, str] | None = None
    ) -> tuple[int, list[str] | None, str]:
        args_file.unlink(missing_ok=True)
        env = {
            "PATH": os.environ["PATH"],
            "MODEL_BOT": str(bot),
            "FAKE_BOT_ARGS": str(args_file),
            "FAKE_BOT_EXIT": str(exit_code),
            "RUNNER_TEMP": str(tmp_path),
            **{"INPUT_" + k.upper().replace("-", "_"): v for k, v in inputs.items()},
            **(extra or {}),
        }
        done = subprocess.run(
            ["bash", str(RUN_SCRIPT)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        argv = json.loads(args_file.read_text()) if args_file.exists() else None
        return done.returncode, argv, done.stdout + done.stderr

    return run


FORGE = {"env-repo": "acme/env", "base-branch": "main", "github-api-url": "https://ghe/api/v3"}
FORGE_ARGS = ["--env-repo=acme/env", "--base=main", "--github-api-url=https://ghe/api/v3"]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            {"command": "gate", "gate-results": "r.json", "policy": "p.yaml"},
            ["gate", "--results=r.json", "--policy=p.yaml"],
        ),
        (
            # model/version go to MLflow only when there is no results file
            {
                "command": "gate",
                "model": "fraud",
                "version": "7",
                "mlflow-tracking-uri": "http://mlflow:5000",
                "policy": "p.yaml",
                "environment": "staging",
            },
            [
                "gate",
                "--mlflow-model=fraud",
                "--mlflow-version=7",
                "--tracking-uri=http://mlflow:5000",
                "--policy=p.yaml",
                "--environment=staging",
            ],
        ),
        (
            {
                "command": "promote",
                "gate-results": "r.json",
                "model": "ignored",
                "version": "ignored",
                "policy": "p.yaml",
                "environment": "production",
                "dry-run": "true",
                **FORGE,
            },
            [
                "promote",
                "--results=r.json",
                "--policy=p.yaml",
                "--environment=production",
                *FORGE_ARGS,
                "--dry-run",
            ],
        ),
        (
            {
                "command": "promote",
                "gate-results": "r.json",
                "policy": "p.yaml",
                "environment": "production",
                "lift-hold": "fixed the pipeline; $(touch /tmp/x)",
                "reopen": "true",
                **FORGE,
            },
            [
                "promote",
                "--results=r.json",
                "--policy=p.yaml",
                "--environment=production",
                "--lift-hold=fixed the pipeline; $(touch /tmp/x)",
                "--reopen",
                *FORGE_ARGS,
            ],
        ),
        (
            {"command": "status", "policy": "p.yaml", "environment": "", **FORGE},
            ["status", "--policy=p.yaml", *FORGE_ARGS],
        ),
        (
            {
                "command": "monitor",
                "model": "fraud",
                "environment": "production",
                "policy": "p.yaml",
                "prometheus-url": "http://prom:9090",
                "dry-run": "true",
                **FORGE,
            },
            [
                "monitor",
                "--model=fraud",
                "--environment=production",
                "--policy=p.yaml",
                "--prometheus-url=http://prom:9090",
                *FORGE_ARGS,
                "--dry-run",
            ],
        ),
        (
            {
                "command": "promote",
                "gate-results": "r.json",
                "policy": "p.yaml",
                "environment": "production",
                "drift-issue": "12",
            },
            [
                "promote",
                "--results=r.json",
                "--policy=p.yaml",
                "--environment=production",
                "--drift-issue=12",
            ],
        ),
        (
            {"command": "history", "model": "fraud", "environment": "production", **FORGE},
            ["history", "--model=fraud", "--environment=production", *FORGE_ARGS],
        ),
        (
            {
                "command": "analyze",
                "model": "fraud",
                "environment": "production",
                "policy": "p.yaml",
                "prometheus-url": "http://prom:9090",
                "dry-run": "false",
                **FORGE,
            },
            [
                "analyze",
                "--model=fraud",
                "--environment=production",
                "--policy=p.yaml",
                "--prometheus-url=http://prom:9090",
                *FORGE_ARGS,
            ],
        ),
        (
            {
                "command": "rollback",
                "model": "fraud",
                "environment": "production",
                "version": "6",
                "reason": "p99 latency doubled",
                "dry-run": "TRUE",
                **FORGE,
            },
            [
                "rollback",
                "--model=fraud",
                "--environment=production",
                "--to=6",
                "--reason=p99 latency doubled",
                *FORGE_ARGS,
                "--dry-run",
            ],
        ),
        (
            # empty inputs add no flag; chatops skips a policy file that is not there
            {
                "command": "chatops",
                "env-repo": "acme/env",
                "base-branch": "",
                "policy": "policies/none.yaml",
                "github-api-url": "",
            },
            ["chatops", "--env-repo=acme/env"],
        ),
    ],
)
def test_inputs_become_cli_arguments(
    fake_run: Callable[..., tuple[int, list[str] | None, str]],
    inputs: dict[str, str],
    expected: list[str],
) -> None:
    status, argv, _ = fake_run(inputs)
    assert status == 0
    assert argv == expected


def test_summary_file_goes_to_gate_and_promote_only(
    fake_run: Callable[..., tuple[int, list[str] | None, str]],
) -> None:
    extra = {"GITHUB_STEP_SUMMARY": "/tmp/summary.md", "GITHUB_EVENT_PATH": "/tmp/event.json"}
    _, argv, _ = fake_run({"command": "promote"}, extra=extra)
    assert argv == ["promote", "--summary-file=/tmp/summary.md"]
    _, argv, _ = fake_run({"command": "analyze"}, extra=extra)
    assert argv == ["analyze"]
    _, argv, _ = fake_run({"command": "chatops"}, extra=extra)
    assert argv == ["chatops", "--event-path=/tmp/event.json"]


def test_chatops_passes_a_policy_that_exists(
    fake_run: Callable[..., tuple[int, list[str] | None, str]], tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text("x: 1\n")
    _, argv, _ = fake_run({"command": "chatops", "policy": "policy.yaml"})
    assert argv == ["chatops", "--policy=policy.yaml"]


def test_a_value_that_looks_like_a_flag_stays_a_value(
    fake_run: Callable[..., tuple[int, list[str] | None, str]],
) -> None:
    _, argv, _ = fake_run({"command": "analyze", "model": "--dry-run", "environment": "-x y"})
    assert argv == ["analyze", "--model=--dry-run", "--environment=-x y"]


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_the_cli_exit_code_is_the_step_exit_code(
    fake_run: Callable[..., tuple[int, list[str] | None, str]], code: int
) -> None:
    status, _, _ = fake_run({"command": "analyze"}, exit_code=code)
    assert status == code


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"command": "deploy"}, "input command: unknown command 'deploy'"),
        ({"command": ""}, "input command: unknown command ''"),
        ({"command": "gate", "dry-run": "yes"}, "input dry-run: got 'yes', use true or false"),
    ],
)
def test_bad_action_inputs_fail_before_the_cli(
    fake_run: Callable[..., tuple[int, list[str] | None, str]], inputs: dict[str, str], named: str
) -> None:
    status, argv, out = fake_run(inputs)
    assert status == 2
    assert argv is None
    assert f"::error title=model-bot::{named}" in out


def test_run_step_env_carries_every_input_the_script_reads() -> None:
    run_step = next(s for s in load_action()["runs"]["steps"] if s.get("id") == "run")
    script = RUN_SCRIPT.read_text()
    read = set(re.findall(r"\$\{?(INPUT_[A-Z_]+)", script))
    assert read <= set(run_step["env"])
    inputs = set(load_action()["inputs"]) - {"github-token", "python-version"}
    assert {"INPUT_" + name.upper().replace("-", "_") for name in inputs} == read
    assert run_step["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"


# --- whole runs of action.yml -----------------------------------------------------------------


@pytest.fixture(scope="session")
def action_runner(tmp_path_factory: pytest.TempPathFactory) -> ActionRunner:
    """One RUNNER_TEMP for the session: the first run builds the venv, later runs reuse it."""
    return ActionRunner(shared_runner_temp(tmp_path_factory))


def _gate_results(name: str, fallback: dict[str, object]) -> str:
    example = REPO / "examples" / name
    if example.exists():
        return example.read_text(encoding="utf-8")
    return json.dumps(fallback)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A job's files: the workspace holds policies/default.yaml and two gate results."""
    workspace = tmp_path / "job" / "workspace"
    (workspace / "policies").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "default.yaml", workspace / "policies" / "default.yaml")
    (workspace / "gate-results.json").write_text(_gate_results("gate-results.json", PASSING))
    (workspace / "gate-results-failing.json").write_text(
        _gate_results("gate-results-failing.json", FAILING)
    )
    return tmp_path / "job"


RunAction = Callable[..., ActionRun]


@pytest.fixture
def run_action(action_runner: ActionRunner, workdir: Path) -> RunAction:
    """`run_action(inputs, env=None, **kwargs) -> ActionRun` in this test's workdir."""

    def run(inputs: Mapping[str, str], env: Mapping[str, str] | None = None, **kw: object):
        return action_runner.run(inputs, workdir, env=env, **kw)  # type: ignore[arg-type]

    return run


def test_install_step_reports_what_it_did(run_action: RunAction, action_runner: ActionRunner):
    run = run_action({"command": "gate", "gate-results": "gate-results.json"})
    install = run.step("install")
    assert install.exit_code == 0, install.stderr
    assert install.outputs["status"] in {"created", "updated", "reused"}
    assert float(install.outputs["install-seconds"]) >= 0
    assert int(install.outputs["venv-size-bytes"]) > 10_000_000
    executable = Path(install.outputs["executable"])
    assert executable == action_runner.runner_temp / "model-bot-venv" / "bin" / "model-bot"
    facts = json.loads((action_runner.runner_temp / "model-bot-install.json").read_text())
    assert facts["venv_bytes"] == int(install.outputs["venv-size-bytes"])
    # the bot in the venv is an install, not a link back to this checkout
    found = subprocess.run(
        [str(executable.with_name("python")), "-c", "import bot; print(bot.__file__)"],
        cwd=action_runner.runner_temp,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.startswith(str(action_runner.runner_temp))


def test_a_second_install_reuses_the_venv(run_action: RunAction) -> None:
    run_action({"command": "gate", "gate-results": "gate-results.json"})
    again = run_action({"command": "gate", "gate-results": "gate-results.json"})
    assert again.step("install").outputs["status"] == "reused"


def test_gate_passes(run_action: RunAction) -> None:
    run = run_action({"command": "gate", "gate-results": "gate-results.json"})
    assert run.exit_code == 0, run.stderr
    assert run.outputs["decision"] == "pass"
    assert run.outputs["outcome"] == ""
    assert run.summary.lstrip().startswith("#")
    assert "fraud-detector" in run.summary
    assert run.annotations == []


def test_a_failed_gate_fails_the_step(run_action: RunAction) -> None:
    run = run_action({"command": "gate", "gate-results": "gate-results-failing.json"})
    assert run.exit_code == 1
    assert run.steps[-1].id == "run"
    assert run.outputs["decision"] == "fail"
    assert "fail" in run.summary.lower()


def test_a_missing_policy_names_the_input(run_action: RunAction) -> None:
    run = run_action(
        {"command": "gate", "gate-results": "gate-results.json", "policy": "policies/nope.yaml"}
    )
    assert run.exit_code == 2
    assert run.outputs["decision"] == ""
    assert len(run.annotations) == 1
    assert run.annotations[0].startswith("::error title=model-bot::input policy: policies/nope")
    assert "model-bot: error: policies/nope.yaml" in run.stderr


def test_a_flag_in_an_error_reads_as_the_input(run_action: RunAction) -> None:
    run = run_action({"command": "gate", "environment": "Not_A_Label"})
    assert run.exit_code == 2
    assert run.annotations, run.stdout
    assert "--" not in run.annotations[0]


def test_an_unknown_command_fails_first_and_names_the_input(run_action: RunAction) -> None:
    run = run_action({"command": "deploy"})
    assert run.exit_code == 2
    assert len(run.steps) == 1  # nothing installed for a typo
    assert run.annotations == [
        "::error title=model-bot::input command: unknown command 'deploy' "
        "(use gate, promote, analyze, rollback, chatops, status, history, event, advance or "
        "monitor)"
    ]


PAYLOAD = "$(touch {s}); `touch {s}`; touch {s} && echo ${{IFS}}pwned | touch {s} ' \" \\"


@pytest.mark.parametrize("input_name", ["policy", "gate-results", "environment", "command"])
def test_shell_metacharacters_are_never_executed(
    run_action: RunAction, tmp_path: Path, input_name: str
) -> None:
    sentinel = tmp_path / "pwned"
    payload = PAYLOAD.format(s=sentinel)
    inputs = {"command": "gate", "gate-results": "gate-results.json", input_name: payload}
    run = run_action(inputs)
    assert run.exit_code == 2
    assert not sentinel.exists()
    # the literal text reached the CLI (or the input check) and came back in its error
    assert payload in run.stderr or repr(payload) in run.stderr


def test_a_newline_in_an_input_cannot_inject_a_workflow_command(run_action: RunAction):
    run = run_action({"command": "gate\n::warning::injected\n::add-mask::x"})
    assert run.exit_code == 2
    lines = run.stdout.splitlines()
    assert not any(line.startswith(("::warning", "::add-mask::x")) for line in lines)
    assert "%0A::warning::injected" in run.stdout


def test_the_token_is_masked_first_and_never_printed(run_action: RunAction) -> None:
    run = run_action(
        {"command": "gate", "gate-results": "gate-results-failing.json", "github-token": TOKEN}
    )
    assert run.exit_code == 1
    first, *rest = run.stdout.splitlines()
    assert first == f"::add-mask::{TOKEN}"
    assert TOKEN not in "\n".join(rest)
    assert TOKEN not in run.stderr


def test_the_default_token_is_github_token_and_an_empty_one_is_not_masked(
    run_action: RunAction,
) -> None:
    run = run_action({"command": "gate", "gate-results": "gate-results.json"})
    assert run.stdout.startswith("::add-mask::ghs_testtoken")
    run = run_action({"command": "gate", "gate-results": "gate-results.json", "github-token": ""})
    assert "::add-mask::" not in run.stdout


# --- command: chatops, against the fake GitHub ---------------------------------------------------


@dataclass
class ChatOpsRepo:
    """acme/env on the fake: fraud-detector 6 then 7 promoted and merged (PR `merged`)."""

    fake: FakeGitHub
    merged: int
    tokens: dict[str, str]

    def event(self, login: str, number: int, body: str, **change: Any) -> str:
        """A real issue_comment payload rewritten to `login`'s new comment on #`number`."""
        issue = self.fake.client(self.tokens[login]).get_repo(envfixtures.REPO).get_issue(number)
        comment_id = int(issue.create_comment(body).id)
        data = webhooks.rewrite(
            webhooks.load(change.pop("source", webhooks.PR_COMMENT_CREATED)),
            api_url=self.fake.api_url,
            repo=envfixtures.REPO,
            number=number,
            comment_id=comment_id,
            body=body,
            author=login,
            state="closed",
            **change,
        )
        return json.dumps(data)

    def run(self, run_action: RunAction, event: str, **inputs: str) -> ActionRun:
        return run_action(
            {
                "command": "chatops",
                "github-token": envfixtures.TOKEN,
                "github-api-url": self.fake.api_url,
                **inputs,
            },
            env={"MODEL_BOT_GITHUB_WRITE_INTERVAL": "0", "MODEL_BOT_GITHUB_BACKOFF": "0.01"},
            event=event,
            github={"repository": envfixtures.REPO, "api_url": "https://api.github.com"},
        )

    def bot_replies(self, number: int) -> list[str]:
        owner, name = envfixtures.REPO.split("/")
        comments = self.fake.comments(owner, name, number)
        return [c["body"] for c in comments if c["user"]["login"] == envfixtures.BOT_LOGIN]

    def rollback_pulls(self) -> list[dict[str, Any]]:
        owner, name = envfixtures.REPO.split("/")
        return [
            p
            for p in self.fake.pulls(owner, name)
            if p["head"]["ref"].startswith("model-bot/rollback/")
        ]


@pytest.fixture
def chatops_repo(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> ChatOpsRepo:
    envfixtures.fast_github(monkeypatch)
    envfixtures.github_env_repo(fake_github)
    work = tmp_path / "promote-work"
    work.mkdir()
    done = envfixtures.deploy(
        fake_github, envfixtures.REPO, "fraud-detector", ("6", "7"), workdir=work
    )
    owner, name = envfixtures.REPO.split("/")
    tokens = {}
    for login, role in [("alice", "write"), ("rita", "read")]:
        tokens[login] = fake_github.add_user(login).token
        fake_github.set_permission(owner, name, login, role)
    return ChatOpsRepo(fake_github, done[-1].number, tokens)


def test_chatops_rollback_by_a_writer_opens_the_revert_pull_request(
    run_action: RunAction, chatops_repo: ChatOpsRepo, tmp_path: Path
) -> None:
    sentinel = tmp_path / "pwned"
    reason = PAYLOAD.format(s=sentinel)
    event = chatops_repo.event("alice", chatops_repo.merged, f"/rollback {reason}")
    run = chatops_repo.run(run_action, event)
    assert run.exit_code == 0, run.stderr
    assert not sentinel.exists()
    (pull,) = chatops_repo.rollback_pulls()
    assert run.outputs["outcome"] == "created"
    assert run.outputs["pull-request-number"] == str(pull["number"])
    assert run.outputs["pull-request-url"] == pull["html_url"]
    (reply,) = [r for r in chatops_repo.bot_replies(chatops_repo.merged) if r.startswith("@alice")]
    assert pull["html_url"] in reply
    assert f"Reason: {escape(reason[:150])}" in reply  # escaped (and capped), never run
    assert envfixtures.TOKEN not in run.stdout.split("\n", 1)[1] + run.stderr
    assert run.annotations == []


def test_chatops_refuses_a_reader_and_exits_0(
    run_action: RunAction, chatops_repo: ChatOpsRepo
) -> None:
    event = chatops_repo.event("rita", chatops_repo.merged, "/rollback")
    run = chatops_repo.run(run_action, event)
    assert run.exit_code == 0, run.stderr
    assert "chatops: refused: rita has read permission" in run.stdout
    assert chatops_repo.rollback_pulls() == []
    (reply,) = chatops_repo.bot_replies(chatops_repo.merged)[-1:]
    assert "**write**" in reply and "**read**" in reply
    assert run.outputs["outcome"] == "" and run.outputs["pull-request-url"] == ""


def test_chatops_ignores_an_edited_comment_without_writing(
    run_action: RunAction, chatops_repo: ChatOpsRepo
) -> None:
    event = chatops_repo.event(
        "alice", chatops_repo.merged, "/rollback", source=webhooks.ISSUE_COMMENT_EDITED
    )
    chatops_repo.fake.reset_requests()
    run = chatops_repo.run(run_action, event)
    assert run.exit_code == 0, run.stderr
    assert "chatops: ignored: the comment was edited" in run.stdout
    assert chatops_repo.fake.requests == []


def test_chatops_rejects_an_event_that_is_not_a_comment(run_action: RunAction) -> None:
    event = webhooks.PULL_REQUEST_CLOSED.read_text(encoding="utf-8")
    run = run_action({"command": "chatops", "github-token": TOKEN}, event=event)
    assert run.exit_code == 2
    assert len(run.annotations) == 1
    assert run.annotations[0].startswith("::error title=model-bot::--event-path: ")
    assert "is not an issue_comment event" in run.annotations[0]


# -- promote, rollback and analyze through the action, against the fake GitHub -------------


@pytest.fixture
def github_repo(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    envfixtures.fast_github(monkeypatch)
    envfixtures.github_env_repo(fake_github)
    return fake_github


def _github_inputs(fake: FakeGitHub, **inputs: str) -> dict[str, str]:
    return {
        "github-token": envfixtures.TOKEN,
        "github-api-url": fake.api_url,
        "env-repo": envfixtures.REPO,
        "environment": envfixtures.ENVIRONMENT,
        **inputs,
    }


FAST_GITHUB = {"MODEL_BOT_GITHUB_WRITE_INTERVAL": "0", "MODEL_BOT_GITHUB_BACKOFF": "0.01"}


def test_promote_opens_the_pull_request_and_writes_every_output(
    run_action: RunAction, github_repo: FakeGitHub
) -> None:
    inputs = _github_inputs(github_repo, command="promote", **{"gate-results": "gate-results.json"})
    run = run_action(inputs, env=FAST_GITHUB)
    assert run.exit_code == 0, run.stderr
    owner, name = envfixtures.REPO.split("/")
    (pull,) = github_repo.pulls(owner, name)
    assert run.outputs["decision"] == "pass"
    assert run.outputs["outcome"] == "created"
    assert run.outputs["pull-request-number"] == str(pull["number"])
    assert run.outputs["pull-request-url"] == pull["html_url"]
    assert run.outputs["report-path"] == "reports/production/fraud-detector/7.md"
    assert "Rollout plan" in run.summary
    assert envfixtures.TOKEN not in run.stdout.split("\n", 1)[1] + run.stderr

    again = run_action(inputs, env=FAST_GITHUB)
    assert again.exit_code == 0, again.stderr
    assert again.outputs["outcome"] == "unchanged"
    assert len(github_repo.pulls(owner, name)) == 1


def test_promote_dry_run_changes_nothing(run_action: RunAction, github_repo: FakeGitHub) -> None:
    inputs = _github_inputs(
        github_repo, command="promote", **{"gate-results": "gate-results.json", "dry-run": "true"}
    )
    run = run_action(inputs, env=FAST_GITHUB)
    assert run.exit_code == 0, run.stderr
    assert run.outputs["outcome"] == "created"
    assert "--- diff" in run.stdout
    owner, name = envfixtures.REPO.split("/")
    assert github_repo.pulls(owner, name) == []
    writes = [r for r in github_repo.requests if r.method != "GET"]
    assert writes == []


def test_rollback_opens_the_revert_pull_request(
    run_action: RunAction, github_repo: FakeGitHub, tmp_path: Path
) -> None:
    work = tmp_path / "deploy"
    work.mkdir()
    envfixtures.deploy(github_repo, envfixtures.REPO, "fraud-detector", ("6", "7"), workdir=work)
    inputs = _github_inputs(
        github_repo, command="rollback", model="fraud-detector", reason="p99 doubled"
    )
    run = run_action(inputs, env=FAST_GITHUB)
    assert run.exit_code == 0, run.stderr
    owner, name = envfixtures.REPO.split("/")
    (revert,) = [
        p
        for p in github_repo.pulls(owner, name)
        if p["head"]["ref"].startswith("model-bot/rollback/")
    ]
    assert run.outputs["outcome"] == "created"
    assert run.outputs["pull-request-url"] == revert["html_url"]
    assert "p99 doubled" in revert["body"]


def test_analyze_with_prometheus_down_is_inconclusive_and_reverts_nothing(
    run_action: RunAction, github_repo: FakeGitHub, tmp_path: Path
) -> None:
    work = tmp_path / "deploy"
    work.mkdir()
    envfixtures.deploy(github_repo, envfixtures.REPO, "fraud-detector", ("6", "7"), workdir=work)
    inputs = _github_inputs(
        github_repo,
        command="analyze",
        model="fraud-detector",
        **{"prometheus-url": "http://127.0.0.1:9"},
    )
    run = run_action(inputs, env={**FAST_GITHUB, "MODEL_BOT_PROMETHEUS_TIMEOUT": "2"})
    assert run.exit_code == 3, run.stdout + run.stderr
    assert run.outputs["verdict"] == "inconclusive"
    owner, name = envfixtures.REPO.split("/")
    assert [p for p in github_repo.pulls(owner, name) if "rollback" in p["head"]["ref"]] == []
