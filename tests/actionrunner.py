"""Run `action.yml` the way a GitHub runner runs a composite action, on this machine.

Every `run:` step runs with bash in a subprocess, in order, with the environment a runner
gives it: the step's `env:` with its `${{ }}` expressions resolved (inputs with their
defaults, `github.*`, `runner.*`, `steps.<id>.outputs.*`), a fresh `$GITHUB_OUTPUT` and
`$GITHUB_STEP_SUMMARY` per step, `GITHUB_ACTION_PATH` (this repository), `RUNNER_TEMP`,
`GITHUB_WORKSPACE`, `GITHUB_EVENT_PATH` and `GITHUB_ACTIONS=true`. The first step that exits
non-zero ends the run, as on a runner. `uses:` steps are stood in for by `USES`: setup-python
gives this interpreter, cache/restore reports a hit when the venv is there, cache/save
does nothing (`if:` is not judged on `uses:` steps, and refused on `run:` steps).

Only the expressions the action uses are understood (`${{ a.b }}` / `${{ a.b.c.d }}`
lookups); anything else raises, so a new kind of expression fails the tests loudly instead
of resolving to ''.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
ACTION_FILE = REPO / "action.yml"
VENV_NAME = "model-bot-venv"

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_LOOKUP = re.compile(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*")


def load_action(path: Path = ACTION_FILE) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def parse_github_output(text: str) -> dict[str, str]:
    """Read a `$GITHUB_OUTPUT` / `$GITHUB_ENV` file: `name=value` and `name<<DELIM` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while True:
                if index >= len(lines):
                    raise ValueError(f"output {name!r}: delimiter {delimiter!r} never closes")
                current = lines[index]
                index += 1
                if current == delimiter:
                    break
                body.append(current)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise ValueError(f"not an output line: {line!r}")
    return values


def resolve(text: str, context: Mapping[str, Any]) -> str:
    """Replace each `${{ a.b.c }}` in `text` by its value in `context` (nested mappings)."""

    def lookup(match: re.Match[str]) -> str:
        expression = match.group(1)
        if not _LOOKUP.fullmatch(expression):
            raise ValueError(f"expression not supported by the test runner: {expression!r}")
        value: Any = context
        for part in expression.split("."):
            if not isinstance(value, Mapping) or part not in value:
                if isinstance(value, Mapping) and expression.startswith("steps."):
                    return ""  # an output the step did not set reads as ''
                raise KeyError(f"unknown expression {expression!r}")
            value = value[part]
        return "" if value is None else str(value)

    return _EXPRESSION.sub(lookup, text)


@dataclass(frozen=True)
class StepRun:
    name: str
    id: str | None
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


@dataclass(frozen=True)
class ActionRun:
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    steps: tuple[StepRun, ...] = field(default=())

    def step(self, step_id: str) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def _setup_python(runner: ActionRunner, step: Mapping[str, Any]) -> dict[str, str]:
    return {
        "python-path": runner.python,
        "python-version": platform.python_version(),
        "cache-hit": "false",
    }


def _cache_restore(runner: ActionRunner, step: Mapping[str, Any]) -> dict[str, str]:
    hit = (runner.runner_temp / VENV_NAME / "bin" / "python").exists()
    return {"cache-hit": "true" if hit else "false", "cache-primary-key": "model-bot-test"}


def _cache_save(runner: ActionRunner, step: Mapping[str, Any]) -> dict[str, str]:
    return {}


# `uses:` prefix -> stand-in that returns the step's outputs.
USES: dict[str, Callable[[ActionRunner, Mapping[str, Any]], dict[str, str]]] = {
    "actions/setup-python@": _setup_python,
    "actions/cache/restore@": _cache_restore,
    "actions/cache/save@": _cache_save,
}


def _base_python() -> str:
    """The interpreter behind this venv, as setup-python would give (not a venv's python)."""
    return str(Path(getattr(sys, "_base_executable", sys.executable)))


