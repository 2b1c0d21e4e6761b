"""Speak GitHub Actions to the person who wrote the workflow, not to the CLI's user.

When model-bot runs as the GitHub Action (`action.yml`), its flags are the action's inputs:
an error that says `--results` should say `gate-results`, and it should show up as an error
annotation on the run. Everything here is pure: values in, text out.

Workflow-command escaping follows the runner's rules: in a message `%`, CR and LF become
`%25`, `%0D`, `%0A`; a property value (`title=...`) also escapes `:` and `,`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# CLI flag (or environment variable) -> the action input that sets it.
FLAG_INPUTS: Mapping[str, str] = {
    "--env-repo": "env-repo",
    "--base": "base-branch",
    "--environment": "environment",
    "--model": "model",
    "--mlflow-model": "model",
    "--version": "version",
    "--to": "version",
    "--mlflow-version": "version",
    "--results": "gate-results",
    "--tracking-uri": "mlflow-tracking-uri",
    "--policy": "policy",
    "--prometheus-url": "prometheus-url",
    "--github-api-url": "github-api-url",
    "--reason": "reason",
    "--drift-issue": "drift-issue",
    "--dry-run": "dry-run",
    "GITHUB_TOKEN": "github-token",
}

# Flags whose value is a file the user named: an error about that file starts with its path.
PATH_FLAGS: tuple[str, ...] = ("--policy", "--results")

# Longest first, so `--mlflow-model` is never read as `--model`; a name inside a longer
# word (`--models`, `MY_GITHUB_TOKEN`) is not a flag.
_FLAG = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(flag) for flag in sorted(FLAG_INPUTS, key=len, reverse=True))
    + r")(?![\w-])"
)


def in_github_actions(environ: Mapping[str, str]) -> bool:
    """True when running as a step of a GitHub Actions job (the runner sets this)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def with_input_names(message: str) -> str:
    """Replace every CLI flag name in `message` with the action input that sets it."""
    return _FLAG.sub(lambda match: FLAG_INPUTS[match.group(1)], message)


def flag_values(argv: Sequence[str]) -> dict[str, str]:
    """The last value given to each flag of FLAG_INPUTS in `argv` (`--f V` or `--f=V`)."""
    values: dict[str, str] = {}
    for index, arg in enumerate(argv):
        flag, sep, value = arg.partition("=")
        if flag not in FLAG_INPUTS:
            continue
        if sep:
            values[flag] = value
        elif index + 1 < len(argv):
            values[flag] = argv[index + 1]
    return values


def name_input(message: str, argv: Sequence[str]) -> str:
    """Prefix `input NAME: ` to a message about a file given by a path input.

    Errors about input files start with the path (`policies/x.yaml: policy file not found`);
    in a workflow the reader needs to know which input held that path.
    """
    values = flag_values(argv)
    for flag in PATH_FLAGS:
        value = values.get(flag)
        if value and message.startswith(f"{value}:"):
            return f"input {FLAG_INPUTS[flag]}: {message}"
    return message


def escape_data(text: str) -> str:
    """Escape a workflow-command message so it stays one command and reads back as written."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (`title=...`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_annotation(message: str, argv: Sequence[str] = (), title: str = "model-bot") -> str:
    """The `::error` workflow command for an error message of the CLI, in input names."""
    text = name_input(message, argv)
    return f"::error title={escape_property(title)}::{escape_data(with_input_names(text))}"


__all__ = [
    "FLAG_INPUTS",
    "PATH_FLAGS",
    "error_annotation",
    "escape_data",
    "escape_property",
    "flag_values",
    "in_github_actions",
    "name_input",
    "with_input_names",
]