def _uv_cache_dir() -> str | None:
    """The developer's (or CI's) warm uv cache, so a fresh venv installs in seconds."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        return None
    found = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, check=False)
    return found.stdout.strip() or None


class ActionRunner:
    """Runs `action.yml` with one shared `RUNNER_TEMP`, so the venv is built once."""

    def __init__(
        self,
        runner_temp: Path,
        *,
        action_path: Path = REPO,
        python: str | None = None,
        uv_cache_dir: str | None = None,
        timeout: float = 600,
    ) -> None:
        self.runner_temp = runner_temp
        self.action_path = action_path
        self.action = load_action(action_path / "action.yml")
        self.python = python or _base_python()
        self.uv_cache_dir = uv_cache_dir if uv_cache_dir is not None else _uv_cache_dir()
        self.timeout = timeout
        runner_temp.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _install_lock(self) -> Iterator[None]:
        """One install at a time in this RUNNER_TEMP (pytest-xdist workers share it)."""
        with open(self.runner_temp / ".install.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def inputs_with_defaults(
        self, inputs: Mapping[str, str], github: Mapping[str, str]
    ) -> dict[str, str]:
        declared = self.action.get("inputs", {})
        unknown = set(inputs) - set(declared)
        if unknown:
            raise KeyError(f"not inputs of action.yml: {sorted(unknown)}")
        resolved = {}
        for name, spec in declared.items():
            if name in inputs:
                resolved[name] = inputs[name]
            else:
                resolved[name] = resolve(str(spec.get("default", "")), {"github": github})
        return resolved

    def base_env(self) -> dict[str, str]:
        """This process's environment less anything a runner would set or that leaks in."""
        drop = ("GITHUB_", "RUNNER_", "INPUT_", "MODEL_BOT", "VIRTUAL_ENV", "PYTHONPATH")
        return {k: v for k, v in os.environ.items() if not k.startswith(drop)}

    def run(
        self,
        inputs: Mapping[str, str],
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        event: str = "{}",
        github: Mapping[str, str] | None = None,
    ) -> ActionRun:
        """Run every step of the action with `inputs`; `workdir` holds the job's files.

        `workdir/workspace` is `GITHUB_WORKSPACE` and the steps' working directory (create
        it and put the workflow's files there first, or leave it empty); `env` is added to
        every step's environment, as a workflow's `env:` would be.
        """
        workspace = workdir / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        files = workdir / "runner"
        files.mkdir(parents=True, exist_ok=True)
        event_path = files / "event.json"
        event_path.write_text(event, encoding="utf-8")
        github_context = {
            "token": "ghs_testtoken0123456789abcdef",
            "repository": "acme/ml-training",
            "api_url": "https://api.github.com",
            "workspace": str(workspace),
            **(github or {}),
        }
        context: dict[str, Any] = {
            "inputs": self.inputs_with_defaults(inputs, github_context),
            "github": github_context,
            "runner": {"temp": str(self.runner_temp), "os": "Linux", "arch": "X64"},
            "steps": {},
        }
        job_env = {
            **self.base_env(),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": github_context["repository"],
            "GITHUB_API_URL": github_context["api_url"],
            "RUNNER_TEMP": str(self.runner_temp),
            **({"MODEL_BOT_UV_CACHE_DIR": self.uv_cache_dir} if self.uv_cache_dir else {}),
            **(env or {}),
        }

        steps: list[StepRun] = []
        for number, step in enumerate(self.action["runs"]["steps"]):
            name = step.get("name", f"step {number}")
            step_id = step.get("id")
            if "uses" in step:
                stand_in = next(
                    (fn for prefix, fn in USES.items() if step["uses"].startswith(prefix)), None
                )
                if stand_in is None:
                    raise KeyError(f"no stand-in for uses: {step['uses']}")
                outputs = stand_in(self, step)
                steps.append(StepRun(name, step_id, 0, "", "", outputs, ""))
                if step_id:
                    context["steps"][step_id] = {"outputs": outputs}
                continue

            assert step.get("shell") == "bash", f"{name}: composite run steps need shell: bash"
            if "if" in step:
                raise NotImplementedError(f"{name}: the test runner cannot judge `if:`")
            output_file = files / f"output-{number}"
            summary_file = files / f"summary-{number}"
            output_file.write_text("", encoding="utf-8")
            summary_file.write_text("", encoding="utf-8")
            step_env = {
                **job_env,
                **{k: resolve(str(v), context) for k, v in (step.get("env") or {}).items()},
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(summary_file),
            }
            lock = self._install_lock() if step_id == "install" else contextlib.nullcontext()
            with lock:
                done = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                    cwd=workspace,
                    env=step_env,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            outputs = parse_github_output(output_file.read_text(encoding="utf-8"))
            summary = summary_file.read_text(encoding="utf-8")
            steps.append(
                StepRun(name, step_id, done.returncode, done.stdout, done.stderr, outputs, summary)
            )
            if step_id:
                context["steps"][step_id] = {"outputs": outputs}
            if done.returncode != 0:
                break

        action_outputs = {
            name: resolve(str(spec["value"]), context)
            for name, spec in self.action.get("outputs", {}).items()
        }
        return ActionRun(
            exit_code=next((s.exit_code for s in steps if s.exit_code != 0), 0),
            stdout="".join(s.stdout for s in steps),
            stderr="".join(s.stderr for s in steps),
            outputs=action_outputs,
            summary="".join(s.summary for s in steps),
            steps=tuple(steps),
        )


def shared_runner_temp(tmp_path_factory: Any) -> Path:
    """A `RUNNER_TEMP` for the whole test session, shared by pytest-xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / "action-runner-temp"


__all__ = [
    "ACTION_FILE",
    "REPO",
    "USES",
    "ActionRun",
    "ActionRunner",
    "StepRun",
    "load_action",
    "parse_github_output",
    "resolve",
    "shared_runner_temp",
]
